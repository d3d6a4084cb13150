//! How long a call may take ([`CallPolicy::deadline`]) and which calls are retried, how often
//! and how far apart ([`RetryPolicy`]).

use std::time::Duration;

use backon::ExponentialBuilder;

/// The deadline and retries applied to every call of a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPolicy {
    /// The deadline of a call that does not set its own (`tonic::Request::set_timeout`), from
    /// the first attempt to the last response, backoff included. The remaining time travels to
    /// the server as `grpc-timeout` with every attempt.
    pub deadline: Duration,
    /// Retries of idempotent reads.
    pub retry: RetryPolicy,
}

/// The default deadline of a call.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            deadline: DEFAULT_DEADLINE,
            retry: RetryPolicy::default(),
        }
    }
}

/// Retries of idempotent reads ([`is_idempotent`]) that failed with `UNAVAILABLE` (the server
/// said so, or the connection failed), with exponential backoff and full jitter (`backon`).
/// Each retry is a new call: signed again, with a fresh nonce and the current time.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: usize,
    /// The delay before the first retry (before jitter).
    pub min_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// The factor by which the delay grows after each retry.
    pub factor: f32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            factor: 2.0,
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The backoff of one call.
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(self.factor)
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}

/// Whether the method at `path` (`/tessera.v1.Ram/GetUser`) only reads, so that repeating it
/// cannot do anything twice: `Get*` and `List*` (GetCallerIdentity, GetJwks included),
/// `Authorize`, `BatchAuthorize`, `Simulate*` and `ValidatePolicy`. Writes are never retried:
/// an `UNAVAILABLE` write may have been applied. `Sts/SignIn` is not retried either (an MFA code
/// is accepted once).
pub fn is_idempotent(path: &str) -> bool {
    let Some((service, method)) = path.rsplit_once('/') else {
        return false;
    };
    if !service.starts_with("/tessera.v1.") {
        return false;
    }
    method.starts_with("Get")
        || method.starts_with("List")
        || method.starts_with("Simulate")
        || matches!(method, "Authorize" | "BatchAuthorize" | "ValidatePolicy")
}

#[cfg(test)]
mod tests {
    use super::is_idempotent;

    #[test]
    fn reads_are_idempotent_and_writes_are_not() {
        for read in [
            "/tessera.v1.Ram/GetUser",
            "/tessera.v1.Ram/ListUsers",
            "/tessera.v1.Ram/ListPoliciesFor",
            "/tessera.v1.Sts/GetCallerIdentity",
            "/tessera.v1.Sts/GetJwks",
            "/tessera.v1.Authorizer/Authorize",
            "/tessera.v1.Authorizer/BatchAuthorize",
            "/tessera.v1.Authorizer/SimulatePrincipalPolicy",
            "/tessera.v1.Authorizer/ValidatePolicy",
            "/tessera.v1.Operator/ListAccounts",
        ] {
            assert!(is_idempotent(read), "{read}");
        }
        for write in [
            "/tessera.v1.Ram/CreateUser",
            "/tessera.v1.Ram/DeleteUser",
            "/tessera.v1.Ram/AttachPolicy",
            "/tessera.v1.Sts/AssumeRole",
            "/tessera.v1.Sts/SignIn",
            "/tessera.v1.Operator/CreateAccount",
            "/grpc.health.v1.Health/Check",
            "GetUser",
            "",
        ] {
            assert!(!is_idempotent(write), "{write}");
        }
    }
}
