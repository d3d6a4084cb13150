//! What a call authenticates with ([`Credential`]) and where it comes from
//! ([`CredentialsProvider`]).

use std::fmt;
use std::sync::Arc;

use tessera_credentials::Secret;

use crate::Error;

/// How calls prove who makes them (`docs/grpc-authentication.md`).
#[derive(Clone)]
pub enum Credential {
    /// ACS3-HMAC-SHA256 over each call's message with an access key: a long-term key, or an
    /// `STS.` key with its `security_token`.
    AccessKey {
        /// The access key id (`LTAI…`, or `STS.…` for temporary credentials).
        id: String,
        /// The access key secret; it signs, it is never sent.
        secret: Secret,
        /// The security token of temporary (`STS.`) credentials.
        security_token: Option<String>,
    },
    /// `authorization: Bearer <security token>` (a token from AssumeRole or SignIn). The
    /// token alone authenticates, so use it over TLS only.
    Bearer(String),
    /// No credential: only `Sts/SignIn` and `Sts/AssumeRoleWithOIDC` accept such calls.
    Anonymous,
}

impl Credential {
    /// A long-term access key.
    pub fn access_key(id: impl Into<String>, secret: impl AsRef<str>) -> Credential {
        Credential::AccessKey {
            id: id.into(),
            secret: Secret::from(secret.as_ref()),
            security_token: None,
        }
    }

    /// Temporary credentials: an `STS.` access key with its security token.
    pub fn sts(
        id: impl Into<String>,
        secret: impl AsRef<str>,
        security_token: impl Into<String>,
    ) -> Credential {
        Credential::AccessKey {
            id: id.into(),
            secret: Secret::from(secret.as_ref()),
            security_token: Some(security_token.into()),
        }
    }

    /// A bearer security token.
    pub fn bearer(token: impl Into<String>) -> Credential {
        Credential::Bearer(token.into())
    }

    /// The security token this credential carries (bearer or STS), if any.
    pub fn security_token(&self) -> Option<&str> {
        match self {
            Credential::AccessKey { security_token, .. } => security_token.as_deref(),
            Credential::Bearer(token) => Some(token),
            Credential::Anonymous => None,
        }
    }

    /// The access key id, if this is an access key.
    pub fn access_key_id(&self) -> Option<&str> {
        match self {
            Credential::AccessKey { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are bearer credentials: as secret as the secret.
        match self {
            Credential::AccessKey {
                id, security_token, ..
            } => f
                .debug_struct("AccessKey")
                .field("id", id)
                .field("secret", &"<redacted>")
                .field(
                    "security_token",
                    &security_token.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
            Credential::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credential::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// A source of the credential to sign the next call with. Asked once per attempt, so a
/// provider that refreshes (e.g. [`crate::AssumeRoleProvider`]) is picked up by the very next
/// call, retries included.
#[async_trait::async_trait]
pub trait CredentialsProvider: Send + Sync + 'static {
    /// The credential for the next call.
    async fn credential(&self) -> Result<Credential, Error>;
}

/// A fixed credential is its own provider.
#[async_trait::async_trait]
impl CredentialsProvider for Credential {
    async fn credential(&self) -> Result<Credential, Error> {
        Ok(self.clone())
    }
}

#[async_trait::async_trait]
impl<P: CredentialsProvider + ?Sized> CredentialsProvider for Arc<P> {
    async fn credential(&self) -> Result<Credential, Error> {
        (**self).credential().await
    }
}

/// A provider shared by every clone of a channel.
pub type SharedProvider = Arc<dyn CredentialsProvider>;

#[cfg(test)]
mod tests {
    use super::Credential;

    #[test]
    fn debug_redacts_secrets_and_tokens() {
        let shown = format!(
            "{:?} {:?}",
            Credential::sts("STS.abc", "very-secret", "the-token"),
            Credential::bearer("the-token")
        );
        assert!(shown.contains("STS.abc"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(!shown.contains("the-token"), "{shown}");
    }
}
