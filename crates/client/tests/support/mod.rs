//! A small `tessera.v1.Sts` server for the client's tests: it fails calls on demand, records
//! what each call carried, and answers AssumeRole and AssumeRoleWithOIDC with credentials that
//! expire an hour after its (fake) clock.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use tessera_client::Clock;
use tessera_client::pb;
use tessera_client::pb::sts_server::{Sts, StsServer};
use tokio::sync::{Notify, Semaphore};
use tonic::{Request, Response, Status};

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct FakeClock(Arc<Mutex<Timestamp>>);

impl FakeClock {
    pub fn at(t: Timestamp) -> FakeClock {
        FakeClock(Arc::new(Mutex::new(t)))
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.0.lock().unwrap();
        *now = now.checked_add(by).unwrap();
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// What one call carried.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: &'static str,
    pub authorization: Option<String>,
    pub nonce: Option<String>,
    pub security_token: Option<String>,
    pub timeout: Option<String>,
}

/// The server's behaviour and what it saw.
pub struct State {
    pub clock: FakeClock,
    /// Calls of GetCallerIdentity still to fail with this status code.
    pub identity_failures: AtomicUsize,
    pub identity_failure_code: Mutex<tonic::Code>,
    /// Calls of AssumeRole still to fail with UNAVAILABLE.
    pub assume_failures: AtomicUsize,
    /// While `Some`, AssumeRole waits for a permit before answering.
    pub assume_gate: Mutex<Option<Arc<Semaphore>>>,
    /// Signalled whenever an AssumeRole call arrives.
    pub assume_arrived: Notify,
    pub assume_calls: AtomicUsize,
    pub seen: Mutex<Vec<Seen>>,
    /// The tokens AssumeRoleWithOIDC received, in order.
    pub oidc_tokens: Mutex<Vec<String>>,
}

impl State {
    pub fn seen(&self, method: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == method)
            .cloned()
            .collect()
    }
}

#[derive(Clone)]
pub struct FakeSts(pub Arc<State>);

fn record<T>(state: &State, method: &'static str, request: &Request<T>) {
    let get = |name: &str| {
        request
            .metadata()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    state.seen.lock().unwrap().push(Seen {
        method,
        authorization: get("authorization"),
        nonce: get("x-acs-signature-nonce"),
        security_token: get("x-acs-security-token"),
        timeout: get("grpc-timeout"),
    });
}

#[tonic::async_trait]
impl Sts for FakeSts {
    async fn assume_role(
        &self,
        request: Request<pb::AssumeRoleRequest>,
    ) -> Result<Response<pb::AssumeRoleResponse>, Status> {
        record(&self.0, "AssumeRole", &request);
        let n = self.0.assume_calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.assume_arrived.notify_one();
        let gate = self.0.assume_gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.acquire().await.unwrap().forget();
        }
        if take_one(&self.0.assume_failures) {
            return Err(Status::unavailable("ServiceUnavailable: try again"));
        }
        let req = request.into_inner();
        let expiration = self.0.clock.now() + SignedDuration::from_hours(1);
        Ok(Response::new(pb::AssumeRoleResponse {
            credentials: Some(pb::Credentials {
                access_key_id: format!("STS.{n}"),
                access_key_secret: format!("secret-{n}"),
                security_token: format!("token-{n}"),
                expiration: Some(prost_types::Timestamp {
                    seconds: expiration.as_second(),
                    nanos: 0,
                }),
            }),
            assumed_role_user: Some(pb::AssumedRoleUser {
                arn: format!("{}/{}", req.role_arn, req.role_session_name),
                assumed_role_id: "1:s".into(),
            }),
            source_identity: String::new(),
        }))
    }

    async fn get_caller_identity(
        &self,
        request: Request<pb::GetCallerIdentityRequest>,
    ) -> Result<Response<pb::GetCallerIdentityResponse>, Status> {
        record(&self.0, "GetCallerIdentity", &request);
        if take_one(&self.0.identity_failures) {
            let code = *self.0.identity_failure_code.lock().unwrap();
            return Err(Status::new(code, "ServiceUnavailable: try again"));
        }
        Ok(Response::new(pb::GetCallerIdentityResponse {
            principal: Some(pb::Principal {
                arn: "acs:ram::1:root".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn get_jwks(
        &self,
        request: Request<pb::GetJwksRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        record(&self.0, "GetJwks", &request);
        // Never answers: for deadlines.
        std::future::pending::<()>().await;
        Err(Status::internal("unreachable"))
    }

    async fn assume_role_with_oidc(
        &self,
        request: Request<pb::AssumeRoleWithOidcRequest>,
    ) -> Result<Response<pb::AssumeRoleWithOidcResponse>, Status> {
        record(&self.0, "AssumeRoleWithOIDC", &request);
        let n = self.0.assume_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if take_one(&self.0.assume_failures) {
            return Err(Status::unavailable("ServiceUnavailable: try again"));
        }
        let req = request.into_inner();
        self.0.oidc_tokens.lock().unwrap().push(req.oidc_token);
        let expiration = self.0.clock.now() + SignedDuration::from_hours(1);
        Ok(Response::new(pb::AssumeRoleWithOidcResponse {
            credentials: Some(pb::Credentials {
                access_key_id: format!("STS.{n}"),
                access_key_secret: format!("secret-{n}"),
                security_token: format!("token-{n}"),
                expiration: Some(prost_types::Timestamp {
                    seconds: expiration.as_second(),
                    nanos: 0,
                }),
            }),
            ..Default::default()
        }))
    }

    async fn sign_in(
        &self,
        request: Request<pb::SignInRequest>,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        record(&self.0, "SignIn", &request);
        Err(Status::unavailable("ServiceUnavailable: try again"))
    }
}

fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Starts the fake server on 127.0.0.1:0.
pub async fn start(clock: FakeClock) -> (SocketAddr, Arc<State>) {
    let state = Arc::new(State {
        clock,
        identity_failures: AtomicUsize::new(0),
        identity_failure_code: Mutex::new(tonic::Code::Unavailable),
        assume_failures: AtomicUsize::new(0),
        assume_gate: Mutex::new(None),
        assume_arrived: Notify::new(),
        assume_calls: AtomicUsize::new(0),
        seen: Mutex::new(Vec::new()),
        oidc_tokens: Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = StsServer::new(FakeSts(state.clone()));
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    (addr, state)
}
