//! Why the server could not start or stopped with an error. Never contains secret values.

/// A start-up or serving failure.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A configuration problem (or a credential that cannot be prepared), as text.
    #[error("{0}")]
    Config(String),
    #[error("cannot {context}: {source}")]
    Store {
        context: &'static str,
        source: tessera_iam::Error,
    },
    #[error("cannot {context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(
        "the master key does not open the stored {what}: is TESSERA_MASTER_KEY (or master.key \
         in the data directory) the one this database was created with?"
    )]
    MasterKeyMismatch { what: String },
    #[error("cannot serve: {0}")]
    Serve(std::io::Error),
}

impl ServerError {
    pub(crate) fn store(context: &'static str, source: tessera_iam::Error) -> ServerError {
        ServerError::Store { context, source }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> ServerError {
        ServerError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<crate::config::ConfigError> for ServerError {
    fn from(e: crate::config::ConfigError) -> ServerError {
        ServerError::Config(e.to_string())
    }
}
