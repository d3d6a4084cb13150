//! OIDC identity providers and `AssumeRoleWithOIDC`'s claim checks.
//!
//! - Field rules of `CreateOIDCProvider`/`UpdateOIDCProvider` (Alibaba's, IMS `2019-08-15`):
//!   `OIDCProviderName` 1–128 letters, digits, `.`, `-`, `_`, not starting or ending with a
//!   special character; `IssuerUrl` at most 255 characters, `https://` (plain `http://` only
//!   where the deployment allows it, for tests), a host, no query (`?`), user info (`@`) or
//!   fragment (`#`); `ClientIds` comma-separated, each 1–64 letters, digits, `.`, `-`, `_`,
//!   `:`, `/`, not starting with a special character, at most [`MAX_CLIENT_IDS`];
//!   `Fingerprints` comma-separated SHA-1 fingerprints (40 hex digits, stored in lower case),
//!   at most [`MAX_FINGERPRINTS`]; `Description` at most 256 characters;
//!   `IssuanceLimitTime` 1–168 hours (default [`DEFAULT_ISSUANCE_LIMIT_HOURS`]).
//! - [`ProviderArn`]: `acs:ram::<account>:oidc-provider/<name>` (the `OIDCProviderArn`
//!   parameter; a `*` region is accepted as policies write it).
//! - [`check_claims`]: what a token whose signature verified must also satisfy, with the time
//!   passed in: `iss` is the provider's `IssuerUrl`, some `aud` is one of its client ids,
//!   `exp`/`nbf`/`iat` hold within [`LEEWAY_SECONDS`], `iat` is at most `IssuanceLimitTime`
//!   old, and `sub` is present. [`Verified::condition_keys`] are the trust policy's
//!   `oidc:iss`, `oidc:aud` (the client ids the token was issued to) and `oidc:sub`.

use std::fmt;

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::ids::AccountId;

/// Client ids per provider (Alibaba's limit).
pub const MAX_CLIENT_IDS: usize = 50;
/// Certificate fingerprints per provider (Alibaba's limit).
pub const MAX_FINGERPRINTS: usize = 5;
/// `IssuanceLimitTime` when not given, in hours.
pub const DEFAULT_ISSUANCE_LIMIT_HOURS: u32 = 12;
/// The longest `IssuanceLimitTime`, in hours (one week).
pub const MAX_ISSUANCE_LIMIT_HOURS: u32 = 168;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: i64 = 60;
/// `OIDCToken` length bounds (characters).
pub const TOKEN_MIN_CHARS: usize = 4;
pub const TOKEN_MAX_CHARS: usize = 20_000;

fn special(c: char) -> bool {
    matches!(c, '.' | '-' | '_' | ':' | '/')
}

/// `OIDCProviderName`.
pub fn provider_name(v: &str) -> Result<()> {
    let field = "OIDCProviderName";
    let len = v.chars().count();
    if !(1..=128).contains(&len) {
        return Err(Error::length(field, 1, 128));
    }
    let chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let ends = !v.starts_with(special) && !v.ends_with(special);
    if chars && ends {
        Ok(())
    } else {
        Err(Error::invalid_chars(field))
    }
}

/// One client id (`ClientId`, or an item of `ClientIds`).
pub fn client_id(v: &str) -> Result<()> {
    let field = "ClientId";
    let len = v.chars().count();
    if !(1..=64).contains(&len) {
        return Err(Error::length(field, 1, 64));
    }
    if v.chars().all(|c| c.is_ascii_alphanumeric() || special(c)) && !v.starts_with(special) {
        Ok(())
    } else {
        Err(Error::invalid_chars(field))
    }
}

/// One fingerprint: 40 hex digits (SHA-1 of a certificate), returned in lower case.
pub fn fingerprint(v: &str) -> Result<String> {
    if v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(Error::format(
            "Fingerprint",
            "the SHA-1 fingerprint of a certificate, 40 hexadecimal digits",
        ))
    }
}

/// `IssuerUrl`; `allow_http` admits `http://` (a deployment setting for tests).
pub fn issuer_url(v: &str, allow_http: bool) -> Result<()> {
    let field = "IssuerUrl";
    if v.is_empty() || v.chars().count() > 255 {
        return Err(Error::length(field, 1, 255));
    }
    let rest = match (v.strip_prefix("https://"), v.strip_prefix("http://")) {
        (Some(rest), _) => rest,
        (None, Some(rest)) if allow_http => rest,
        _ => {
            return Err(Error::format(
                field,
                "a URL starting with https:// (the issuer of the provider's tokens)",
            ));
        }
    };
    let host = rest.split('/').next().unwrap_or_default();
    let clean =
        !v.contains(['?', '@', '#']) && !host.is_empty() && v.chars().all(|c| c.is_ascii_graphic());
    if clean {
        Ok(())
    } else {
        Err(Error::format(
            field,
            "an https URL with a host and no query (?), user info (@) or fragment (#)",
        ))
    }
}

