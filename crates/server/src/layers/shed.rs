//! Load shedding at a global concurrency limit: at most `max_concurrent_requests` RPCs are in
//! flight at once; one more is refused at once with `RESOURCE_EXHAUSTED`
//! (`Throttling: Request was denied due to request throttling.`), never queued, so an
//! overloaded replica answers fast and clients (or the load balancer) retry elsewhere. A slot
//! is held until the RPC's response is ready. Health and reflection are never shed.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::codegen::http;
use tower::{Layer, Service};

use super::{BoxFuture, exempt, refusal};

/// One RPC's place under the limit, given back when dropped (also when the call is cancelled).
struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn taken(permit: OwnedSemaphorePermit) -> Slot {
        crate::telemetry::metrics::in_flight(1.0);
        Slot { _permit: permit }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        crate::telemetry::metrics::in_flight(-1.0);
    }
}

/// Sheds the RPCs above the concurrency limit.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    slots: Arc<Semaphore>,
}

impl ShedLayer {
    /// At most `limit` RPCs in flight (at least 1).
    pub fn new(limit: usize) -> ShedLayer {
        ShedLayer {
            slots: Arc::new(Semaphore::new(limit.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            slots: Arc::clone(&self.slots),
        }
    }
}

/// See [`ShedLayer`].
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    slots: Arc<Semaphore>,
}

impl<S, B, R> Service<http::Request<B>> for Shed<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>, Error = Infallible>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if exempt(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(permit) => {
                let slot = Slot::taken(permit);
                let response = self.inner.call(request);
                Box::pin(async move {
                    let response = response.await;
                    drop(slot);
                    response
                })
            }
            Err(_) => {
                crate::telemetry::metrics::shed();
                let response = refusal(&tessera_iam::Error::request_throttling()).into_http();
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::Duration;

    use tower::ServiceExt as _;

    use super::*;
    use crate::auth::ERROR_CODE_TRAILER;

    /// Takes 10 s (paused clock: no real time) per call.
    fn slow() -> impl Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone {
        tower::service_fn(|_: http::Request<()>| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, Infallible>(http::Response::new(String::from("done")))
        })
    }

    fn request(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    const PATH: &str = "/tessera.v1.Authorizer/Authorize";

    #[tokio::test(start_paused = true)]
    async fn the_call_above_the_limit_is_refused_at_once_and_the_slot_comes_back() {
        let layer = ShedLayer::new(2);
        let first = tokio::spawn(layer.layer(slow()).oneshot(request(PATH)));
        let second = tokio::spawn(layer.layer(slow()).oneshot(request(PATH)));
        tokio::task::yield_now().await;

        let started = tokio::time::Instant::now();
        let refused = layer.layer(slow()).oneshot(request(PATH)).await.unwrap();
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "answered without waiting"
        );
        let status = tonic::Status::from_header_map(refused.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "Throttling: Request was denied due to request throttling."
        );
        assert_eq!(
            status.metadata().get(ERROR_CODE_TRAILER).unwrap(),
            "Throttling"
        );

        assert_eq!(first.await.unwrap().unwrap().body(), "done");
        assert_eq!(second.await.unwrap().unwrap().body(), "done");
        let again = layer.layer(slow()).oneshot(request(PATH)).await.unwrap();
        assert_eq!(again.body(), "done");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_call_gives_its_slot_back() {
        let layer = ShedLayer::new(1);
        let first = tokio::spawn(layer.layer(slow()).oneshot(request(PATH)));
        tokio::task::yield_now().await;
        first.abort();
        let _ = first.await;
        let next = layer.layer(slow()).oneshot(request(PATH)).await.unwrap();
        assert_eq!(next.body(), "done");
    }

    #[tokio::test(start_paused = true)]
    async fn health_and_reflection_are_never_shed() {
        let layer = ShedLayer::new(1);
        let busy = tokio::spawn(layer.layer(slow()).oneshot(request(PATH)));
        tokio::task::yield_now().await;
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        ] {
            let response = layer.layer(slow()).oneshot(request(path)).await.unwrap();
            assert_eq!(response.body(), "done", "{path}");
        }
        assert_eq!(busy.await.unwrap().unwrap().body(), "done");
    }
}
