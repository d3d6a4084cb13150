//! STS `2015-04-01`: the operation table and the response objects.

use super::{Obj, Sts, operations};
use crate::v1 as pb;

operations! {
    /// Calls the STS action `action` on `service` with `params` (see the module documentation);
    /// an action not in [`STS_ACTIONS`] is `InvalidAction.NotFound`.
    fn call_sts(&dyn Sts), STS_ACTIONS, describe_sts;

    AssumeRole => assume_role |p| pb::AssumeRoleRequest {
        role_arn: p.required("RoleArn")?,
        role_session_name: p.required("RoleSessionName")?,
        policy: p.text("Policy"),
        duration_seconds: p.uint("DurationSeconds")?.unwrap_or(0),
        external_id: p.text("ExternalId"),
        source_identity: p.text("SourceIdentity"),
    } => |r| Obj::new()
        .put("Credentials", credentials(r.credentials.as_ref()))
        .put("AssumedRoleUser", assumed_role_user(r.assumed_role_user.as_ref()))
        .text("SourceIdentity", &r.source_identity)
        .done();
    // Anonymous (the token is the credential): the HTTP endpoint serves it unsigned.
    AssumeRoleWithOIDC => assume_role_with_oidc |p| pb::AssumeRoleWithOidcRequest {
        oidc_provider_arn: p.required("OIDCProviderArn")?,
        role_arn: p.required("RoleArn")?,
        oidc_token: p.required("OIDCToken")?,
        role_session_name: p.required("RoleSessionName")?,
        policy: p.text("Policy"),
        duration_seconds: p.uint("DurationSeconds")?.unwrap_or(0),
    } => |r| {
        let info = r.oidc_token_info.as_ref().map_or_else(super::empty, |i| {
            Obj::new()
                .put("Subject", i.subject.as_str())
                .put("Issuer", i.issuer.as_str())
                .put("ClientIds", i.client_ids.join(","))
                .date("ExpirationTime", i.expiration_time.as_ref())
                .date("IssuanceTime", i.issuance_time.as_ref())
                .text("VerificationInfo", &i.verification_info)
                .done()
        });
        Obj::new()
            .put("Credentials", credentials(r.credentials.as_ref()))
            .put("AssumedRoleUser", assumed_role_user(r.assumed_role_user.as_ref()))
            .put("OIDCTokenInfo", info)
            .done()
    };
    GetCallerIdentity => get_caller_identity |_p| pb::GetCallerIdentityRequest {} => |r| {
        let principal = r.principal.unwrap_or_default();
        Obj::new()
            .put("IdentityType", principal.identity_type)
            .put("AccountId", principal.account_id)
            .put("PrincipalId", principal.principal_id)
            .put("Arn", principal.arn)
            .text("UserId", &r.user_id)
            .text("RoleId", &r.role_id)
            .done()
    };
}

fn credentials(c: Option<&pb::Credentials>) -> serde_json::Value {
    c.map_or_else(super::empty, |c| {
        Obj::new()
            .put("AccessKeyId", c.access_key_id.as_str())
            .put("AccessKeySecret", c.access_key_secret.as_str())
            .put("SecurityToken", c.security_token.as_str())
            .date("Expiration", c.expiration.as_ref())
            .done()
    })
}

fn assumed_role_user(u: Option<&pb::AssumedRoleUser>) -> serde_json::Value {
    u.map_or_else(super::empty, |u| {
        Obj::new()
            .put("Arn", u.arn.as_str())
            .put("AssumedRoleId", u.assumed_role_id.as_str())
            .done()
    })
}
