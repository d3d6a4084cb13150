//! `tessera`: the command-line tool of the Tessera authorization service.
//!
//! `main` only parses the command line and maps the outcome to an exit status; each command
//! lives in its own module under [`commands`].

mod cli;
mod commands;
mod console;
mod failure;
mod input;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::console::Console;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut console = Console::new(stdout.lock(), stderr.lock());
    let result = commands::run(cli.command, &mut console);
    let code = match result {
        Ok(()) => 0,
        Err(failure) => failure.report(&mut console),
    };
    console.flush();
    ExitCode::from(code)
}
