//! A real server for the CLI's tests (the server's own test harness, `TestServer`, on SQLite or
//! PostgreSQL) and a way to run the `tessera` binary against it with a home directory of its
//! own.
#![allow(dead_code)]

#[path = "../../../server/tests/support/mod.rs"]
pub mod support;

use std::time::{Duration, Instant};

pub use support::{Backend, TestServer};

use crate::common::{Run, Scratch};

/// A server and a scratch directory (the runs' working directory, with `HOME` inside).
pub struct Lab {
    pub server: TestServer,
    pub scratch: Scratch,
    pub endpoint: String,
}

impl Lab {
    pub async fn start(backend: Backend, prefix: &str) -> Lab {
        let server = TestServer::start(backend, prefix).await;
        let endpoint = format!("http://{}", server.running.addr);
        Lab {
            scratch: Scratch::new(prefix),
            server,
            endpoint,
        }
    }

    /// The server's `operator.json`.
    pub fn operator_file(&self) -> std::path::PathBuf {
        self.server.dir.path().join("data/operator.json")
    }

    /// Runs `tessera ARGS` against the server (`TESSERA_ENDPOINT`).
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[], "").await
    }

    /// Runs `tessera ARGS` with more environment and standard input.
    pub async fn run_env(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert(0, ("TESSERA_ENDPOINT".into(), self.endpoint.clone()));
        let stdin = stdin.to_owned();
        let dir = self.scratch.path().to_owned();
        // The binary blocks; the server keeps running on the runtime's other threads.
        tokio::task::spawn_blocking(move || {
            let scratch = Scratch::at(dir);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            scratch.run_env(&args, &env, &stdin)
        })
        .await
        .unwrap()
    }

    /// Runs `tessera ARGS`, expecting success; its JSON output.
    #[track_caller]
    pub fn ok(run: &Run) -> serde_json::Value {
        assert_eq!(run.code, Some(0), "{run:?}");
        run.json()
    }

    /// Runs `tessera ARGS` until it fails with `code` (an effect that reaches the server's
    /// caches through its change feed), failing the test after 10 s.
    pub async fn refused_eventually(&self, args: &[&str], code: &str) -> Run {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let run = self.run(args).await;
            if run.code != Some(0) && run.stderr.contains(&format!("\"Code\": \"{code}\"")) {
                return run;
            }
            assert!(
                Instant::now() < deadline,
                "still not refused with {code}: {run:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}
