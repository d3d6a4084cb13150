//! OIDC identity providers: `CreateOIDCProvider`, `GetOIDCProvider`, `UpdateOIDCProvider`,
//! `DeleteOIDCProvider`, `ListOIDCProviders`, `Add`/`RemoveClientIdTo`/`FromOIDCProvider` and
//! `Add`/`RemoveFingerprintTo`/`FromOIDCProvider` (IMS `2019-08-15`'s operations, authorized
//! as `ram:<Operation>` on `acs:ram::<account>:oidc-provider/<name>`).
//!
//! A provider is answered with its ARN (`acs:ram::<account>:oidc-provider/<name>`). The store
//! validates the fields ([`tessera_iam::oidc`]); here the issuer URL must also be `https://`
//! unless the deployment allows plain HTTP issuers (`oidc_allow_http_issuers`, for tests).
//! `Sts.AssumeRoleWithOIDC` reads the provider at every exchange, so a change applies to the
//! next token.

use tessera_iam::{AccountId, Error, Target, oidc};
use tessera_proto::v1 as pb;
use tessera_store::OidcProviderStore as _;
use tonic::{Request, Response, Status};

use super::*;

fn target(name: &str) -> Target<'_> {
    Target {
        oidc_provider_name: Some(name),
        ..Target::default()
    }
}

fn provider(account: &AccountId, p: tessera_store::OidcProvider) -> pb::OidcProvider {
    pb::OidcProvider {
        arn: oidc::provider_arn(account, &p.name),
        oidc_provider_name: p.name,
        issuer_url: p.issuer_url,
        client_ids: p.client_ids,
        fingerprints: p.fingerprints,
        description: p.description,
        issuance_limit_time: p.issuance_limit_hours,
        create_date: Some(timestamp(p.created_at)),
        update_date: Some(timestamp(p.updated_at)),
    }
}

fn response(
    account: &AccountId,
    committed: tessera_store::Committed<tessera_store::OidcProvider>,
) -> Response<pb::OidcProviderResponse> {
    Response::new(pb::OidcProviderResponse {
        oidc_provider: Some(provider(account, committed.value)),
        revision: revision(committed.revision),
    })
}

pub(super) async fn create_oidc_provider(
    svc: &RamService,
    request: Request<pb::CreateOidcProviderRequest>,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "CreateOIDCProvider",
            &target(&request.get_ref().oidc_provider_name),
        )
        .await?;
    let req = request.into_inner();
    if req.issuer_url.is_empty() {
        return Err(err(Error::missing("IssuerUrl")));
    }
    oidc::issuer_url(&req.issuer_url, svc.allow_http_issuers).map_err(err)?;
    let new = tessera_store::NewOidcProvider {
        name: req.oidc_provider_name,
        issuer_url: req.issuer_url,
        client_ids: req.client_ids,
        fingerprints: req.fingerprints,
        description: given(req.description),
        issuance_limit_hours: Some(req.issuance_limit_time).filter(|h| *h != 0),
    };
    let committed = svc
        .store()
        .create_oidc_provider(&account, &new)
        .await
        .map_err(err)?;
    Ok(response(&account, committed))
}

pub(super) async fn get_oidc_provider(
    svc: &RamService,
    request: Request<pb::OidcProviderRef>,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    let name = &request.get_ref().oidc_provider_name;
    let account = svc
        .authorize(&request, "GetOIDCProvider", &target(name))
        .await?;
    let found = svc
        .store()
        .get_oidc_provider(&account, name)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::OidcProviderResponse {
        oidc_provider: Some(provider(&account, found)),
        revision: 0,
    }))
}

pub(super) async fn update_oidc_provider(
    svc: &RamService,
    request: Request<pb::UpdateOidcProviderRequest>,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "UpdateOIDCProvider",
            &target(&request.get_ref().oidc_provider_name),
        )
        .await?;
    let req = request.into_inner();
    let update = tessera_store::OidcProviderUpdate {
        client_ids: req.client_ids.map(|l| l.items),
        description: req.new_description,
        issuance_limit_hours: req.issuance_limit_time,
    };
    let committed = svc
        .store()
        .update_oidc_provider(&account, &req.oidc_provider_name, &update)
        .await
        .map_err(err)?;
    Ok(response(&account, committed))
}

