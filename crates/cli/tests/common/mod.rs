//! Helpers shared by the integration tests: a scratch directory and a way to run `tessera`.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Environment variables that would leak the developer's own settings into a run.
pub const AMBIENT: [&str; 6] = [
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "TESSERA_PROFILE",
    "TESSERA_ENDPOINT",
    "TESSERA_PASSWORD",
];

/// A directory of its own for one test, removed when dropped. The binary runs inside it, so
/// files can be named relatively and diagnostics show exactly those names.
pub struct Scratch {
    dir: PathBuf,
    keep: bool,
}

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "tessera-cli-test-{}-{test}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch { dir, keep: false }
    }

    /// A handle on an existing scratch directory that does not remove it when dropped.
    pub fn at(dir: PathBuf) -> Scratch {
        Scratch { dir, keep: true }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `text` to `name` inside the scratch directory.
    pub fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.dir.join(name), text).expect("write scratch file");
        self
    }

    /// Runs `tessera ARGS` in the scratch directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    /// Runs `tessera ARGS` in the scratch directory with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_env(args, &[], stdin)
    }

    /// The home directory runs get with [`Scratch::run_env`] (`<scratch>/home`).
    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    /// Runs `tessera ARGS` in the scratch directory with `HOME` = [`Scratch::home`], none of
    /// the developer's own `ALIBABA_CLOUD_*`/`TESSERA_*` settings, `env` set, and `stdin`.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
        for name in AMBIENT {
            command.env_remove(name);
        }
        let mut child = command
            .env("HOME", self.home())
            .envs(env.iter().copied())
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tessera");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let output = child.wait_with_output().expect("wait for tessera");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a run of `tessera` produced.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The lines of standard error.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// Standard error parsed as one JSON value (the error object of a remote command).
    pub fn error(&self) -> serde_json::Value {
        serde_json::from_str(&self.stderr)
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {:?}", self.stderr))
    }

    /// Standard output parsed as one JSON value.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }
}

/// Runs `tessera ARGS` in no particular directory (for commands that read no files).
pub fn tessera(args: &[&str]) -> Run {
    Scratch::new("no-files").run(args)
}
