//! `tessera ram <Operation> --<Param> <value>...` and `tessera sts <Operation> ...`: RAM
//! 2015-05-01 and STS 2015-04-01 operations by Alibaba's names, through the one mapping of
//! `tessera_proto::alibaba`, printing Alibaba's response JSON (plus `RequestId`).

use clap::Args;
use serde_json::Value;
use tessera_proto::alibaba::{self, Api, Params};

use crate::console::Console;
use crate::failure::{CommandResult, EXIT_INVALID, Failure};
use crate::output::{self, Problem, new_request_id};
use crate::remote::{RamForward, StsForward};
use crate::session::{self, Globals};

/// Arguments of `tessera ram` and `tessera sts`. The help flag is handled here, not by clap:
/// `tessera ram CreateUser --help` is the operation's help.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct ApiArgs {
    /// The operation by Alibaba's name (e.g. CreateUser), then its parameters as `--Name
    /// VALUE` or `--Name=VALUE` with Alibaba's names (global options may be mixed in);
    /// `OPERATION --help` shows the operation's parameters
    #[arg(
        value_name = "OPERATION [--Name VALUE]",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..
    )]
    pub args: Vec<String>,
}

/// The `about` of `tessera ram`.
pub const RAM_ABOUT: &str =
    "Call a RAM 2015-05-01 operation: tessera ram CreateUser --UserName alice";
/// The `about` of `tessera sts`.
pub const STS_ABOUT: &str =
    "Call an STS 2015-04-01 operation: tessera sts AssumeRole --RoleArn ARN --RoleSessionName S";

/// The long help of `tessera ram`/`tessera sts`: the grammar and every operation.
pub fn long_about(api: Api) -> String {
    let (name, example) = match api {
        Api::Ram => (
            "RAM",
            "tessera ram CreateGroup --GroupName oss-readonly-lab-group",
        ),
        Api::Sts => (
            "STS",
            "tessera sts AssumeRole --RoleArn acs:ram::1234567890123456:role/reader \
             --RoleSessionName me",
        ),
    };
    format!(
        "Call a {name} {version} operation with Alibaba's operation and parameter names, as \
         the aliyun CLI does, and print the response as Alibaba's API returns it (with a \
         RequestId):\n\n  {example}\n\n\
         Parameters are `--Name VALUE` or `--Name=VALUE` (a value starting with `--` needs \
         the `=` form). `tessera {cmd} OPERATION --help` lists the operation's parameters \
         (required and optional, with their kinds), by Alibaba's names. \
         Errors are {{\"Code\", \"Message\", \"RequestId\"}} on standard error with exit \
         status 1.\n\nOperations:\n{ops}",
        version = api.version(),
        cmd = api.product().to_lowercase(),
        ops = columns(api.actions()),
    )
}

/// The long help of `tessera ram` (or `sts`) as clap renders it.
fn api_help(api: Api) -> String {
    let mut command = crate::command();
    command.build();
    let name = api.product().to_lowercase();
    command
        .find_subcommand_mut(&name)
        .map(|c| c.render_long_help().to_string())
        .unwrap_or_default()
}

/// The names in rows of three.
fn columns(names: &[&str]) -> String {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0) + 2;
    names
        .chunks(3)
        .map(|row| {
            let line: String = row.iter().map(|n| format!("{n:<width$}")).collect();
            format!("  {}\n", line.trim_end())
        })
        .collect()
}

/// What the parameter list asked for.
enum Parsed {
    Call(Params),
    Help,
}

