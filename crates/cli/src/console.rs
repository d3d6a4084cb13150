//! Where commands write: standard output for results, standard error for diagnostics.
//!
//! Commands write through a [`Console`] rather than `println!`, so that a closed pipe is an
//! error they return instead of a panic, and so that their output can be captured in tests.

use std::io::{self, Write};

/// The output and error streams of one command run.
pub struct Console<'a> {
    out: Box<dyn Write + 'a>,
    err: Box<dyn Write + 'a>,
}

impl std::fmt::Debug for Console<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl<'a> Console<'a> {
    pub fn new(out: impl Write + 'a, err: impl Write + 'a) -> Self {
        Console {
            out: Box::new(io::BufWriter::new(out)),
            err: Box::new(err),
        }
    }

    /// The stream for a command's result (what scripts read).
    pub fn out(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    /// Writes one diagnostic line to standard error. A failure to write a diagnostic is
    /// ignored: there is nowhere left to report it, and the exit status still tells.
    pub fn diagnostic(&mut self, line: std::fmt::Arguments<'_>) {
        let _ = writeln!(self.err, "{line}");
    }

    /// Flushes both streams, ignoring errors (see [`Console::diagnostic`]).
    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }

    /// Flushes standard output, reporting failure: call it before claiming success.
    pub fn flush_out(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
