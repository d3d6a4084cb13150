//! `tessera audit LookupEvents`: the caller's account's audit trail (`tessera.v1.Audit`), as
//! ActionTrail's LookupEvents: filters by time range, event name and principal, newest first,
//! one page per call. Prints `{"Events": [...], "NextToken": "..."}` (`NextToken` empty on the
//! last page).

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use tessera_client::pb;

use crate::console::Console;
use crate::failure::CommandResult;
use crate::output::{self, Problem, new_request_id};
use crate::session::{self, Globals};

/// Arguments of `tessera audit`.
#[derive(Debug, Args)]
#[command(
    about = "Look up the audit trail of the caller's account (ActionTrail's LookupEvents)",
    long_about = "Look up the audit trail of the caller's account: admin mutations, AssumeRole, \
        sign-ins and denied Authorize decisions, newest first.\n\n\
        Needs actiontrail:LookupEvents (the account's root and AdministratorAccess have it). \
        Prints {\"Events\": [{\"EventName\", \"EventTime\", \"PrincipalArn\", ...}], \
        \"NextToken\"}; pass NextToken back with --NextToken for the next page (it is empty on \
        the last one)."
)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub operation: Operation,
}

#[derive(Debug, Subcommand)]
pub enum Operation {
    /// One page of events, newest first
    #[command(name = "LookupEvents")]
    LookupEvents {
        /// Only events at or after this time (ISO 8601 UTC, e.g. 2025-01-31T00:00:00Z)
        #[arg(long = "StartTime", value_name = "TIME", value_parser = time)]
        start_time: Option<jiff::Timestamp>,
        /// Only events at or before this time (ISO 8601 UTC)
        #[arg(long = "EndTime", value_name = "TIME", value_parser = time)]
        end_time: Option<jiff::Timestamp>,
        /// Only events of this name, exactly: CreateUser, AssumeRole, SignIn, Authorize, ...
        #[arg(long = "EventName", value_name = "NAME")]
        event_name: Option<String>,
        /// Only events of this principal, e.g. acs:ram::1234567890123456:user/alice
        #[arg(long = "PrincipalArn", value_name = "ARN")]
        principal_arn: Option<String>,
        /// Page size, 1..50 (default 20)
        #[arg(long = "MaxResults", value_name = "N")]
        max_results: Option<u32>,
        /// Continue after the previous page (its NextToken)
        #[arg(long = "NextToken", value_name = "TOKEN")]
        next_token: Option<String>,
    },
}

fn time(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>()
        .map_err(|_| "expected an ISO 8601 time in UTC, e.g. 2025-01-31T08:00:00Z".to_owned())
}

fn timestamp(t: jiff::Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

pub async fn run(args: AuditArgs, globals: &Globals, console: &mut Console<'_>) -> CommandResult {
    let target = session::resolve(globals).map_err(|p| p.report(console))?;
    let client = target.connect().await.map_err(|p| p.report(console))?;
    let mut audit = client.audit();
    let id = new_request_id();
    let Operation::LookupEvents {
        start_time,
        end_time,
        event_name,
        principal_arn,
        max_results,
        next_token,
    } = args.operation;
    let request = pb::LookupEventsRequest {
        start_time: start_time.map(timestamp),
        end_time: end_time.map(timestamp),
        event_name: event_name.unwrap_or_default(),
        principal_arn: principal_arn.unwrap_or_default(),
        max_results: max_results.unwrap_or_default(),
        next_token: next_token.unwrap_or_default(),
    };
    let result =
        crate::commands::with_progress(audit.lookup_events(crate::commands::request(request, &id)))
            .await;
    match result {
        Ok(response) => {
            let r = response.into_inner();
            let value = json!({
                "Events": r.events.iter().map(event).collect::<Vec<_>>(),
                "NextToken": r.next_token,
            });
            output::print(console, &globals.args, &value)
        }
        Err(status) => Err(Problem::from_status(&status, Some(&id)).report(console)),
    }
}

/// An event in ActionTrail's style (PascalCase, the detail as a JSON object).
fn event(e: &pb::AuditEvent) -> Value {
    let mut fields = Map::new();
    let mut put = |name: &str, value: Value| {
        fields.insert(name.to_owned(), value);
    };
    put("EventId", e.event_id.as_str().into());
    put("EventName", e.event_name.as_str().into());
    if let Some(time) = e
        .event_time
        .as_ref()
        .and_then(tessera_proto::alibaba::format_date)
    {
        put("EventTime", time.into());
    }
    put("AccountId", e.account_id.as_str().into());
    put("PrincipalArn", e.principal_arn.as_str().into());
    put("SourceIpAddress", e.source_ip_address.as_str().into());
    put("RequestId", e.request_id.as_str().into());
    put("Action", e.action.as_str().into());
    put("Resource", e.resource.as_str().into());
    put("Decision", e.decision.as_str().into());
    if !e.error_code.is_empty() {
        put("ErrorCode", e.error_code.as_str().into());
    }
    if !e.detail.is_empty() {
        let detail = serde_json::from_str(&e.detail).unwrap_or_else(|_| e.detail.as_str().into());
        put("Detail", detail);
    }
    Value::Object(fields)
}
