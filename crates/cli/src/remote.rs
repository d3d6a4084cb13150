//! The Alibaba mapping's service traits ([`tessera_proto::alibaba::Ram`] and `Sts`) implemented
//! by forwarding every call to a gRPC client, so that `tessera ram <Operation>` and
//! `tessera sts <Operation>` run the one table of `tessera_proto::alibaba` (the same the
//! server's HTTP API uses) over the network.

use tessera_client::BoxError;
use tessera_proto::alibaba;
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tonic::body::Body;
use tonic::codegen::http;
use tower::util::BoxCloneSyncService;

/// What the forwarders call over: a signed channel, or a stand-in that sends nothing.
pub type Transport = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, TransportError>;

/// A transport failure. (A concrete type rather than a boxed error, so that the futures of the
/// forwarding methods are provably `Send`.)
#[derive(Debug)]
pub struct TransportError(BoxError);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The transport of a signed channel.
pub fn signed(channel: tessera_client::SignedChannel) -> Transport {
    use tower::ServiceExt as _;
    BoxCloneSyncService::new(channel.map_err(TransportError))
}

/// Forwards `tessera.v1.Ram` calls.
#[derive(Debug, Clone)]
pub struct RamForward(RamClient<Transport>);

/// Forwards `tessera.v1.Sts` calls.
#[derive(Debug, Clone)]
pub struct StsForward(StsClient<Transport>);

impl RamForward {
    pub fn new(transport: Transport) -> RamForward {
        RamForward(RamClient::new(transport))
    }
}

impl StsForward {
    pub fn new(transport: Transport) -> StsForward {
        StsForward(StsClient::new(transport))
    }
}

/// Implements a service trait by calling the same method of the client in `.0`.
macro_rules! forward {
    ($service:ident for $name:ident { $($method:ident($request:ident) -> $response:ident;)* }) => {
        #[tonic::async_trait]
        impl alibaba::$service for $name {
            $(
                async fn $method(
                    &self,
                    request: tonic::Request<pb::$request>,
                ) -> Result<tonic::Response<pb::$response>, tonic::Status> {
                    self.0.clone().$method(request).await
                }
            )*
        }
    };
}

tessera_proto::with_ram_methods!(forward! { Ram for RamForward });

forward! { Sts for StsForward {
    assume_role(AssumeRoleRequest) -> AssumeRoleResponse;
    get_caller_identity(GetCallerIdentityRequest) -> GetCallerIdentityResponse;
    get_jwks(GetJwksRequest) -> GetJwksResponse;
    sign_in(SignInRequest) -> SignInResponse;
    assume_role_with_oidc(AssumeRoleWithOidcRequest) -> AssumeRoleWithOidcResponse;
}}
