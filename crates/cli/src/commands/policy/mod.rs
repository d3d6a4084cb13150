//! `tessera policy`: offline validation and simulation of policy documents.

mod simulate;
mod validate;

use std::fmt;
use std::path::Path;

use clap::{Args, Subcommand};
use tessera_policy::{Parsed, PolicyErrors};

use crate::console::Console;
use crate::failure::CommandResult;

pub use simulate::SimulateArgs;
pub(crate) use simulate::parse_context_pair;
pub use validate::ValidateArgs;

/// Arguments of `tessera policy`.
#[derive(Debug, Args)]
#[command(
    about = "Validate policy documents and simulate decisions, offline",
    long_about = "Validate policy documents and simulate authorization decisions, offline.\n\n\
        These commands use Tessera's policy engine directly and never contact a server. \
        Diagnostics go to standard error, one per line, as\n\n  \
        FILE:LINE:COLUMN: CODE: MESSAGE              (an error)\n  \
        FILE:LINE:COLUMN: warning: CODE: MESSAGE     (a warning)\n\n\
        where LINE and COLUMN are 1-based and count characters, and CODE is the RAM error code \
        (MalformedPolicyDocument, InvalidParameter.PolicyDocument.Length, …) or a warning code \
        (OverlyPermissive, …). FILE `-` reads standard input."
)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    Validate(ValidateArgs),
    Simulate(SimulateArgs),
}

pub fn run(args: PolicyArgs, console: &mut Console<'_>) -> CommandResult {
    match args.command {
        PolicyCommand::Validate(args) => validate::run(&args, console),
        PolicyCommand::Simulate(args) => simulate::run(&args, console),
    }
}

/// A file name as diagnostics show it.
fn label(path: &Path) -> String {
    path.display().to_string()
}

/// Writes one `FILE:LINE:COLUMN: CODE: MESSAGE` line per error.
fn report_errors(console: &mut Console<'_>, file: &str, errors: &PolicyErrors) {
    for e in errors {
        console.diagnostic(format_args!(
            "{file}:{}:{}: {}: {}",
            e.position.line,
            e.position.column,
            e.code.as_str(),
            OneLine(&e.message)
        ));
    }
}

/// Writes one `FILE:LINE:COLUMN: warning: CODE: MESSAGE` line per warning.
fn report_warnings(console: &mut Console<'_>, file: &str, parsed: &Parsed) {
    for w in &parsed.warnings {
        console.diagnostic(format_args!(
            "{file}:{}:{}: warning: {}: {}",
            w.position.line,
            w.position.column,
            w.code.as_str(),
            OneLine(&w.message)
        ));
    }
}

/// Displays a message on one line: some engine messages quote a snippet of the document,
/// which may span lines; each line break (with the indentation around it) becomes one space,
/// so that every diagnostic stays a single line for scripts.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.0.lines();
        if let Some(first) = lines.next() {
            f.write_str(first.trim_end())?;
        }
        for line in lines {
            let line = line.trim();
            if !line.is_empty() {
                f.write_str(" ")?;
                f.write_str(line)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::OneLine;

    #[test]
    fn multi_line_messages_become_one_line() {
        let message = "Version must be the string \"1\", not {\n    \"a\": 1\r\n  }";
        assert_eq!(
            OneLine(message).to_string(),
            "Version must be the string \"1\", not { \"a\": 1 }"
        );
        assert_eq!(OneLine("plain").to_string(), "plain");
        assert_eq!(OneLine("").to_string(), "");
    }
}
