//! Reading documents named on the command line: a path, or `-` for standard input.

use std::io::Read;
use std::path::Path;

/// Reads the documents of one command run; standard input can be read once.
#[derive(Debug, Default)]
pub struct Inputs {
    stdin_taken: bool,
}

impl Inputs {
    pub fn new() -> Self {
        Inputs::default()
    }

    /// The text of `path` (`-` is standard input), or why it cannot be read, ready to print
    /// after `FILE: `.
    pub fn read(&mut self, path: &Path) -> Result<String, String> {
        let bytes = if path == Path::new("-") {
            if self.stdin_taken {
                return Err("standard input can be read only once".into());
            }
            self.stdin_taken = true;
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| e.to_string())?;
            bytes
        } else {
            std::fs::read(path).map_err(|e| e.to_string())?
        };
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "not valid UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })
    }
}
