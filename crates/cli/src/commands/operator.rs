//! `tessera operator <Operation>`: the platform operator's `tessera.v1.Operator` service —
//! tenant accounts, quotas, signing keys, platform-wide Authorize grants — with the operator's
//! credentials (`operator.json` of the server's data directory).

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use tessera_client::pb;

use crate::console::Console;
use crate::failure::CommandResult;
use crate::output::{self, Problem, new_request_id};
use crate::session::{self, Globals};

/// Arguments of `tessera operator`.
#[derive(Debug, Args)]
#[command(
    about = "Manage tenant accounts, signing keys and Authorize grants (operator credentials)",
    long_about = "Manage tenant accounts, signing keys and platform-wide Authorize grants.\n\n\
        These operations of the tessera.v1.Operator service are open to the platform operator's \
        account only: use the access key the server wrote to operator.json in its data \
        directory on first start (`tessera configure set --profile operator --access-key-id \
        ... --access-key-secret ...`). Results are JSON objects in Alibaba's style (with a \
        RequestId); errors {\"Code\", \"Message\", \"RequestId\"} on standard error, exit \
        status 1."
)]
pub struct OperatorArgs {
    #[command(subcommand)]
    pub operation: Operation,
}

#[derive(Debug, Subcommand)]
pub enum Operation {
    /// Create a tenant account and its root access key; prints {"AccountId", "AccessKey":
    /// {"AccessKeyId", "AccessKeySecret"}} (the secret is shown this once)
    #[command(name = "CreateAccount")]
    CreateAccount {
        /// The account's name (not empty)
        #[arg(long = "AccountName", value_name = "NAME")]
        account_name: String,
    },
    /// Show one account: {"Account": {...}}
    #[command(name = "GetAccount")]
    GetAccount {
        /// The 16-digit account id
        #[arg(long = "AccountId", value_name = "ID")]
        account_id: String,
    },
    /// List accounts: {"Accounts": {"Account": [...]}, "IsTruncated", "Marker"}
    #[command(name = "ListAccounts")]
    ListAccounts {
        /// Continue after the previous page (its Marker)
        #[arg(long = "Marker", value_name = "MARKER")]
        marker: Option<String>,
        /// Page size, 1..1000 (default 100)
        #[arg(long = "MaxItems", value_name = "N")]
        max_items: Option<u32>,
    },
    /// Suspend an account: its credentials stop working until it is resumed
    #[command(name = "SuspendAccount")]
    SuspendAccount {
        /// The 16-digit account id
        #[arg(long = "AccountId", value_name = "ID")]
        account_id: String,
    },
    /// Make a suspended account active again
    #[command(name = "ResumeAccount")]
    ResumeAccount {
        /// The 16-digit account id
        #[arg(long = "AccountId", value_name = "ID")]
        account_id: String,
    },
    /// Set (or, without --Value, reset to the deployment default) one quota of an account
    #[command(name = "SetAccountQuota")]
    SetAccountQuota {
        /// The 16-digit account id
        #[arg(long = "AccountId", value_name = "ID")]
        account_id: String,
        /// The quota as GetAccountSummary names it, e.g. UsersQuota
        #[arg(long = "QuotaName", value_name = "NAME")]
        quota_name: String,
        /// The new limit; absent: back to the default
        #[arg(long = "Value", value_name = "N")]
        value: Option<u32>,
    },
    /// Make a new token signing key current; the previous one stays verifiable until its
    /// tokens expire. Prints {"KeyId", "Revision"}
    #[command(name = "RotateSigningKey")]
    RotateSigningKey,
    /// Let a service principal (a user or role of any account) ask Authorize about principals
    /// of every account
    #[command(name = "GrantAuthorize")]
    GrantAuthorize {
        /// The service's principal ARN, e.g. acs:ram::1234567890123456:role/gateway
        #[arg(long = "PrincipalArn", value_name = "ARN")]
        principal_arn: String,
    },
    /// Withdraw a GrantAuthorize
    #[command(name = "RevokeAuthorize")]
    RevokeAuthorize {
        /// The service's principal ARN
        #[arg(long = "PrincipalArn", value_name = "ARN")]
        principal_arn: String,
    },
}