/// Splits `--Name VALUE` pairs, applying global options typed among them.
fn parse_params(args: &[String], globals: &mut Globals) -> Result<Parsed, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut tokens = args.iter().peekable();
    while let Some(token) = tokens.next() {
        if token == "--help" || token == "-h" {
            return Ok(Parsed::Help);
        }
        let Some(flag) = token.strip_prefix("--") else {
            return Err(format!(
                "unexpected {token:?}: parameters are --Name VALUE pairs"
            ));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, value.to_owned()),
            None => {
                let takes_value = tokens.peek().is_some_and(|next| !looks_like_option(next));
                match tokens.next() {
                    Some(value) if takes_value => (flag, value.clone()),
                    _ => return Err(format!("--{flag} needs a value")),
                }
            }
        };
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
                return Err(format!("--{name} is not a parameter name"));
            }
            if pairs.iter().any(|(k, _)| k == name) {
                return Err(format!("--{name} is given twice"));
            }
            pairs.push((name.to_owned(), value));
        } else if !globals.apply(name, &value)? {
            return Err(format!(
                "unknown option --{name}: parameters have Alibaba's names, e.g. --UserName"
            ));
        }
    }
    Ok(Parsed::Call(Params::new(pairs)))
}

/// `--Name` or `--name`: the start of another option rather than a value.
fn looks_like_option(token: &str) -> bool {
    token
        .strip_prefix("--")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic()))
}

pub async fn run(
    api: Api,
    args: ApiArgs,
    mut globals: Globals,
    console: &mut Console<'_>,
) -> CommandResult {
    let Some((operation, params)) = args.args.split_first() else {
        // `tessera ram` alone: a usage error, as clap reports them.
        let cmd = api.product().to_lowercase();
        console.diagnostic(format_args!(
            "error: the operation is missing\n\nUsage: tessera {cmd} OPERATION [--Name VALUE]...\n\n\
             `tessera {cmd} --help` lists the operations."
        ));
        return Err(Failure::Reported(EXIT_INVALID));
    };
    if operation == "--help" || operation == "-h" {
        console.out().write_all(api_help(api).as_bytes())?;
        console.flush_out()?;
        return Ok(());
    }
    let operation = operation.as_str();
    let params = match parse_params(params, &mut globals) {
        Ok(Parsed::Call(params)) => params,
        Ok(Parsed::Help) => return operation_help(api, operation, console).await,
        Err(message) => {
            return Err(Problem::local("InvalidParameter", message).report(console));
        }
    };
    if !api.actions().contains(&operation) {
        return Err(unknown_operation(api, operation).report(console));
    }
    // The token is AssumeRoleWithOIDC's credential: it needs no profile and sends none.
    let target = if api == Api::Sts && operation == "AssumeRoleWithOIDC" {
        session::endpoint_only(&globals).map(|endpoint| session::Target {
            endpoint,
            identity: session::Identity::Fixed(tessera_client::Credential::Anonymous),
        })
    } else {
        session::resolve(&globals)
    }
    .map_err(|p| p.report(console))?;
    let client = target.connect().await.map_err(|p| p.report(console))?;
    let transport = crate::remote::signed(client.channel().clone());
    let request_id = new_request_id();
    let template = || crate::commands::request((), &request_id);
    let (ram, sts) = (
        RamForward::new(transport.clone()),
        StsForward::new(transport),
    );
    let result = crate::commands::with_progress(async {
        match api {
            Api::Ram => alibaba::call_ram(&ram, operation, &params, template).await,
            Api::Sts => alibaba::call_sts(&sts, operation, &params, template).await,
        }
    })
    .await;
    match result {
        Ok(mut value) => {
            if let Value::Object(fields) = &mut value {
                fields.insert("RequestId".into(), request_id.into());
            }
            output::print(console, &globals.args, &value)
        }
        Err(status) => Err(Problem::from_status(&status, Some(&request_id)).report(console)),
    }
}

fn unknown_operation(api: Api, operation: &str) -> Problem {
    let product = api.product().to_uppercase();
    let similar = api
        .actions()
        .iter()
        .find(|a| a.eq_ignore_ascii_case(operation))
        .map(|a| format!(" (did you mean {a}?)"))
        .unwrap_or_default();
    Problem::local(
        "InvalidAction.NotFound",
        format!(
            "{product} has no operation {operation:?}{similar}; `tessera {} --help` lists them",
            api.product().to_lowercase()
        ),
    )
}

