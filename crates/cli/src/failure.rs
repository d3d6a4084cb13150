//! How a command fails, and the exit status each failure maps to.

use std::io;

use crate::console::Console;

/// Exit status for a command that could not complete (e.g. its output could not be written).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for invalid input; also what clap uses for a malformed command line.
pub const EXIT_INVALID: u8 = 2;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The input was rejected and the reasons are already on standard error.
    Rejected,
    /// Writing the command's output failed.
    Output(io::Error),
    /// The failure is already reported; exit with this status.
    Reported(u8),
}

impl Failure {
    /// Reports what is not yet reported and returns the exit status.
    pub fn report(self, console: &mut Console<'_>) -> u8 {
        match self {
            Failure::Rejected => EXIT_INVALID,
            Failure::Reported(code) => code,
            Failure::Output(e) => {
                console.diagnostic(format_args!("tessera: cannot write output: {e}"));
                EXIT_FAILURE
            }
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Output(e)
    }
}

/// What commands return.
pub type CommandResult = Result<(), Failure>;
