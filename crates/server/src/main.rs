//! The `tesserad` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
