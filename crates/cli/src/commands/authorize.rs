//! `tessera authorize`: asks the server's `Authorize` whether the current credentials (or a
//! principal named by ARN) may perform an action on a resource.

use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use serde_json::{Map, Value, json};
use tessera_client::{Client, Credential, pb};

use crate::console::Console;
use crate::failure::{CommandResult, EXIT_FAILURE, EXIT_INVALID, Failure};
use crate::output::{self, Problem, new_request_id};
use crate::session::{self, Globals, Identity};

/// Arguments of `tessera authorize`.
#[derive(Debug, Args)]
#[command(
    about = "Ask the server whether a principal may perform an action on a resource",
    long_about = "Ask the server's Authorize whether the current credentials — or, with \
        --principal-arn, another principal — may perform ACTION on RESOURCE, and print the \
        decision with the statements that made it:\n\n  \
        {\"Decision\": \"Allow\" | \"ExplicitDeny\" | \"ImplicitDeny\",\n   \
        \"MatchedStatements\": [{\"Source\", \"PolicyName\", \"PolicyType\", \"VersionId\", \
        \"Statement\", \"Sid\", \"Effect\"}, …],\n   \
        \"Principal\": ARN, \"Revision\": N}\n\n\
        For the current credentials the question is about the credential itself: a role \
        session's session policy applies. A long-term access key asks about its own principal. \
        Asking about another principal needs `tessera:Authorize` on it (an account's root may \
        ask about its own principals), or an operator's GrantAuthorize across accounts. The \
        server sets the context keys it knows (acs:CurrentTime, acs:PrincipalARN, …) itself.\n\n\
        Exit status: 0 allowed, 1 denied (explicitly or implicitly), 2 on any error (printed \
        as {\"Code\", \"Message\", \"RequestId\"} on standard error).",
    after_help = "Example:\n  tessera authorize --action oss:GetObject \\\n    \
        --resource acs:oss:*:1234567890123456:photos/cat.jpg --context acs:SourceIp=192.0.2.7"
)]
pub struct AuthorizeArgs {
    /// The action requested, `<service>:<action>` (matched case-insensitively)
    #[arg(long, value_name = "ACTION", value_parser = NonEmptyStringValueParser::new())]
    pub action: String,

    /// The resource ARN requested, e.g. acs:oss:*:1234567890123456:photos/cat.jpg
    #[arg(long, value_name = "ARN", value_parser = NonEmptyStringValueParser::new())]
    pub resource: String,

    /// A condition key and one of its values; repeat a key for several values. The value is
    /// everything after the first `=`
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = crate::commands::policy::parse_context_pair)]
    pub context: Vec<(String, String)>,

    /// Ask about this principal (acs:ram::<account>:user/<name>, …:role/<name>,
    /// …:assumed-role/<role>/<session>, …:root) instead of the current credentials
    #[arg(long, value_name = "ARN", value_parser = NonEmptyStringValueParser::new())]
    pub principal_arn: Option<String>,

    /// Decide at this revision or later (the Revision a write returned: read your writes)
    #[arg(long, value_name = "N")]
    pub min_revision: Option<u64>,

    /// The source IP address the principal's request came from (acs:SourceIp)
    #[arg(long, value_name = "IP")]
    pub source_ip: Option<String>,

    /// The principal's request came over TLS (acs:SecureTransport)
    #[arg(long)]
    pub secure_transport: bool,
}

