//! `tessera`: the command-line tool of the Tessera authorization service.
//!
//! `main` only parses the command line and maps the outcome to an exit status; each command
//! lives in its own module under [`commands`].

mod cli;
mod commands;
mod config;
mod console;
mod failure;
mod input;
mod output;
mod remote;
mod session;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};
use tessera_proto::alibaba::Api;

use crate::cli::Cli;
use crate::console::Console;
use crate::session::Globals;

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let globals = Globals::new(cli.global, &matches);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut console = Console::new(stdout.lock(), stderr.lock());
    let result = commands::run(cli.command, globals, &mut console);
    let code = match result {
        Ok(()) => 0,
        Err(failure) => failure.report(&mut console),
    };
    console.flush();
    ExitCode::from(code)
}

/// The grammar, with the help of `ram` and `sts` listing their operations (known at run time,
/// from the Alibaba mapping).
fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("ram", |c| c.long_about(commands::api::long_about(Api::Ram)))
        .mut_subcommand("sts", |c| c.long_about(commands::api::long_about(Api::Sts)))
}