/// `IssuanceLimitTime`, in hours.
pub fn issuance_limit_hours(v: u32) -> Result<()> {
    if (1..=MAX_ISSUANCE_LIMIT_HOURS).contains(&v) {
        Ok(())
    } else {
        Err(Error::range(
            "IssuanceLimitTime",
            1,
            i64::from(MAX_ISSUANCE_LIMIT_HOURS),
        ))
    }
}

/// A provider's `Description`: at most 256 characters.
pub fn description(v: &str) -> Result<()> {
    if v.chars().count() > 256 {
        return Err(Error::length("Description", 0, 256));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid_chars("Description"));
    }
    Ok(())
}

/// The items of a comma-separated parameter (`ClientIds`, `Fingerprints`): trimmed, empty
/// items dropped, duplicates dropped (first occurrence kept).
pub fn split_list(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == item) {
            out.push(item.to_owned());
        }
    }
    out
}

/// Validates a full set of client ids (count, then each).
pub fn client_ids(ids: &[String]) -> Result<()> {
    if ids.len() > MAX_CLIENT_IDS {
        return Err(Error::limit_exceeded(
            crate::error::Entity::OidcClientId,
            MAX_CLIENT_IDS as u32,
        ));
    }
    ids.iter().try_for_each(|id| client_id(id))
}

/// Validates and normalizes a full set of fingerprints (count, then each; lower case,
/// duplicates dropped).
pub fn fingerprints(items: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let f = fingerprint(item)?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.len() > MAX_FINGERPRINTS {
        return Err(Error::limit_exceeded(
            crate::error::Entity::OidcFingerprint,
            MAX_FINGERPRINTS as u32,
        ));
    }
    Ok(out)
}

/// A parsed `OIDCProviderArn`: `acs:ram::<16-digit account>:oidc-provider/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderArn {
    pub account: AccountId,
    /// The name as written; resolve it case-insensitively.
    pub name: String,
}

impl ProviderArn {
    /// Anything else is `InvalidParameter.OIDCProviderArn`.
    pub fn parse(text: &str) -> Result<ProviderArn> {
        let bad = || {
            Error::invalid(
                "InvalidParameter.OIDCProviderArn",
                "The parameter OIDCProviderArn is wrongly formed: \
                 acs:ram::<account-id>:oidc-provider/<name>.",
            )
        };
        let rest = text.strip_prefix("acs:ram:").ok_or_else(bad)?;
        let rest = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix("*:"))
            .ok_or_else(bad)?;
        let (account, resource) = rest.split_once(':').ok_or_else(bad)?;
        let account = AccountId::parse(account).map_err(|_| bad())?;
        let name = resource.strip_prefix("oidc-provider/").ok_or_else(bad)?;
        provider_name(name).map_err(|_| bad())?;
        Ok(ProviderArn {
            account,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for ProviderArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "acs:ram::{}:oidc-provider/{}", self.account, self.name)
    }
}

/// `acs:ram::<account>:oidc-provider/<name>` with the stored name.
pub fn provider_arn(account: &AccountId, name: &str) -> String {
    format!("acs:ram::{account}:oidc-provider/{name}")
}

/// The registered claims of a token whose signature verified, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub issuer: Option<String>,
    pub subject: Option<String>,
    /// `aud` as a string or an array.
    pub audiences: Vec<String>,
    pub expires_at: Option<i64>,
    pub not_before: Option<i64>,
    pub issued_at: Option<i64>,
}

/// What [`check_claims`] compares the claims with.
#[derive(Debug, Clone, Copy)]
pub struct ProviderFacts<'a> {
    pub issuer_url: &'a str,
    pub client_ids: &'a [String],
    pub issuance_limit_hours: u32,
}

/// An accepted token: `OIDCTokenInfo` and the trust policy's condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub issuer: String,
    pub subject: String,
    /// The token's audiences that are client ids of the provider.
    pub client_ids: Vec<String>,
    pub expires_at: Timestamp,
    pub issued_at: Timestamp,
}

impl Verified {
    /// `oidc:iss`, `oidc:aud` (one value per accepted client id) and `oidc:sub`.
    pub fn condition_keys(&self) -> Vec<(&'static str, &str)> {
        let mut keys = vec![("oidc:iss", self.issuer.as_str())];
        keys.extend(self.client_ids.iter().map(|c| ("oidc:aud", c.as_str())));
        keys.push(("oidc:sub", self.subject.as_str()));
        keys
    }
}