pub(super) async fn delete_oidc_provider(
    svc: &RamService,
    request: Request<pb::OidcProviderRef>,
) -> Result<Response<pb::WriteResult>, Status> {
    let name = &request.get_ref().oidc_provider_name;
    let account = svc
        .authorize(&request, "DeleteOIDCProvider", &target(name))
        .await?;
    let committed = svc
        .store()
        .delete_oidc_provider(&account, name)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn list_oidc_providers(
    svc: &RamService,
    request: Request<pb::ListRequest>,
) -> Result<Response<pb::ListOidcProvidersResponse>, Status> {
    let account = svc
        .authorize(&request, "ListOIDCProviders", &Target::default())
        .await?;
    let page = page(request.into_inner().page);
    let listed = svc
        .store()
        .list_oidc_providers(&account, &page)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListOidcProvidersResponse {
        oidc_providers: listed
            .items
            .into_iter()
            .map(|p| provider(&account, p))
            .collect(),
        is_truncated: listed.is_truncated,
        marker: listed.marker.unwrap_or_default(),
    }))
}

/// The four list edits: authorize `operation`, require the item, apply `edit`.
async fn edit<T>(
    svc: &RamService,
    request: Request<T>,
    operation: &str,
    parts: impl Fn(&T) -> (&str, &str, &'static str),
    edit: impl AsyncFnOnce(
        &tessera_store::SqlStore,
        &AccountId,
        &str,
        &str,
    ) -> tessera_store::Result<
        tessera_store::Committed<tessera_store::OidcProvider>,
    >,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    let (name, item, field) = parts(request.get_ref());
    let account = svc.authorize(&request, operation, &target(name)).await?;
    if item.is_empty() {
        return Err(err(Error::missing(field)));
    }
    let committed = edit(svc.store(), &account, name, item).await.map_err(err)?;
    Ok(response(&account, committed))
}

fn client_id_parts(r: &pb::OidcProviderClientIdRequest) -> (&str, &str, &'static str) {
    (&r.oidc_provider_name, &r.client_id, "ClientId")
}

fn fingerprint_parts(r: &pb::OidcProviderFingerprintRequest) -> (&str, &str, &'static str) {
    (&r.oidc_provider_name, &r.fingerprint, "Fingerprint")
}

pub(super) async fn add_client_id_to_oidc_provider(
    svc: &RamService,
    request: Request<pb::OidcProviderClientIdRequest>,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    edit(
        svc,
        request,
        "AddClientIdToOIDCProvider",
        client_id_parts,
        async |store, account, name, item| store.add_oidc_client_id(account, name, item).await,
    )
    .await
}

pub(super) async fn remove_client_id_from_oidc_provider(
    svc: &RamService,
    request: Request<pb::OidcProviderClientIdRequest>,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    edit(
        svc,
        request,
        "RemoveClientIdFromOIDCProvider",
        client_id_parts,
        async |store, account, name, item| store.remove_oidc_client_id(account, name, item).await,
    )
    .await
}

pub(super) async fn add_fingerprint_to_oidc_provider(
    svc: &RamService,
    request: Request<pb::OidcProviderFingerprintRequest>,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    edit(
        svc,
        request,
        "AddFingerprintToOIDCProvider",
        fingerprint_parts,
        async |store, account, name, item| store.add_oidc_fingerprint(account, name, item).await,
    )
    .await
}

pub(super) async fn remove_fingerprint_from_oidc_provider(
    svc: &RamService,
    request: Request<pb::OidcProviderFingerprintRequest>,
) -> Result<Response<pb::OidcProviderResponse>, Status> {
    edit(
        svc,
        request,
        "RemoveFingerprintFromOIDCProvider",
        fingerprint_parts,
        async |store, account, name, item| store.remove_oidc_fingerprint(account, name, item).await,
    )
    .await
}
