//! Logs, traces and metrics.
//!
//! - Logs: `tracing` to stderr, as text or JSON lines (`log_format`), filtered by `RUST_LOG` or
//!   else `log_filter`.
//! - Traces: one span per RPC ([`crate::layers::observe`]) with the request id, the caller's
//!   account and principal ARN (recorded by authentication), the action and decision of an
//!   authorization; exported over OTLP/gRPC when configured (`otlp_traces`; the endpoint and
//!   the rest from the standard `OTEL_EXPORTER_OTLP_*` / `OTEL_SERVICE_NAME` /
//!   `OTEL_RESOURCE_ATTRIBUTES` environment). A caller's W3C `traceparent` becomes the RPC
//!   span's parent. With no exporter configured nothing leaves the process, and no collector is
//!   needed.
//! - Metrics: [`metrics`], Prometheus text at `GET /metrics`.
//!
//! Spans and metrics never carry secrets: no credentials, tokens, keys or request bodies.

pub mod metrics;

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tessera_iam::Caller;
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, OtlpTraces, Telemetry};

/// Keeps the trace exporter running; flushes and stops it when dropped.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("tesserad: flushing the trace exporter failed: {error}");
        }
    }
}

/// Whether spans should be exported: `on`, or `auto` with an OTLP endpoint in the environment
/// (and the SDK not disabled).
pub fn otlp_wanted(mode: OtlpTraces, env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    match mode {
        OtlpTraces::Off => false,
        OtlpTraces::On => true,
        OtlpTraces::Auto => {
            !disabled
                && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        }
    }
}

/// Installs the process's `tracing` subscriber (logs, and the OTLP span exporter when wanted)
/// and the W3C trace-context propagator. Call once, inside the Tokio runtime.
pub fn init(settings: &Telemetry) -> Result<TelemetryGuard, String> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_filter))
        .map_err(|e| format!("log filter: {e}"))?;
    let provider = if otlp_wanted(settings.otlp_traces, |name| std::env::var(name).ok()) {
        Some(tracer_provider()?)
    } else {
        None
    };
    // The log filter applies to the logs only: `RUST_LOG=warn` must not silence the RPC spans
    // an exporter was configured for.
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("tesserad"))
            .with_filter(span_filter())
    });
    let registry = tracing_subscriber::registry().with(otel);
    let installed = match settings.log_format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
    };
    installed.map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(TelemetryGuard { provider })
}

/// What is exported as spans: Tessera's own spans and events from INFO (the RPC spans and
/// what happens inside them), other crates' from WARN.
fn span_filter() -> Targets {
    Targets::new()
        .with_target("tessera_server", Level::INFO)
        .with_target("tesserad", Level::INFO)
        .with_default(Level::WARN)
}

/// The OTLP/gRPC span exporter behind a batch processor; endpoint, headers, timeout and
/// compression from the `OTEL_EXPORTER_OTLP_*` environment.
fn tracer_provider() -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|e| format!("OTLP span exporter: {e}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|a| a.contains("service.name="));
    if !named {
        resource = resource.with_service_name("tesserad");
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// The W3C trace context a caller sent (`traceparent`, `tracestate`), if any.
pub fn remote_context(headers: &tonic::codegen::http::HeaderMap) -> Option<opentelemetry::Context> {
    if !headers.contains_key("traceparent") {
        return None;
    }
    Some(opentelemetry::global::get_text_map_propagator(
        |propagator| propagator.extract(&HeaderExtractor(headers)),
    ))
}

struct HeaderExtractor<'a>(&'a tonic::codegen::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Records the authenticated caller on the current RPC span (account and principal ARN).
pub fn record_caller(caller: &Caller) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    if let Some(account) = caller.account() {
        span.record("account", account.as_str());
    }
    span.record("principal", caller.arn());
}

/// Records an authorization's action and decision on the current RPC span.
pub fn record_decision(action: &str, decision: tessera_policy::Decision) {
    let span = tracing::Span::current();
    span.record("action", action);
    span.record("decision", decision_name(decision));
}

/// Counts `Authorize`/`BatchAuthorize` decisions (action, the proto's decision value) and
/// records a single one's action and decision on the span.
pub fn record_authorize<'a>(decisions: impl ExactSizeIterator<Item = (&'a str, i32)>) {
    let single = decisions.len() == 1;
    // Tallied first: one counter update per outcome, not per item of a batch.
    let mut tally: [(&'static str, u64); 4] = [
        ("Allow", 0),
        ("ExplicitDeny", 0),
        ("ImplicitDeny", 0),
        ("Unspecified", 0),
    ];
    for (action, decision) in decisions {
        let name = proto_decision_name(decision);
        if let Some((_, count)) = tally.iter_mut().find(|(n, _)| *n == name) {
            *count += 1;
        }
        if single {
            let span = tracing::Span::current();
            span.record("action", action);
            span.record("decision", name);
        }
    }
    for (name, count) in tally {
        if count > 0 {
            metrics::decisions(name, count);
        }
    }
}

pub fn decision_name(decision: tessera_policy::Decision) -> &'static str {
    match decision {
        tessera_policy::Decision::Allow => "Allow",
        tessera_policy::Decision::ExplicitDeny => "ExplicitDeny",
        tessera_policy::Decision::ImplicitDeny => "ImplicitDeny",
    }
}

pub(crate) fn proto_decision_name(decision: i32) -> &'static str {
    use tessera_proto::v1::Decision;
    match Decision::try_from(decision) {
        Ok(Decision::Allow) => "Allow",
        Ok(Decision::ExplicitDeny) => "ExplicitDeny",
        Ok(Decision::ImplicitDeny) => "ImplicitDeny",
        _ => "Unspecified",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn otlp_export_follows_the_standard_environment() {
        assert!(!otlp_wanted(OtlpTraces::Auto, env(&[])));
        assert!(otlp_wanted(
            OtlpTraces::Auto,
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")])
        ));
        assert!(otlp_wanted(
            OtlpTraces::Auto,
            env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317")])
        ));
        assert!(!otlp_wanted(
            OtlpTraces::Auto,
            env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_SDK_DISABLED", "TRUE")
            ])
        ));
        assert!(!otlp_wanted(
            OtlpTraces::Auto,
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])
        ));
        assert!(!otlp_wanted(
            OtlpTraces::Off,
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")])
        ));
        assert!(otlp_wanted(OtlpTraces::On, env(&[])));
    }

    #[test]
    fn a_traceparent_becomes_the_remote_parent() {
        use opentelemetry::trace::TraceContextExt as _;
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let mut headers = tonic::codegen::http::HeaderMap::new();
        assert!(remote_context(&headers).is_none());
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        let cx = remote_context(&headers).unwrap();
        let span = cx.span();
        let remote = span.span_context();
        assert!(remote.is_remote());
        assert_eq!(
            remote.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(remote.span_id().to_string(), "00f067aa0ba902b7");
    }
}
