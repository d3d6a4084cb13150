//! `tessera policy simulate`: decide one request against policy files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use tessera_policy::{
    Context, Decision, Limits, MatchedStatement, Permissions, Policy, PolicyKind, PolicyLabel,
    PolicySet, Request, parse,
};

use super::{label, report_errors};
use crate::console::Console;
use crate::failure::{CommandResult, Failure};
use crate::input::Inputs;

/// The context key the simulation fills with the current time unless `--context` sets it.
const CURRENT_TIME: &str = "acs:CurrentTime";

/// Arguments of `tessera policy simulate`.
#[derive(Debug, Args)]
#[command(
    about = "Decide a request against policy files and explain the decision",
    long_about = "Decide whether the identity policies (and, for a role session, the session \
        policy) allow ACTION on RESOURCE in the given context, and explain the decision.\n\n\
        The policies are combined as for a user or role: any matching Deny gives ExplicitDeny, \
        otherwise a matching Allow gives Allow, otherwise ImplicitDeny. With --session-policy \
        both the identity policies and the session policy must allow, and a Deny in either wins.\n\n\
        The result is one JSON object on standard output:\n\n  \
        {\"Decision\": \"Allow\" | \"ExplicitDeny\" | \"ImplicitDeny\",\n   \
        \"MatchedStatements\": [{\"Policy\": FILE, \"Statement\": INDEX, \"Sid\": SID or null, \
        \"Effect\": \"Allow\" | \"Deny\"}, …]}\n\n\
        MatchedStatements lists the statements that decided: every matching Deny for \
        ExplicitDeny, the matching Allows (of both sides, with a session policy) for Allow, none \
        for ImplicitDeny. INDEX counts from 0 in the policy's Statement list; FILE is the path \
        as given.\n\n\
        Unless --context sets acs:CurrentTime, it is set to the current UTC time (RFC 3339, \
        whole seconds): this is the only time the command reads the clock. Other keys, such \
        as acs:SourceIp, acs:SecureTransport or acs:MFAPresent, are absent unless given.\n\n\
        Exit status: 0 whatever the decision; 2 for invalid input (an unreadable or invalid \
        policy file, reported as by `tessera policy validate`, or a malformed argument).",
    after_help = "Example:\n  tessera policy simulate --policy read-photos.json \\\n    \
        --action oss:GetObject --resource acs:oss:*:123456:photos/cat.jpg \\\n    \
        --context acs:SourceIp=192.0.2.7 --context acs:SecureTransport=true"
)]
pub struct SimulateArgs {
    /// An identity policy (custom policy) of the principal; repeat for several (`-` reads
    /// standard input)
    #[arg(long = "policy", value_name = "FILE", required = true)]
    pub policies: Vec<PathBuf>,

    /// A session policy (the `Policy` of AssumeRole, at most 2048 characters) that narrows the
    /// identity policies
    #[arg(long, value_name = "FILE")]
    pub session_policy: Option<PathBuf>,

    /// The action requested, `<service>:<action>` (matched case-insensitively)
    #[arg(long, value_name = "ACTION", value_parser = NonEmptyStringValueParser::new())]
    pub action: String,

    /// The resource ARN requested, e.g. acs:oss:*:123456:photos/cat.jpg
    #[arg(long, value_name = "ARN", value_parser = NonEmptyStringValueParser::new())]
    pub resource: String,

    /// A condition key and one of its values; repeat a key for several values (a multi-valued
    /// key, for ForAnyValue:/ForAllValues:). The value is everything after the first `=`.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_context_pair)]
    pub context: Vec<(String, String)>,
}