pub async fn run(
    args: OperatorArgs,
    globals: &Globals,
    console: &mut Console<'_>,
) -> CommandResult {
    let target = session::resolve(globals).map_err(|p| p.report(console))?;
    let client = target.connect().await.map_err(|p| p.report(console))?;
    let mut operator = client.operator();
    let id = new_request_id();
    let tag = Tag(&id);
    let result: Result<Value, tonic::Status> = crate::commands::with_progress(async {
        Ok(match args.operation {
            Operation::CreateAccount { account_name } => {
                let r = operator
                    .create_account(tag.wrap(pb::CreateAccountRequest { name: account_name }))
                    .await?
                    .into_inner();
                json!({
                    "AccountId": r.account.map(|a| a.account_id).unwrap_or_default(),
                    "AccessKey": {
                        "AccessKeyId": r.root_access_key_id,
                        "AccessKeySecret": r.root_access_key_secret,
                    },
                })
            }
            Operation::GetAccount { account_id } => {
                let r = operator
                    .get_account(tag.wrap(pb::GetAccountRequest { account_id }))
                    .await?;
                json!({ "Account": account(&r.into_inner()) })
            }
            Operation::ListAccounts { marker, max_items } => {
                let page = pb::Page {
                    marker: marker.unwrap_or_default(),
                    max_items: max_items.unwrap_or_default(),
                };
                let r = operator
                    .list_accounts(tag.wrap(pb::ListAccountsRequest { page: Some(page) }))
                    .await?
                    .into_inner();
                let mut answer = json!({
                    "Accounts": {"Account": r.accounts.iter().map(account).collect::<Vec<_>>()},
                    "IsTruncated": r.is_truncated,
                });
                if !r.marker.is_empty() {
                    answer["Marker"] = r.marker.into();
                }
                answer
            }
            Operation::SuspendAccount { account_id } => {
                set_status(&mut operator, &tag, account_id, "Suspended").await?
            }
            Operation::ResumeAccount { account_id } => {
                set_status(&mut operator, &tag, account_id, "Active").await?
            }
            Operation::SetAccountQuota {
                account_id,
                quota_name,
                value,
            } => {
                let r = operator
                    .set_account_quota(tag.wrap(pb::SetAccountQuotaRequest {
                        account_id,
                        name: quota_name,
                        value,
                    }))
                    .await?;
                json!({ "Revision": r.into_inner().revision })
            }
            Operation::RotateSigningKey => {
                let r = operator
                    .rotate_signing_key(tag.wrap(pb::RotateSigningKeyRequest {}))
                    .await?
                    .into_inner();
                json!({ "KeyId": r.kid, "Revision": r.revision })
            }
            Operation::GrantAuthorize { principal_arn } => {
                let r = operator
                    .grant_platform_authorize(
                        tag.wrap(pb::GrantPlatformAuthorizeRequest { principal_arn }),
                    )
                    .await?;
                json!({ "Revision": r.into_inner().revision })
            }
            Operation::RevokeAuthorize { principal_arn } => {
                let r = operator
                    .revoke_platform_authorize(
                        tag.wrap(pb::GrantPlatformAuthorizeRequest { principal_arn }),
                    )
                    .await?;
                json!({ "Revision": r.into_inner().revision })
            }
        })
    })
    .await;
    match result {
        Ok(mut value) => {
            if let Value::Object(fields) = &mut value {
                fields.insert("RequestId".into(), id.clone().into());
            }
            output::print(console, &globals.args, &value)
        }
        Err(status) => Err(Problem::from_status(&status, Some(&id)).report(console)),
    }
}

/// Tags requests with the run's request id.
struct Tag<'a>(&'a str);

impl Tag<'_> {
    fn wrap<T>(&self, message: T) -> tonic::Request<T> {
        crate::commands::request(message, self.0)
    }
}

type Operator = tessera_proto::v1::operator_client::OperatorClient<tessera_client::SignedChannel>;

async fn set_status(
    operator: &mut Operator,
    tag: &Tag<'_>,
    account_id: String,
    status: &str,
) -> Result<Value, tonic::Status> {
    let r = operator
        .set_account_status(tag.wrap(pb::SetAccountStatusRequest {
            account_id,
            status: status.to_owned(),
        }))
        .await?;
    Ok(json!({ "Account": account(&r.into_inner()) }))
}

/// An account as the operator commands print it.
fn account(a: &pb::Account) -> Value {
    let mut fields = Map::new();
    fields.insert("AccountId".into(), a.account_id.clone().into());
    fields.insert("AccountName".into(), a.name.clone().into());
    if !a.alias.is_empty() {
        fields.insert("AccountAlias".into(), a.alias.clone().into());
    }
    fields.insert("Status".into(), a.status.clone().into());
    if let Some(date) = a
        .create_date
        .as_ref()
        .and_then(tessera_proto::alibaba::format_date)
    {
        fields.insert("CreateDate".into(), date.into());
    }
    Value::Object(fields)
}
