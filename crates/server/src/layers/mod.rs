//! The tower layers in front of the gRPC services: request ids, a span and RED metrics per RPC,
//! load shedding at a global concurrency limit, per-RPC timeouts and per-account rate limits.
//!
//! Around the whole gRPC router, outermost first:
//!
//! 1. [`request_id`]: takes the caller's `x-request-id`/`x-acs-request-id` or makes one, and
//!    echoes it in the response metadata;
//! 2. [`observe`]: the RPC's span (parent from the caller's W3C `traceparent`) and its
//!    metrics (requests, errors by code, duration);
//! 3. [`shed`]: at most `max_concurrent_requests` RPCs in flight; one more is refused at once
//!    with `RESOURCE_EXHAUSTED` (`Throttling`), never queued;
//! 4. [`timeout`]: `DEADLINE_EXCEEDED` (`RequestTimeout`) after `request_timeout_ms`, or the
//!    caller's shorter `grpc-timeout`.
//!
//! Then, per `tessera.v1` service, authentication ([`crate::auth`]) and right behind it
//! 5. [`rate_limit`]: requests per second per account and operation (`AssumeRole`: 100 by
//!    default); refused with `RESOURCE_EXHAUSTED` (`Throttling.User`) and a retry hint.
//!
//! Health and reflection are observed but never shed, timed out or rate limited: a probe must
//! see the server's real state when it is busy. Refusals carry the usual `<Code>: <Message>`
//! and the `x-tessera-error-code` trailer.

pub mod observe;
pub mod rate_limit;
pub mod request_id;
pub mod shed;
pub mod timeout;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use prost::Message as _;
use tonic::metadata::MetadataValue;
use tower::layer::util::Stack;

use crate::auth::{AuthLayer, Authenticator, ERROR_CODE_TRAILER};
use crate::config::Limits;

/// The layers of one server, built from its configuration.
#[derive(Debug, Clone)]
pub struct Layers {
    shed: shed::ShedLayer,
    timeout: timeout::TimeoutLayer,
    rate_limit: rate_limit::RateLimitLayer,
}

impl Layers {
    pub fn new(limits: &Limits) -> Layers {
        Layers {
            shed: shed::ShedLayer::new(limits.max_concurrent_requests),
            timeout: timeout::TimeoutLayer::new(limits.request_timeout),
            rate_limit: rate_limit::RateLimitLayer::new(&limits.rate_limits),
        }
    }

    /// Wraps the gRPC router in layers 1–4 (see the module docs).
    pub fn around_grpc(&self, router: axum::Router) -> axum::Router {
        router.layer(
            tower::ServiceBuilder::new()
                .layer(request_id::RequestIdLayer)
                .layer(observe::ObserveLayer::new())
                .layer(self.shed.clone())
                .layer(self.timeout),
        )
    }

    /// The per-account rate limits (also checked by Alibaba's HTTP API, which does not pass
    /// through the layers).
    pub fn rate_limits(&self) -> &rate_limit::RateLimitLayer {
        &self.rate_limit
    }

    /// Authentication, then the per-account rate limit: what wraps each `tessera.v1` service.
    pub fn authenticated(
        &self,
        auth: Arc<Authenticator>,
    ) -> Stack<rate_limit::RateLimitLayer, AuthLayer> {
        Stack::new(self.rate_limit.clone(), AuthLayer::new(auth))
    }
}

/// The future the layers' services return.
pub type BoxFuture<R> = Pin<Box<dyn Future<Output = Result<R, Infallible>> + Send>>;

/// Whether `path` is a health or reflection method, which no limit applies to.
pub(crate) fn exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

/// The method of a gRPC path (`/tessera.v1.Sts/AssumeRole` → `AssumeRole`).
pub(crate) fn method_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, method)| method)
}

/// The full paths of every `tessera.v1` method this build serves.
pub(crate) fn operation_paths() -> &'static BTreeSet<String> {
    static PATHS: OnceLock<BTreeSet<String>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let Ok(set) =
            prost_types::FileDescriptorSet::decode(tessera_proto::v1::FILE_DESCRIPTOR_SET)
        else {
            tracing::error!("the built-in descriptor set does not decode");
            return BTreeSet::new();
        };
        let mut paths = BTreeSet::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    paths.insert(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
        paths
    })
}

/// Whether `name` is the name of a `tessera.v1` RPC (`AssumeRole`, `CreateUser`, …).
pub fn is_operation(name: &str) -> bool {
    !name.is_empty()
        && operation_paths()
            .iter()
            .any(|path| method_name(path) == name)
}

/// The gRPC status of a refusal: `<Code>: <Message>` and the `x-tessera-error-code` trailer.
pub(crate) fn refusal(error: &tessera_iam::Error) -> tonic::Status {
    let mut status = crate::authorizer::status(error);
    if let Ok(value) = MetadataValue::try_from(error.code()) {
        status.metadata_mut().insert(ERROR_CODE_TRAILER, value);
    }
    status
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn operations_come_from_the_descriptors() {
        assert!(operation_paths().contains("/tessera.v1.Sts/AssumeRole"));
        assert!(operation_paths().contains("/tessera.v1.Ram/CreateUser"));
        assert!(is_operation("AssumeRole"));
        assert!(is_operation("Authorize"));
        assert!(!is_operation("AssumeRoles"));
        assert!(!is_operation(""));
        assert!(!is_operation("Check"));
    }

    #[test]
    fn health_and_reflection_are_exempt() {
        assert!(exempt("/grpc.health.v1.Health/Check"));
        assert!(exempt(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        ));
        assert!(exempt(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!exempt("/tessera.v1.Sts/AssumeRole"));
        assert_eq!(method_name("/tessera.v1.Sts/AssumeRole"), "AssumeRole");
    }

    #[test]
    fn refusals_carry_the_code_trailer() {
        let status = refusal(&tessera_iam::Error::throttling_user());
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "Throttling.User: Request was denied due to user flow control."
        );
        assert_eq!(
            status.metadata().get(ERROR_CODE_TRAILER).unwrap(),
            "Throttling.User"
        );
    }
}