/// `tessera ram OPERATION --help`: what the operation is and every parameter it takes, from
/// the operation table itself (`tessera_proto::alibaba::parameters`).
async fn operation_help(api: Api, operation: &str, console: &mut Console<'_>) -> CommandResult {
    if !api.actions().contains(&operation) {
        return Err(unknown_operation(api, operation).report(console));
    }
    let cmd = api.product().to_lowercase();
    let parameters = alibaba::parameters(&cmd, operation).unwrap_or_default();
    let width = parameters
        .iter()
        .map(|p| p.name.len() + 2)
        .max()
        .unwrap_or(0);
    let list = |required: bool| -> String {
        let lines: Vec<String> = parameters
            .iter()
            .filter(|p| p.required == required)
            .map(|p| {
                format!(
                    "  {:width$}  {}",
                    format!("--{}", p.name),
                    p.kind.as_str(),
                    width = width
                )
            })
            .collect();
        if lines.is_empty() {
            "  none".to_owned()
        } else {
            lines.join("\n")
        }
    };
    let text = format!(
        "The {product} {version} operation {operation}.\n\n\
         Usage: tessera {cmd} {operation} [--Name VALUE]... [OPTIONS]\n\n\
         Required parameters:\n{required}\n\n\
         Optional parameters:\n{optional}\n\n\
         Names and rules are those of Alibaba's {product} API reference for {operation}. The \
         result is the operation's response as Alibaba's API returns it, with a RequestId. \
         Errors are {{\"Code\", \"Message\", \"RequestId\"}} on standard error, exit status \
         1. `tessera --help` describes the global options.\n",
        product = api.product().to_uppercase(),
        version = api.version(),
        required = list(true),
        optional = list(false),
    );
    console.out().write_all(text.as_bytes())?;
    console.flush_out()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _};

    use super::{Parsed, parse_params};
    use crate::cli::{Cli, OutputFormat};
    use crate::session::Globals;

    fn globals() -> Globals {
        let matches = Cli::command().get_matches_from(["tessera", "policy", "validate", "x"]);
        let cli = Cli::from_arg_matches(&matches).unwrap();
        Globals::new(cli.global, &matches)
    }

    fn params(args: &[&str]) -> Result<Vec<(String, String)>, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let mut globals = globals();
        match parse_params(&args, &mut globals)? {
            Parsed::Call(p) => Ok(p
                .names()
                .map(|n| (n.to_owned(), p.get(n).unwrap_or_default().to_owned()))
                .collect()),
            Parsed::Help => Ok(vec![("help".into(), String::new())]),
        }
    }

    #[test]
    fn parameters_are_name_value_pairs() {
        assert_eq!(
            params(&[
                "--UserName",
                "alice",
                "--Comments=--x",
                "--DisplayName",
                "-1"
            ])
            .unwrap(),
            vec![
                ("UserName".into(), "alice".into()),
                ("Comments".into(), "--x".into()),
                ("DisplayName".into(), "-1".into()),
            ]
        );
        assert_eq!(params(&["--UserName", "a", "--help"]).unwrap()[0].0, "help");
        assert!(
            params(&["--UserName"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            params(&["--UserName", "--Comments", "x"])
                .unwrap_err()
                .contains("--UserName needs a value")
        );
        assert!(params(&["alice"]).unwrap_err().contains("unexpected"));
        assert!(
            params(&["--user-name", "x"])
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(
            params(&["--A", "1", "--A", "2"])
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn global_options_may_follow_the_operation() {
        let args: Vec<String> = ["--UserName", "a", "--output", "table", "--profile", "p"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut globals = globals();
        let Ok(Parsed::Call(params)) = parse_params(&args, &mut globals) else {
            panic!("parsed")
        };
        assert_eq!(params.get("UserName"), Some("a"));
        assert_eq!(globals.args.output, OutputFormat::Table);
        assert_eq!(globals.args.profile.as_deref(), Some("p"));
        assert!(globals.typed.profile);
    }
}
