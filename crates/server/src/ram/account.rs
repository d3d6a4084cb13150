//! The account: `GetAccountSummary` and the account alias.

use tessera_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::*;

pub(super) async fn get_account_summary(
    _svc: &RamService,
    _request: Request<pb::GetAccountSummaryRequest>,
) -> Result<Response<pb::GetAccountSummaryResponse>, Status> {
    Err(unimplemented("GetAccountSummary"))
}

pub(super) async fn set_account_alias(
    _svc: &RamService,
    _request: Request<pb::SetAccountAliasRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("SetAccountAlias"))
}

pub(super) async fn clear_account_alias(
    _svc: &RamService,
    _request: Request<pb::SetAccountAliasRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("ClearAccountAlias"))
}

pub(super) async fn get_account_alias(
    _svc: &RamService,
    _request: Request<pb::SetAccountAliasRequest>,
) -> Result<Response<pb::SetAccountAliasRequest>, Status> {
    Err(unimplemented("GetAccountAlias"))
}
