//! The `tesserad` binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_server::{Config, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "tesserad",
    version,
    about = "Tessera: identity and authorization service"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC and HTTP on one port until SIGTERM or Ctrl-C.
    ///
    /// Settings come from, lowest first: defaults, the TOML file of --config, TESSERA_*
    /// environment variables (TESSERA_LISTEN, TESSERA_DATA_DIR, TESSERA_DATABASE_URL,
    /// TESSERA_MASTER_KEY, TESSERA_OPERATOR_ACCESS_KEY_ID/_SECRET, …), these flags.
    Serve {
        /// Address to listen on [default: 127.0.0.1:7733; env: TESSERA_LISTEN].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Data directory: SQLite database, master.key, operator.json [default: ./tessera-data;
        /// env: TESSERA_DATA_DIR].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// `postgres://user@host/db` or `sqlite://path?mode=rwc` [default: SQLite in the data
        /// directory; env: TESSERA_DATABASE_URL].
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// A TOML file with the settings (keys: listen, data_dir, database_url, master_key, …).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        /// `postgres://user@host/db` or `sqlite://path/to/tessera.db?mode=rwc`.
        #[arg(
            long,
            env = "TESSERA_DATABASE_URL",
            default_value = "sqlite://tessera.db?mode=rwc"
        )]
        database_url: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match args.command {
        Command::Serve {
            listen,
            data_dir,
            database_url,
            config,
        } => {
            let overrides = Overrides {
                listen,
                data_dir,
                database_url,
            };
            match Config::load(config.as_deref(), &overrides) {
                Ok(config) => serve(config).await,
                Err(error) => {
                    tracing::error!(%error, "invalid configuration");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate { database_url } => match tessera_server::migrate(&database_url).await {
            Ok(revision) => {
                tracing::info!(revision = revision.0, "database is up to date");
                ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(%error, "migration failed");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(config: Config) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(listen = %config.listen, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    match tessera_server::run(config, listener, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "tesserad failed");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT). The handlers are installed here, before the server
/// starts, not when the returned future is first polled: a SIGTERM that arrives right after the
/// "serving" log line must stop the server gracefully, not kill the process.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let term = async {
            match terminate {
                Ok(mut sigterm) => {
                    sigterm.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        let int = async {
            match interrupt {
                Ok(mut sigint) => {
                    sigint.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for Ctrl-C");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = int => tracing::info!("Ctrl-C received"),
            () = term => tracing::info!("SIGTERM received"),
        }
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C received");
    }
}