fn at(seconds: i64, claim: &str) -> Result<Timestamp> {
    Timestamp::from_second(seconds).map_err(|_| {
        Error::oidc_token_invalid(format!("The claim {claim} of the token is out of range."))
    })
}

/// Checks the claims of a token whose signature verified against `provider` at `now` (see
/// the module documentation). Order: issuer, audience, expiry, not-before, issue time, age,
/// subject.
pub fn check_claims(
    claims: &TokenClaims,
    provider: &ProviderFacts<'_>,
    now: Timestamp,
) -> Result<Verified> {
    let now_s = now.as_second();
    let issuer = claims.issuer.as_deref().unwrap_or_default();
    if issuer.trim_end_matches('/') != provider.issuer_url.trim_end_matches('/') {
        return Err(Error::oidc_token_invalid(
            "The issuer (iss) of the token is not the IssuerUrl of the OIDC provider.",
        ));
    }
    let client_ids: Vec<String> = claims
        .audiences
        .iter()
        .filter(|a| provider.client_ids.contains(a))
        .cloned()
        .collect();
    if client_ids.is_empty() {
        return Err(Error::oidc_audience_not_match());
    }
    let exp = claims
        .expires_at
        .ok_or_else(|| Error::oidc_token_invalid("The token has no expiration (exp)."))?;
    let expires_at = at(exp, "exp")?;
    if exp.saturating_add(LEEWAY_SECONDS) <= now_s {
        return Err(Error::oidc_token_expired());
    }
    if let Some(nbf) = claims.not_before
        && nbf.saturating_sub(LEEWAY_SECONDS) > now_s
    {
        return Err(Error::oidc_token_invalid(
            "The token is not valid yet (nbf).",
        ));
    }
    let iat = claims
        .issued_at
        .ok_or_else(|| Error::oidc_token_invalid("The token has no issue time (iat)."))?;
    let issued_at = at(iat, "iat")?;
    if iat.saturating_sub(LEEWAY_SECONDS) > now_s {
        return Err(Error::oidc_token_invalid(
            "The token was issued in the future (iat).",
        ));
    }
    let limit = i64::from(provider.issuance_limit_hours) * 3600;
    if now_s.saturating_sub(iat) > limit {
        return Err(Error::oidc_token_invalid(format!(
            "The token was issued more than {} hours ago (the provider's IssuanceLimitTime).",
            provider.issuance_limit_hours
        )));
    }
    let subject = claims
        .subject
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::oidc_token_invalid("The token has no subject (sub)."))?;
    Ok(Verified {
        issuer: issuer.to_owned(),
        subject,
        client_ids,
        expires_at,
        issued_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn code<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.map_or_else(|e| e.code().to_owned(), |_| "OK".to_owned())
    }

    #[test]
    fn field_rules() {
        for (name, expected) in [
            ("k8s-cluster_1.prod", "OK"),
            ("a", "OK"),
            ("-lead", "InvalidParameter.OIDCProviderName.InvalidChars"),
            ("trail.", "InvalidParameter.OIDCProviderName.InvalidChars"),
            (
                "has space",
                "InvalidParameter.OIDCProviderName.InvalidChars",
            ),
            ("", "InvalidParameter.OIDCProviderName.Length"),
            (&"a".repeat(129), "InvalidParameter.OIDCProviderName.Length"),
        ] {
            assert_eq!(code(provider_name(name)), expected, "{name}");
        }
        for (id, expected) in [
            ("sts.aliyuncs.com", "OK"),
            ("api://default/x:y", "OK"),
            ("/leading", "InvalidParameter.ClientId.InvalidChars"),
            ("a b", "InvalidParameter.ClientId.InvalidChars"),
            (&"a".repeat(65), "InvalidParameter.ClientId.Length"),
        ] {
            assert_eq!(code(client_id(id)), expected, "{id}");
        }
        assert_eq!(
            fingerprint("902EF2DEEB3C5B13EA4C3D5193629309E231AE55").unwrap(),
            "902ef2deeb3c5b13ea4c3d5193629309e231ae55"
        );
        assert_eq!(
            code(fingerprint("902ef2")),
            "InvalidParameter.Fingerprint.Format"
        );
        for (url, http, expected) in [
            ("https://oidc.example.com", false, "OK"),
            ("https://kubernetes.default.svc/path", false, "OK"),
            (
                "http://127.0.0.1:8080",
                false,
                "InvalidParameter.IssuerUrl.Format",
            ),
            ("http://127.0.0.1:8080", true, "OK"),
            (
                "https://a.example?x=1",
                false,
                "InvalidParameter.IssuerUrl.Format",
            ),
            (
                "https://u@a.example",
                false,
                "InvalidParameter.IssuerUrl.Format",
            ),
            (
                "https://a.example#f",
                false,
                "InvalidParameter.IssuerUrl.Format",
            ),
            ("https://", false, "InvalidParameter.IssuerUrl.Format"),
            ("ftp://a.example", true, "InvalidParameter.IssuerUrl.Format"),
            ("", false, "InvalidParameter.IssuerUrl.Length"),
        ] {
            assert_eq!(code(issuer_url(url, http)), expected, "{url}");
        }
        assert_eq!(
            code(issuance_limit_hours(0)),
            "InvalidParameter.IssuanceLimitTime.Range"
        );
        assert_eq!(
            code(issuance_limit_hours(169)),
            "InvalidParameter.IssuanceLimitTime.Range"
        );
        assert_eq!(code(issuance_limit_hours(168)), "OK");
        assert_eq!(split_list(" a, b,,a ,c"), ["a", "b", "c"]);
        let many: Vec<String> = (0..51).map(|i| format!("c{i}")).collect();
        assert_eq!(
            code(client_ids(&many)),
            "LimitExceeded.OIDCProvider.ClientId"
        );
        let six: Vec<String> = (0..6).map(|i| format!("{i:040x}")).collect();
        assert_eq!(
            code(fingerprints(&six)),
            "LimitExceeded.OIDCProvider.Fingerprint"
        );
    }

    #[test]
    fn arns() {
        let arn = ProviderArn::parse("acs:ram::1234567890123456:oidc-provider/K8s").unwrap();
        assert_eq!(arn.name, "K8s");
        assert_eq!(
            arn.to_string(),
            "acs:ram::1234567890123456:oidc-provider/K8s"
        );
        assert!(ProviderArn::parse("acs:ram:*:1234567890123456:oidc-provider/K8s").is_ok());
        for bad in [
            "acs:ram::1234567890123456:saml-provider/K8s",
            "acs:ram::12:oidc-provider/K8s",
            "acs:ram::1234567890123456:oidc-provider/",
            "oidc-provider/K8s",
        ] {
            assert_eq!(
                code(ProviderArn::parse(bad)),
                "InvalidParameter.OIDCProviderArn",
                "{bad}"
            );
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn claims() -> TokenClaims {
        TokenClaims {
            issuer: Some("https://issuer.example".into()),
            subject: Some("system:serviceaccount:ns:sa".into()),
            audiences: vec!["other".into(), "sts.aliyuncs.com".into()],
            expires_at: Some(NOW + 600),
            not_before: None,
            issued_at: Some(NOW - 60),
        }
    }

    fn check(c: &TokenClaims) -> Result<Verified> {
        let ids = vec!["sts.aliyuncs.com".to_owned(), "x".to_owned()];
        check_claims(
            c,
            &ProviderFacts {
                issuer_url: "https://issuer.example/",
                client_ids: &ids,
                issuance_limit_hours: 1,
            },
            Timestamp::from_second(NOW).unwrap(),
        )
    }

    #[test]
    fn claims_are_checked_in_order() {
        let ok = check(&claims()).unwrap();
        assert_eq!(ok.client_ids, ["sts.aliyuncs.com"]);
        assert_eq!(
            ok.condition_keys(),
            [
                ("oidc:iss", "https://issuer.example"),
                ("oidc:aud", "sts.aliyuncs.com"),
                ("oidc:sub", "system:serviceaccount:ns:sa")
            ]
        );
        type Case = (&'static str, fn(&mut TokenClaims), &'static str);
        let cases: [Case; 11] = [
            (
                "other issuer",
                |c| c.issuer = Some("https://evil.example".into()),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "no issuer",
                |c| c.issuer = None,
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "wrong audience",
                |c| c.audiences = vec!["y".into()],
                "AuthenticationFail.OIDCToken.AudienceNotMatch",
            ),
            (
                "expired",
                |c| c.expires_at = Some(NOW - 61),
                "AuthenticationFail.OIDCToken.Expired",
            ),
            (
                "expired within leeway",
                |c| c.expires_at = Some(NOW - 59),
                "OK",
            ),
            (
                "no exp",
                |c| c.expires_at = None,
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "not yet valid",
                |c| c.not_before = Some(NOW + 61),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "issued in the future",
                |c| c.issued_at = Some(NOW + 61),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "issued too long ago",
                |c| c.issued_at = Some(NOW - 3601),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "no subject",
                |c| c.subject = Some(String::new()),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "absurd exp",
                |c| c.expires_at = Some(i64::MAX),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
        ];
        for (name, change, expected) in cases {
            let mut c = claims();
            change(&mut c);
            assert_eq!(code(check(&c)), expected, "{name}");
        }
    }
}
