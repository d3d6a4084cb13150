//! One module per top-level command.

pub mod api;
pub mod audit;
pub mod authorize;
pub mod configure;
pub mod login;
pub mod operator;
pub mod policy;

use tessera_proto::alibaba::Api;

use crate::cli::Command;
use crate::console::Console;
use crate::failure::{CommandResult, EXIT_FAILURE, Failure};
use crate::session::Globals;

/// Runs a parsed command.
pub fn run(command: Command, globals: Globals, console: &mut Console<'_>) -> CommandResult {
    match command {
        Command::Policy(args) => policy::run(args, console),
        Command::Configure(args) => configure::run(&args, &globals, console),
        remote => {
            // One call (or two) per run: a single-threaded runtime is plenty.
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    console.diagnostic(format_args!("tessera: cannot start: {e}"));
                    return Err(Failure::Reported(EXIT_FAILURE));
                }
            };
            runtime.block_on(run_remote(remote, globals, console))
        }
    }
}

async fn run_remote(
    command: Command,
    globals: Globals,
    console: &mut Console<'_>,
) -> CommandResult {
    match command {
        Command::Ram(args) => api::run(Api::Ram, args, globals, console).await,
        Command::Sts(args) => api::run(Api::Sts, args, globals, console).await,
        Command::Operator(args) => operator::run(args, &globals, console).await,
        Command::Audit(args) => audit::run(args, &globals, console).await,
        Command::Authorize(args) => authorize::run(&args, &globals, console).await,
        Command::Login(args) => login::run(&args, &globals, console).await,
        Command::Policy(args) => policy::run(args, console),
        Command::Configure(args) => configure::run(&args, &globals, console),
    }
}

/// Awaits `call`. When it takes more than a second and standard error is a terminal, a line
/// there counts the seconds (`tessera: waiting for the server… 3s`) until it ends; scripts see
/// nothing.
pub async fn with_progress<T>(call: impl std::future::Future<Output = T>) -> T {
    use std::io::{IsTerminal as _, Write as _};
    if !std::io::stderr().is_terminal() {
        return call.await;
    }
    let mut call = std::pin::pin!(call);
    let mut seconds = 0u64;
    loop {
        tokio::select! {
            out = &mut call => {
                if seconds > 0 {
                    // Erase the progress line.
                    eprint!("\r\x1b[K");
                    let _ = std::io::stderr().flush();
                }
                return out;
            }
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
                seconds += 1;
                eprint!("\rtessera: waiting for the server… {seconds}s");
                let _ = std::io::stderr().flush();
            }
        }
    }
}

/// The header carrying the request id of a call.
pub const REQUEST_ID_METADATA: &str = "x-request-id";

/// `message` in a request carrying `request_id`.
pub fn request<T>(message: T, request_id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = request_id.parse() {
        request.metadata_mut().insert(REQUEST_ID_METADATA, value);
    }
    request
}
