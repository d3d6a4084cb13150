//! One module per top-level command.

pub mod api;
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

async fn run_remote(command: Command, globals: Globals, console: &mut Console<'_>) -> CommandResult {
    match command {
        Command::Ram(args) => api::run(Api::Ram, args, globals, console).await,
        Command::Sts(args) => api::run(Api::Sts, args, globals, console).await,
        Command::Operator(args) => operator::run(args, &globals, console).await,
        Command::Authorize(args) => authorize::run(&args, &globals, console).await,
        Command::Login(args) => login::run(&args, &globals, console).await,
        Command::Policy(args) => policy::run(args, console),
        Command::Configure(args) => configure::run(&args, &globals, console),
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
