#!/usr/bin/env python3
"""Plots latency percentiles against throughput from tessera-bench's JSON lines.

    tessera-bench ... --scenario health,authorize --in-flight 1,2,4,8,16,32,64 > sweep.jsonl
    python3 plot_latency.py sweep.jsonl authorize docs/authorize-latency.png

One point per `in_flight` level (the load offered by a closed loop of that many calls in
flight): x is the rps achieved, y the p50/p99/p99.9 latency of that level's median round.
Needs matplotlib.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, scenario, output = sys.argv[1:]
    rows = []
    with open(source, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                row = json.loads(line)
                if row.get("scenario") == scenario:
                    rows.append(row)
    if not rows:
        sys.exit(f"no {scenario!r} rows in {source}")
    rows.sort(key=lambda r: r["in_flight"])
    rps = [r["rps"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for key, label in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")):
        ax.plot(rps, [r[key] / 1000 for r in rows], marker="o", label=label)
    for r in rows:
        ax.annotate(
            str(r["in_flight"]),
            (r["rps"], r["p50_us"] / 1000),
            textcoords="offset points",
            xytext=(0, -12),
            ha="center",
            fontsize=8,
        )
    ax.set_yscale("log")
    ax.set_xlabel("throughput (requests/s); point labels: calls in flight")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title(f"tessera-bench {scenario}: latency against load")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(output)


if __name__ == "__main__":
    main()
