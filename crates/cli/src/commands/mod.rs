//! One module per top-level command.

pub mod policy;

use crate::cli::Command;
use crate::console::Console;
use crate::failure::CommandResult;

/// Runs a parsed command.
pub fn run(command: Command, console: &mut Console<'_>) -> CommandResult {
    match command {
        Command::Policy(args) => policy::run(args, console),
    }
}
