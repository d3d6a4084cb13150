//! `tessera-bench`: drives a tesserad (the one at `--endpoint`, or one it starts itself with
//! `--spawn`) with the scenarios of [`scenarios`] over real HTTP/2 connections and prints one
//! JSON object per scenario on stdout:
//! `{"scenario", "rps", "p50_us", "p99_us", "p999_us", "errors", "duration_s"}` (plus
//! `"decisions_per_s"` for `batch-authorize`).
//!
//! Neighbours steal CPU on shared machines, so one run misleads: the scenarios run interleaved
//! for `--rounds` rounds and each scenario's reported numbers are its median round by rps
//! (`"rounds"` lists every round's rps). Compare scenarios within one invocation only.
//! Scenarios about cached subjects make each distinct call once before the rounds (untimed), so
//! that their numbers are warm at any scale.
//!
//! With `--spawn` the server runs in this process on its own runtime and threads
//! (`--server-threads`), the load on another (`--client-threads`): both share the machine, as
//! they would on one host.

mod call;
mod load;
mod scenarios;
mod seed;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tessera_credentials::Secret;

use crate::call::Key;
use crate::seed::{Scale, Target};

/// The same allocator as `tesserad`'s, for the server `--spawn` runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load generator for tesserad.
#[derive(Debug, Parser)]
#[command(name = "tessera-bench", version)]
struct Args {
    /// The server to drive, e.g. `http://127.0.0.1:7733`.
    #[arg(long, env = "TESSERA_ENDPOINT", conflicts_with = "spawn")]
    endpoint: Option<String>,
    /// Start a server in this process (SQLite in a temporary directory unless
    /// `--database-url`).
    #[arg(long)]
    spawn: bool,
    /// With `--spawn`: the database (e.g. `postgres://postgres@127.0.0.1:5432/bench`).
    #[arg(long, requires = "spawn")]
    database_url: Option<String>,
    /// The operator's access key (with `--endpoint`; `--spawn` reads its own operator.json).
    #[arg(long, env = "TESSERA_OPERATOR_ACCESS_KEY_ID")]
    access_key_id: Option<String>,
    #[arg(
        long,
        env = "TESSERA_OPERATOR_ACCESS_KEY_SECRET",
        hide_env_values = true
    )]
    access_key_secret: Option<String>,
    /// A server like `--endpoint`, on the same database, with `principal_cache_capacity = 0`
    /// (for `authorize-cold`; `--spawn` starts one itself).
    #[arg(long, conflicts_with = "spawn")]
    cold_endpoint: Option<String>,
    /// Comma-separated scenarios: health, health-bearer, caller-identity, authorize,
    /// authorize-signed, authorize-arn, authorize-cold, batch-authorize, assume-role,
    /// admin-write.
    #[arg(long, value_delimiter = ',', default_value = "health,authorize")]
    scenario: Vec<String>,
    /// Seconds per scenario per round.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Rounds; each scenario reports its median round.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// HTTP/2 connections.
    #[arg(long, default_value_t = 2)]
    connections: usize,
    /// Calls in flight per connection; a comma-separated list runs every scenario at each
    /// level in turn (a latency-against-load sweep; each JSON line says its `in_flight`).
    #[arg(long, value_delimiter = ',', default_value = "16")]
    in_flight: Vec<usize>,
    /// Tenant accounts to seed.
    #[arg(long, default_value_t = 10)]
    accounts: usize,
    /// Users per tenant account.
    #[arg(long, default_value_t = 10)]
    users: usize,
    /// Users per account with an access key and a role session (the Authorize subjects and
    /// AssumeRole callers).
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    /// Tenants seeded concurrently.
    #[arg(long, default_value_t = 8)]
    seed_parallelism: usize,
    /// With `--spawn`: the server's worker threads. One each for server and load generator
    /// on a 2-core machine: with two each, four busy threads contend for two cores and every
    /// scenario loses about a quarter of its rate to the switching (docs/benchmarks.md).
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// The load generator's worker threads.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
}