pub async fn run(
    args: &AuthorizeArgs,
    globals: &Globals,
    console: &mut Console<'_>,
) -> CommandResult {
    let error = |p: Problem, console: &mut Console<'_>| p.with_exit(EXIT_INVALID).report(console);
    let target = session::resolve(globals).map_err(|p| error(p, console))?;
    let client = target.connect().await.map_err(|p| error(p, console))?;
    let id = new_request_id();
    let answer = crate::commands::with_progress(decide(args, &target.identity, &client, &id)).await;
    let response = match answer {
        Ok(response) => response,
        Err(status) => return Err(error(Problem::from_status(&status, Some(&id)), console)),
    };
    let result = response.result.unwrap_or_default();
    let decision = result.decision();
    let mut value = json!({
        "Decision": match decision {
            pb::Decision::Allow => "Allow",
            pb::Decision::ExplicitDeny => "ExplicitDeny",
            pb::Decision::ImplicitDeny | pb::Decision::Unspecified => "ImplicitDeny",
        },
        "MatchedStatements": result.matched.iter().map(matched).collect::<Vec<_>>(),
        "Principal": response.principal.map(|p| p.arn).unwrap_or_default(),
        "Revision": response.revision,
    });
    if !result.reason.is_empty() {
        value["Reason"] = result.reason.into();
    }
    output::print(console, &globals.args, &value)?;
    if decision == pb::Decision::Allow {
        Ok(())
    } else {
        Err(Failure::Reported(EXIT_FAILURE))
    }
}

/// Asks: about the credential's token when it has one (so a session policy applies), about
/// the caller's own ARN for a long-term key, or about `--principal-arn`.
async fn decide(
    args: &AuthorizeArgs,
    identity: &Identity,
    client: &Client,
    id: &str,
) -> Result<pb::AuthorizeResponse, tonic::Status> {
    let kind = match &args.principal_arn {
        Some(arn) => pb::subject::Kind::PrincipalArn(arn.clone()),
        None => match current_token(identity, client).await? {
            Some(token) => pb::subject::Kind::SecurityToken(token),
            None => {
                let me = client
                    .sts()
                    .get_caller_identity(crate::commands::request(
                        pb::GetCallerIdentityRequest {},
                        id,
                    ))
                    .await?
                    .into_inner();
                pb::subject::Kind::PrincipalArn(me.principal.map(|p| p.arn).unwrap_or_default())
            }
        },
    };
    let mut context: Vec<pb::ContextEntry> = Vec::new();
    for (key, value) in &args.context {
        match context.iter_mut().find(|e| &e.key == key) {
            Some(entry) => entry.values.push(value.clone()),
            None => context.push(pb::ContextEntry {
                key: key.clone(),
                values: vec![value.clone()],
            }),
        }
    }
    let request = pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            kind: Some(kind),
            source_ip: args.source_ip.clone().unwrap_or_default(),
            secure_transport: args.secure_transport,
        }),
        item: Some(pb::AuthorizeItem {
            action: args.action.clone(),
            resource: args.resource.clone(),
            context,
        }),
        min_revision: args.min_revision.unwrap_or_default(),
        explain: true,
    };
    client
        .authorizer()
        .authorize(crate::commands::request(request, id))
        .await
        .map(tonic::Response::into_inner)
}

/// The security token the calls are made with, if any (for a role profile: the role's).
async fn current_token(
    identity: &Identity,
    client: &Client,
) -> Result<Option<String>, tonic::Status> {
    let credential = match identity {
        Identity::Fixed(credential) => credential.clone(),
        Identity::Role { .. } => client
            .channel()
            .provider()
            .credential()
            .await
            .map_err(tessera_client::Error::into_status)?,
    };
    Ok(match credential {
        Credential::Bearer(token) => Some(token),
        Credential::AccessKey {
            security_token: Some(token),
            ..
        } => Some(token),
        _ => None,
    })
}

/// A matched statement as printed.
fn matched(m: &pb::MatchedStatement) -> Value {
    let mut fields = Map::new();
    fields.insert("Source".into(), m.source.clone().into());
    fields.insert("PolicyName".into(), m.policy_name.clone().into());
    if !m.policy_type.is_empty() {
        fields.insert("PolicyType".into(), m.policy_type.clone().into());
    }
    if !m.version_id.is_empty() {
        fields.insert("VersionId".into(), m.version_id.clone().into());
    }
    fields.insert("Statement".into(), m.statement_index.into());
    fields.insert(
        "Sid".into(),
        if m.sid.is_empty() {
            Value::Null
        } else {
            m.sid.clone().into()
        },
    );
    fields.insert("Effect".into(), m.effect.clone().into());
    Value::Object(fields)
}
