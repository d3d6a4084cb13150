//! `Debug` for the messages that carry secrets (build.rs skips their derived `Debug`): every
//! field is printed except the secret ones, which print `<redacted>` (or `""` when empty, so a
//! missing value is still visible).

use std::fmt;

use crate::v1::*;

struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("<redacted>")
        }
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("kind", &self.kind)
            .field("source_ip", &self.source_ip)
            .field("secure_transport", &self.secure_transport)
            .finish()
    }
}

impl fmt::Debug for subject::Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            subject::Kind::SecurityToken(token) => f
                .debug_tuple("SecurityToken")
                .field(&Redacted(token))
                .finish(),
            // The signature in it proves one request once; the request is not a secret.
            subject::Kind::SignedRequest(request) => {
                f.debug_tuple("SignedRequest").field(request).finish()
            }
            subject::Kind::PrincipalArn(arn) => f.debug_tuple("PrincipalArn").field(arn).finish(),
        }
    }
}

impl fmt::Debug for CreateAccountResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateAccountResponse")
            .field("account", &self.account)
            .field("root_access_key_id", &self.root_access_key_id)
            .field(
                "root_access_key_secret",
                &Redacted(&self.root_access_key_secret),
            )
            .finish()
    }
}

impl fmt::Debug for CreateAccessKeyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateAccessKeyResponse")
            .field("access_key", &self.access_key)
            .field("access_key_secret", &Redacted(&self.access_key_secret))
            .field("revision", &self.revision)
            .finish()
    }
}

impl fmt::Debug for LoginProfileRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginProfileRequest")
            .field("user_name", &self.user_name)
            .field("password", &Redacted(&self.password))
            .field("password_reset_required", &self.password_reset_required)
            .field("mfa_bind_required", &self.mfa_bind_required)
            .finish()
    }
}

impl fmt::Debug for CreateVirtualMfaDeviceResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateVirtualMfaDeviceResponse")
            .field("device", &self.device)
            .field("base32_string_seed", &Redacted(&self.base32_string_seed))
            .field("otpauth_uri", &Redacted(&self.otpauth_uri))
            .field("revision", &self.revision)
            .finish()
    }
}

impl fmt::Debug for BindMfaDeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BindMfaDeviceRequest")
            .field("serial_number", &self.serial_number)
            .field("user_name", &self.user_name)
            .field(
                "authentication_code1",
                &Redacted(&self.authentication_code1),
            )
            .field(
                "authentication_code2",
                &Redacted(&self.authentication_code2),
            )
            .finish()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &Redacted(&self.access_key_secret))
            .field("security_token", &Redacted(&self.security_token))
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInRequest")
            .field("account_id", &self.account_id)
            .field("user_name", &self.user_name)
            .field("password", &Redacted(&self.password))
            .field("mfa_code", &Redacted(&self.mfa_code))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_redacted() {
        let printed = [
            format!(
                "{:?}",
                Credentials {
                    access_key_id: "STS.abc".into(),
                    access_key_secret: "s3cr3t-value".into(),
                    security_token: "s3cr3t-value".into(),
                    expiration: None,
                }
            ),
            format!(
                "{:?}",
                Subject {
                    kind: Some(subject::Kind::SecurityToken("s3cr3t-value".into())),
                    ..Subject::default()
                }
            ),
            format!(
                "{:?}",
                SignInRequest {
                    password: "s3cr3t-value".into(),
                    mfa_code: "s3cr3t-value".into(),
                    ..SignInRequest::default()
                }
            ),
            format!(
                "{:?}",
                CreateAccessKeyResponse {
                    access_key_secret: "s3cr3t-value".into(),
                    ..CreateAccessKeyResponse::default()
                }
            ),
            format!(
                "{:?}",
                CreateVirtualMfaDeviceResponse {
                    base32_string_seed: "s3cr3t-value".into(),
                    otpauth_uri: "s3cr3t-value".into(),
                    ..CreateVirtualMfaDeviceResponse::default()
                }
            ),
            format!(
                "{:?}",
                LoginProfileRequest {
                    password: "s3cr3t-value".into(),
                    ..LoginProfileRequest::default()
                }
            ),
            format!(
                "{:?}",
                BindMfaDeviceRequest {
                    authentication_code1: "s3cr3t-value".into(),
                    ..BindMfaDeviceRequest::default()
                }
            ),
            format!(
                "{:?}",
                CreateAccountResponse {
                    root_access_key_secret: "s3cr3t-value".into(),
                    ..CreateAccountResponse::default()
                }
            ),
            format!(
                "{:?}",
                AssumeRoleWithOidcRequest {
                    oidc_token: "s3cr3t-value".into(),
                    ..AssumeRoleWithOidcRequest::default()
                }
            ),
        ];
        for text in printed {
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}

impl fmt::Debug for AssumeRoleWithOidcRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleWithOidcRequest")
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("role_arn", &self.role_arn)
            .field("oidc_token", &Redacted(&self.oidc_token))
            .field("role_session_name", &self.role_session_name)
            .field("policy", &self.policy)
            .field("duration_seconds", &self.duration_seconds)
            .finish()
    }
}