/// A server started by `--spawn`, on its own runtime.
struct Spawned {
    addr: SocketAddr,
    operator: Key,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The data directory (removed when the first server, which owns it, is dropped).
    data: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a server in this process: on a new temporary data directory, or with `beside` on the
/// data directory (and database) of that one, caching no principals (for `authorize-cold`).
fn spawn_server(args: &Args, beside: Option<&Spawned>) -> anyhow::Result<Spawned> {
    let (dir, data) = match beside {
        Some(first) => (None, first.data.clone()),
        None => {
            let dir = tempfile::tempdir()?;
            let data = dir.path().join("data");
            (Some(dir), data)
        }
    };
    let mut config = tessera_server::Config {
        data_dir: data.clone(),
        database_url: args.database_url.clone(),
        database_max_connections: 16,
        ..tessera_server::Config::default()
    };
    if beside.is_some() {
        config.principal_cache_capacity = 0;
    }
    // The bench measures capacity, not the per-account limiter (AssumeRole: 100/s by default).
    config.limits.rate_limits.clear();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads.max(1))
        .thread_name("tesserad")
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let result = runtime.block_on(tessera_server::run(config, listener, async move {
            let _ = stopped.await;
        }));
        if let Err(error) = result {
            eprintln!("tessera-bench: the spawned server failed: {error}");
        }
    });
    // The operator's credential appears once bootstrap is done.
    let file = data.join("operator.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let json: serde_json::Value = loop {
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Ok(json) = serde_json::from_str(&text)
        {
            break json;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the spawned server did not bootstrap within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let field = |name: &str| {
        json[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("operator.json has no {name}"))
    };
    let operator = Key {
        id: field("AccessKeyId")?,
        secret: Secret::new(field("AccessKeySecret")?.into_bytes()),
        security_token: None,
    };
    Ok(Spawned {
        addr,
        operator,
        stop: Some(stop),
        thread: Some(thread),
        data,
        _dir: dir,
    })
}

/// One scenario's reported round and every round's rps.
fn report(name: &str, in_flight: usize, mut rounds: Vec<load::Outcome>) -> serde_json::Value {
    rounds.sort_by(|a, b| a.rps().total_cmp(&b.rps()));
    let all: Vec<f64> = rounds
        .iter()
        .map(|o| (o.rps() * 10.0).round() / 10.0)
        .collect();
    let median = &rounds[rounds.len() / 2];
    let mut out = serde_json::json!({
        "scenario": name,
        "rps": (median.rps() * 10.0).round() / 10.0,
        "p50_us": median.percentile_us(0.5),
        "p99_us": median.percentile_us(0.99),
        "p999_us": median.percentile_us(0.999),
        "errors": median.errors,
        "duration_s": (median.elapsed.as_secs_f64() * 100.0).round() / 100.0,
        "rounds": all,
        "in_flight": in_flight,
    });
    if name == "batch-authorize" {
        out["decisions_per_s"] = serde_json::json!(median.decisions_per_s().round());
    }
    if let Some(error) = &median.first_error {
        out["first_error"] = serde_json::json!(error);
    }
    out
}

async fn bench(
    args: Args,
    endpoint: String,
    cold_endpoint: Option<String>,
    operator: Key,
) -> anyhow::Result<()> {
    for name in &args.scenario {
        anyhow::ensure!(
            scenarios::NAMES.contains(&name.as_str()),
            "unknown scenario {name:?}; known: {}",
            scenarios::NAMES.join(", ")
        );
    }
    let authority = authority_of(&endpoint);
    let seeding = load::connect(&endpoint, 1).await?;
    let target = Target {
        channel: seeding[0].clone(),
        authority: authority.clone(),
    };
    let scale = Scale {
        accounts: args.accounts,
        users: args.users,
        sessions: args.sessions.min(args.users),
    };
    let started = std::time::Instant::now();
    let seeded = seed::seed(&target, &operator, scale, args.seed_parallelism).await?;
    eprintln!(
        "tessera-bench: seeded {} accounts x {} users ({} sessions each) in {:.1} s",
        scale.accounts,
        scale.users,
        scale.sessions,
        started.elapsed().as_secs_f64()
    );
    let prepared: Vec<(String, std::sync::Arc<scenarios::Prepared>)> = args
        .scenario
        .iter()
        .map(|name| {
            Ok((
                name.clone(),
                std::sync::Arc::new(scenarios::prepare(name, &seeded)?),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let connections = args.connections.max(1);
    let channels = load::connect(&endpoint, connections).await?;
    let cold = if args.scenario.iter().any(|s| s == scenarios::AUTHORIZE_COLD) {
        let endpoint = cold_endpoint.context(
            "authorize-cold needs --cold-endpoint (a server with principal_cache_capacity = 0 \
             on the same database) or --spawn",
        )?;
        Some((
            load::connect(&endpoint, connections).await?,
            authority_of(&endpoint),
        ))
    } else {
        None
    };
    for (name, scenario) in &prepared {
        if let Some(calls) = scenarios::warm_up_calls(name, scenario) {
            warm_up(&channels[0], &authority, name, scenario, calls).await?;
        }
    }
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    for &in_flight in &args.in_flight {
        let mut outcomes: Vec<Vec<load::Outcome>> = vec![Vec::new(); prepared.len()];
        for round in 0..args.rounds.max(1) {
            for (i, (name, scenario)) in prepared.iter().enumerate() {
                let scenario = std::sync::Arc::clone(scenario);
                let (channels, authority) = match &cold {
                    Some((channels, authority)) if name == scenarios::AUTHORIZE_COLD => {
                        (channels, authority.clone())
                    }
                    _ => (&channels, authority.clone()),
                };
                let run = rand::random::<u32>();
                let outcome = load::drive(
                    channels,
                    in_flight,
                    duration,
                    move |channel, worker, sequence| {
                        let scenario = std::sync::Arc::clone(&scenario);
                        let authority = authority.clone();
                        async move {
                            scenarios::call(&scenario, channel, &authority, run, worker, sequence)
                                .await
                        }
                    },
                )
                .await?;
                eprintln!(
                    "tessera-bench: in flight {in_flight}, round {} {name}: {:.0} rps, p99 {} µs, {} errors",
                    round + 1,
                    outcome.rps(),
                    outcome.percentile_us(0.99),
                    outcome.errors
                );
                outcomes[i].push(outcome);
            }
        }
        for ((name, _), rounds) in prepared.iter().zip(outcomes) {
            println!("{}", report(name, in_flight, rounds));
        }
    }
    Ok(())
}

/// Makes each of `scenario`'s `calls` distinct calls once (16 at a time), untimed.
async fn warm_up(
    channel: &tonic::transport::Channel,
    authority: &str,
    name: &str,
    scenario: &std::sync::Arc<scenarios::Prepared>,
    calls: usize,
) -> anyhow::Result<()> {
    const WORKERS: usize = 16;
    let started = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS.min(calls) {
        let (channel, authority) = (channel.clone(), authority.to_owned());
        let scenario = std::sync::Arc::clone(scenario);
        workers.spawn(async move {
            // Worker 0's sequence n makes call n (see `scenarios::call`).
            for n in (w..calls).step_by(WORKERS) {
                let sequence = u64::try_from(n).unwrap_or(u64::MAX);
                scenarios::call(&scenario, channel.clone(), &authority, 0, 0, sequence)
                    .await
                    .map_err(|e| anyhow::anyhow!("warming up {n}: {e}"))?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined??;
    }
    eprintln!(
        "tessera-bench: warmed up {name} ({calls} distinct calls) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `host:port` of an endpoint URL (what the channel sends as `:authority`).
fn authority_of(endpoint: &str) -> String {
    endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .trim_end_matches('/')
        .to_owned()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spawned = if args.spawn {
        Some(spawn_server(&args, None)?)
    } else {
        None
    };
    // The uncached server for authorize-cold, on the first one's database.
    let spawned_cold = match &spawned {
        Some(first) if args.scenario.iter().any(|s| s == scenarios::AUTHORIZE_COLD) => {
            Some(spawn_server(&args, Some(first))?)
        }
        _ => None,
    };
    let cold_endpoint = match &spawned_cold {
        Some(cold) => Some(format!("http://{}", cold.addr)),
        None => args.cold_endpoint.clone(),
    };
    let (endpoint, operator) = match &spawned {
        Some(s) => (format!("http://{}", s.addr), s.operator.clone()),
        None => {
            let endpoint = args
                .endpoint
                .clone()
                .context("give --endpoint URL or --spawn")?;
            let id = args
                .access_key_id
                .clone()
                .context("--access-key-id (or TESSERA_OPERATOR_ACCESS_KEY_ID) is required")?;
            let secret = args.access_key_secret.clone().context(
                "--access-key-secret (or TESSERA_OPERATOR_ACCESS_KEY_SECRET) is required",
            )?;
            (
                endpoint,
                Key {
                    id,
                    secret: Secret::new(secret.into_bytes()),
                    security_token: None,
                },
            )
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let result = runtime.block_on(bench(args, endpoint, cold_endpoint, operator));
    drop(spawned_cold);
    drop(spawned);
    result
}