/// Parses `KEY=VALUE`; the value is everything after the first `=` and may be empty.
pub(crate) fn parse_context_pair(arg: &str) -> Result<(String, String), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err("expected KEY=VALUE, e.g. acs:SourceIp=192.0.2.7".into());
    };
    if key.is_empty() {
        return Err("the condition key before `=` must not be empty".into());
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the condition key \"{}\" must not contain whitespace",
            key.escape_debug()
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

pub fn run(args: &SimulateArgs, console: &mut Console<'_>) -> CommandResult {
    let limits = Limits::default();
    let mut inputs = Inputs::new();
    let mut valid = true;
    let mut load = |path: &Path, kind: PolicyKind| -> Option<(String, Policy)> {
        let file = label(path);
        let text = match inputs.read(path) {
            Ok(text) => text,
            Err(reason) => {
                console.diagnostic(format_args!("{file}: {reason}"));
                valid = false;
                return None;
            }
        };
        match parse(&text, kind, &limits) {
            Ok(parsed) => Some((file, parsed.policy)),
            Err(errors) => {
                report_errors(console, &file, &errors);
                valid = false;
                None
            }
        }
    };
    // Load every file before giving up, so that one run reports every problem.
    let identity: Vec<_> = args
        .policies
        .iter()
        .filter_map(|path| load(path, PolicyKind::Identity))
        .collect();
    let session = args
        .session_policy
        .as_deref()
        .and_then(|path| load(path, PolicyKind::Session));
    if !valid {
        return Err(Failure::Rejected);
    }

    let identity_set = PolicySet::new(
        identity
            .iter()
            .map(|(file, policy)| (PolicyLabel::new(file.as_str()), policy)),
    );
    let session_set = session
        .as_ref()
        .map(|(file, policy)| PolicySet::new([(PolicyLabel::new(file.as_str()), policy)]));
    let permissions = Permissions::new(&identity_set, session_set.as_ref());

    let mut context: Context = args.context.iter().cloned().collect();
    if context.get(CURRENT_TIME).is_empty() {
        context.insert(CURRENT_TIME, &now_rfc3339());
    }
    let request = Request::new(&args.action, &args.resource, &context);
    let mut matches = Vec::new();
    let decision = permissions.explain(&request, &mut matches);
    let described: Vec<MatchedStatement<'_>> = matches
        .into_iter()
        .filter_map(|m| permissions.describe(m))
        .collect();

    let out = console.out();
    out.write_all(render(decision, &described).as_bytes())?;
    console.flush_out()?;
    Ok(())
}

/// The current UTC time as RFC 3339 with whole seconds, e.g. `2026-05-01T12:00:00Z`.
fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The result object, keys in a fixed order, one matched statement per line.
fn render(decision: Decision, matched: &[MatchedStatement<'_>]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{{");
    let _ = writeln!(s, "  \"Decision\": {},", json_string(decision.as_str()));
    if matched.is_empty() {
        let _ = writeln!(s, "  \"MatchedStatements\": []");
    } else {
        let _ = writeln!(s, "  \"MatchedStatements\": [");
        for (i, m) in matched.iter().enumerate() {
            let sid = m.sid.map_or_else(|| "null".to_owned(), json_string);
            let comma = if i + 1 < matched.len() { "," } else { "" };
            let _ = writeln!(
                s,
                "    {{\"Policy\": {}, \"Statement\": {}, \"Sid\": {sid}, \"Effect\": {}}}{comma}",
                json_string(&m.policy.name),
                m.statement,
                json_string(m.effect.as_str()),
            );
        }
        let _ = writeln!(s, "  ]");
    }
    let _ = writeln!(s, "}}");
    s
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::parse_context_pair;

    #[test]
    fn context_pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_context_pair("acs:UserAgent=a=b"),
            Ok(("acs:UserAgent".into(), "a=b".into()))
        );
        assert_eq!(
            parse_context_pair("acs:Referer="),
            Ok(("acs:Referer".into(), String::new()))
        );
        assert!(parse_context_pair("acs:SourceIp").is_err());
        assert!(parse_context_pair("=1").is_err());
        assert!(parse_context_pair("acs: x=1").is_err());
    }
}
