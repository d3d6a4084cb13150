//! The load driver: `connections` HTTP/2 connections, `in_flight` calls in flight on each, for
//! a fixed duration; every call's latency into an HDR histogram (1 µs .. 60 s, 3 significant
//! digits), errors counted, and what each call decided (for batch scenarios) summed.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::transport::{Channel, Endpoint};

/// How a scenario's calls went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub calls: u64,
    pub errors: u64,
    /// Decisions made (items of batch calls; 1 per single call).
    pub decisions: u64,
    pub elapsed: Duration,
    pub latency: Histogram<u64>,
    /// The first error seen, to explain a non-zero error count.
    pub first_error: Option<String>,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    pub fn decisions_per_s(&self) -> f64 {
        self.decisions as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_us(&self, q: f64) -> u64 {
        self.latency.value_at_quantile(q)
    }
}

/// Opens `n` connections to `endpoint` (each its own HTTP/2 connection: `Endpoint::connect`
/// makes a new one every time).
pub async fn connect(endpoint: &str, n: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        let channel = Endpoint::from_shared(endpoint.to_owned())?
            .tcp_nodelay(true)
            .connect()
            .await?;
        channels.push(channel);
    }
    Ok(channels)
}

/// 1 µs .. 60 s with 3 significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

/// Runs `call` on every channel with `in_flight` workers each until `duration` has passed.
/// `call(channel, worker, sequence)` returns the number of decisions the call made.
pub async fn drive<F, Fut>(
    channels: &[Channel],
    in_flight: usize,
    duration: Duration,
    call: F,
) -> anyhow::Result<Outcome>
where
    F: Fn(Channel, usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send + 'static,
{
    let call = Arc::new(call);
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for (c, channel) in channels.iter().enumerate() {
        for w in 0..in_flight.max(1) {
            let worker = c * in_flight.max(1) + w;
            let channel = channel.clone();
            let call = Arc::clone(&call);
            workers.spawn(async move {
                let mut latency = histogram()?;
                let (mut calls, mut errors, mut decisions) = (0u64, 0u64, 0u64);
                let mut first_error = None;
                let mut sequence = 0u64;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let result = call(channel.clone(), worker, sequence).await;
                    let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let _ = latency.record(micros.max(1));
                    calls += 1;
                    sequence += 1;
                    match result {
                        Ok(n) => decisions += n,
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                anyhow::Ok((latency, calls, errors, decisions, first_error))
            });
        }
    }
    let mut outcome = Outcome {
        calls: 0,
        errors: 0,
        decisions: 0,
        elapsed: Duration::ZERO,
        latency: histogram()?,
        first_error: None,
    };
    while let Some(joined) = workers.join_next().await {
        let (latency, calls, errors, decisions, first_error) = joined??;
        outcome.latency.add(&latency)?;
        outcome.calls += calls;
        outcome.errors += errors;
        outcome.decisions += decisions;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}
