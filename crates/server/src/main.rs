//! The `tesserad` binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_server::config::Telemetry;
use tessera_server::{Config, ConfigError, Overrides, telemetry};

/// Every request allocates (messages, headers, decision contexts); glibc's malloc spent about
/// 2 µs of each cached `Authorize` in its slow paths, mimalloc a fraction of that
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Where the settings come from, lowest first: defaults, the TOML file of --config,
/// TESSERA_* environment variables (TESSERA_LISTEN, TESSERA_DATA_DIR, TESSERA_DATABASE_URL,
/// TESSERA_MASTER_KEY, TESSERA_OPERATOR_ACCESS_KEY_ID/_SECRET, TESSERA_REQUEST_TIMEOUT_MS,
/// TESSERA_MAX_CONCURRENT_REQUESTS, TESSERA_RATE_LIMITS, TESSERA_LOG_FORMAT, …), these flags.
#[derive(Debug, clap::Args)]
struct Settings {
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
    /// A TOML file with the settings (see deploy/tesserad.example.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl Settings {
    fn load(self) -> Result<Config, ConfigError> {
        let overrides = Overrides {
            listen: self.listen,
            data_dir: self.data_dir,
            database_url: self.database_url,
        };
        Config::load(self.config.as_deref(), &overrides)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC and HTTP on one port until SIGTERM or Ctrl-C.
    Serve {
        #[command(flatten)]
        settings: Settings,
    },
    /// Print the effective configuration (secrets redacted) and exit; on an invalid
    /// configuration print the error and exit non-zero.
    CheckConfig {
        #[command(flatten)]
        settings: Settings,
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
    let args = Args::parse();
    match args.command {
        Command::Serve { settings } => {
            let config = match settings.load() {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("tesserad: invalid {error}");
                    return ExitCode::FAILURE;
                }
            };
            let telemetry = match telemetry::init(&config.telemetry) {
                Ok(guard) => guard,
                Err(error) => {
                    eprintln!("tesserad: {error}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(
                otlp_traces = telemetry.exporting(),
                metrics = config.telemetry.metrics,
                "telemetry ready"
            );
            let code = serve(config).await;
            drop(telemetry);
            code
        }
        Command::CheckConfig { settings } => check_config(settings),
        Command::Migrate { database_url } => {
            let _telemetry = match telemetry::init(&Telemetry::default()) {
                Ok(guard) => guard,
                Err(error) => {
                    eprintln!("tesserad: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match tessera_server::migrate(&database_url).await {
                Ok(revision) => {
                    tracing::info!(revision = revision.0, "database is up to date");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    tracing::error!(%error, "migration failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `tesserad check-config`: the effective configuration on stdout, or the error on stderr. TLS
/// files, when configured, are loaded too (a missing or malformed certificate is the usual
/// mistake).
fn check_config(settings: Settings) -> ExitCode {
    let checked = settings.load().and_then(|config| {
        if let Some(files) = &config.tls {
            tessera_server::tls::acceptor(files)
                .map_err(|e| ConfigError::Invalid(format!("TLS: {e}")))?;
        }
        config.redacted_toml()
    });
    match checked {
        Ok(text) => {
            println!("# tesserad: effective configuration (secrets redacted)");
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tesserad: invalid {error}");
            ExitCode::FAILURE
        }
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
