//! The command-line grammar (clap derive). Each command's arguments live next to its code.

use clap::{Parser, Subcommand};

use crate::commands::policy::PolicyArgs;

/// The top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    propagate_version = true,
    about = "Command-line tool for Tessera, a self-hosted RAM/STS-style authorization service",
    long_about = "Command-line tool for Tessera, a self-hosted RAM/STS-style authorization service.\n\n\
        The `policy` commands work offline: they validate policy documents and simulate \
        authorization decisions with the same engine the server uses, without contacting a server.",
    after_help = EXIT_STATUS,
    after_long_help = EXIT_STATUS
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The exit statuses shared by every command.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success (for `policy simulate`: whatever the decision)
  1  the command could not complete (e.g. writing its output failed)
  2  invalid input: a bad argument, an unreadable file or an invalid policy document";

#[derive(Debug, Subcommand)]
pub enum Command {
    // No doc comments on variants: they would replace the `about`/`long_about` of the
    // argument structs, which carry each command's help.
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
