//! The command-line grammar (clap derive). Each command's arguments live next to its code.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::api::ApiArgs;
use crate::commands::audit::AuditArgs;
use crate::commands::authorize::AuthorizeArgs;
use crate::commands::configure::ConfigureArgs;
use crate::commands::login::LoginArgs;
use crate::commands::operator::OperatorArgs;
use crate::commands::policy::PolicyArgs;

/// The top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    propagate_version = true,
    about = "Command-line tool for Tessera, a self-hosted RAM/STS-style authorization service",
    long_about = "Command-line tool for Tessera, a self-hosted RAM/STS-style authorization service.\n\n\
        `tessera ram` and `tessera sts` call RAM 2015-05-01 and STS 2015-04-01 operations with \
        Alibaba's operation and parameter names (`tessera ram CreateUser --UserName alice`) and \
        print Alibaba's response JSON, as the aliyun CLI does. `tessera operator` manages \
        tenant accounts, `tessera audit LookupEvents` reads the account's audit trail, \
        `tessera authorize` asks for a decision, `tessera login` signs a RAM \
        user in, and `tessera configure` keeps credentials in profiles \
        (~/.tessera/config.json).\n\n\
        The `policy` commands work offline: they validate policy documents and simulate \
        authorization decisions with the same engine the server uses, without contacting a \
        server.\n\n\
        Credentials, first found wins: --access-key-id/--access-key-secret[/--security-token] on \
        the command line; the profile named by --profile (or TESSERA_PROFILE); the environment \
        (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, \
        ALIBABA_CLOUD_SECURITY_TOKEN; a security token alone is sent as a bearer token); the \
        current profile of ~/.tessera/config.json. The endpoint: --endpoint (or \
        TESSERA_ENDPOINT), else the profile's, else http://127.0.0.1:7733.\n\n\
        Errors of commands that call the server are one JSON object on standard error: \
        {\"Code\": ..., \"Message\": ..., \"RequestId\": ...}.",
    after_help = EXIT_STATUS,
    after_long_help = EXIT_STATUS
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the command name.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The server: http://HOST:PORT or https://HOST:PORT [default: the profile's, else
    /// http://127.0.0.1:7733]
    #[arg(long, global = true, env = "TESSERA_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// The profile of ~/.tessera/config.json to use (for `configure set`: to write)
    #[arg(long, global = true, env = "TESSERA_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// An access key id (with --access-key-secret), instead of a profile
    #[arg(
        long,
        global = true,
        env = "ALIBABA_CLOUD_ACCESS_KEY_ID",
        value_name = "ID"
    )]
    pub access_key_id: Option<String>,

    /// The access key secret of --access-key-id
    #[arg(
        long,
        global = true,
        env = "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub access_key_secret: Option<String>,

    /// The security token of temporary (STS.) credentials; alone, it is sent as a bearer token
    #[arg(
        long,
        global = true,
        env = "ALIBABA_CLOUD_SECURITY_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub security_token: Option<String>,

    /// How results are printed
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Json)]
    pub output: OutputFormat,

    /// Print only the value at PATH of the result, e.g. `AccessKey.AccessKeyId` or
    /// `Users.User[0].UserName`: a string as plain text (for shell variables), anything else
    /// as --output says
    #[arg(long, global = true, value_name = "PATH")]
    pub query: Option<String>,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The JSON object of the result (Alibaba's response shape for ram/sts)
    Json,
    /// A text table: the rows of the result's list, or one field per row
    Table,
}

/// The exit statuses shared by every command.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success (for `policy simulate`: whatever the decision; for `authorize`: allowed)
  1  the command could not complete: the server refused or failed the call (the error is on
     standard error), or writing the output failed; for `authorize`: denied
  2  invalid input: a bad argument, an unreadable file, an invalid policy document, missing
     credentials or configuration; for `authorize`: any error";

#[derive(Debug, Subcommand)]
pub enum Command {
    // No doc comments on variants: they would replace the `about`/`long_about` of the
    // argument structs, which carry each command's help.
    #[command(about = crate::commands::api::RAM_ABOUT)]
    Ram(ApiArgs),
    #[command(about = crate::commands::api::STS_ABOUT)]
    Sts(ApiArgs),
    Operator(OperatorArgs),
    Audit(AuditArgs),
    Authorize(AuthorizeArgs),
    Login(LoginArgs),
    Configure(ConfigureArgs),
    Policy(PolicyArgs),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_grammar_is_consistent() {
        Cli::command().debug_assert();
    }
}
