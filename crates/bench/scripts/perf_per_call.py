#!/usr/bin/env python3
"""CPU per call of two tessera-bench scenarios, split by where it is spent.

Record each scenario alone, then fold the samples per call:

    perf record -F 499 --call-graph dwarf,32768 -o a.data -- \\
        target/release/tessera-bench --spawn --scenario health --duration 6 --rounds 1 --connections 1
    perf script -i a.data -F comm,ip,sym > a.txt          # likewise b.data/b.txt for authorize
    python3 crates/bench/scripts/perf_per_call.py a.txt CALLS_A b.txt CALLS_B 499

CALLS_* is rps x duration from the bench's JSON line; the last argument the sampling rate.
Each sample is charged to the first category (in the order below) that one of its frames
matches, per thread: `tesserad` (server), `bench-client` (load), anything else (SQLite
workers and the like). Prints microseconds per call for both and the difference.
"""
import collections
import re
import sys

CATEGORIES = [(name, re.compile(pattern)) for name, pattern in [
    ("authentication", r"Authenticator::authenticate::\{\{closure"),
    ("decide", r"AuthorizerService::decide::\{\{closure"),
    ("handler", r"authorizer_server::Authorizer>::|sts_server::Sts>::"),
    ("health handler", r"HealthService|health_server"),
    ("tonic decode/encode", r"tonic::server::grpc::Grpc<T>::unary"),
    ("layers", r"Observe<S>|RequestIds<S>|Shed<S>|Timeout<S>|Authenticate<S>|RateLimit<S>"),
    ("stream task, rest", r"H2Stream"),
    ("bench call", r"tessera_bench::"),
    ("hpack decode", r"load_hpack|hpack::decoder"),
    ("hpack encode", r"hpack::encoder"),
    ("writes", r"FramedWrite<T,B>::flush|poll_write"),
    ("reads", r"FramedRead|poll_read"),
    ("h2 connection", r"h2::proto::connection|hyper::server::conn|handle_connection|h2::client"),
    ("runtime", r"tokio::runtime"),
]]


def side(comm):
    if comm == "tesserad":
        return "server"
    return "client" if comm.startswith("bench-cl") else "other"


def fold(path):
    counts = collections.Counter()
    comm, frames = None, []

    def charge():
        if comm is None:
            return
        name = next((n for n, p in CATEGORIES if any(p.search(f) for f in frames)), "other")
        counts[(side(comm), name)] += 1

    for line in open(path, errors="replace"):
        if line.strip() and not line.startswith("\t"):
            charge()
            comm, frames = line.split()[0], []
        elif line.strip():
            frames.append(line.strip().split(" ", 1)[-1])
    charge()
    return counts


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    a, calls_a = fold(sys.argv[1]), float(sys.argv[2])
    b, calls_b = fold(sys.argv[3]), float(sys.argv[4])
    rate = float(sys.argv[5])
    per_call = lambda n, calls: n / rate / calls * 1e6
    for where in ["server", "client", "other"]:
        total_a = total_b = 0.0
        for key in sorted(k for k in set(a) | set(b) if k[0] == where):
            x, y = per_call(a[key], calls_a), per_call(b[key], calls_b)
            total_a, total_b = total_a + x, total_b + y
            print(f"{where:7} {key[1]:22} {x:8.1f} {y:8.1f} {y - x:+8.1f}")
        print(f"{where:7} {'total':22} {total_a:8.1f} {total_b:8.1f} {total_b - total_a:+8.1f}")


if __name__ == "__main__":
    main()
