//! `tessera login`: signs a RAM user in with its password (and MFA code) through `Sts/SignIn`
//! and prints — or saves as a profile — the session's temporary credentials.

use std::io::{BufRead as _, IsTerminal as _};

use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use serde_json::{Value, json};
use tessera_client::{Client, Credential, pb};

use crate::config::{self, Mode};
use crate::console::Console;
use crate::failure::CommandResult;
use crate::output::{self, Problem, new_request_id};
use crate::session::{self, Globals};

/// Arguments of `tessera login`.
#[derive(Debug, Args)]
#[command(
    about = "Sign a RAM user in with password and MFA code; print or save the session",
    long_about = "Sign a RAM user in with its password (and the current code of its MFA \
        device, if it has one) and get a user session: temporary credentials (an STS. access \
        key, its secret and a security token) that act as the user, with acs:MFAPresent true \
        when a code was verified.\n\n\
        The password is read from standard input with --password-stdin (one line), else from \
        TESSERA_PASSWORD, else asked for on the terminal. It is never a command-line argument.\n\n\
        Without --save-profile the result is printed: {\"Credentials\": {\"AccessKeyId\", \
        \"AccessKeySecret\", \"SecurityToken\", \"Expiration\"}, \"Principal\": {...}, \
        \"PasswordResetRequired\", \"MFABindRequired\", \"RequestId\"}. With --save-profile \
        NAME the credentials are written to that profile (mode StsToken, with this \
        endpoint) and only the principal and expiration are printed; use it with \
        `tessera --profile NAME ...`.",
    after_help = "Example:\n  printf '%s\\n' \"$PASSWORD\" | tessera login --account-id \
        1234567890123456 \\\n    --user-name alice --mfa-code 123456 --password-stdin \
        --save-profile alice"
)]
pub struct LoginArgs {
    /// The 16-digit id of the user's account
    #[arg(long, value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub account_id: String,

    /// The RAM user's name
    #[arg(long, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub user_name: String,

    /// The current 6-digit code of the user's virtual MFA device
    #[arg(long, value_name = "CODE")]
    pub mfa_code: Option<String>,

    /// Read the password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,

    /// Save the session's credentials as this profile instead of printing them
    #[arg(long, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub save_profile: Option<String>,
}

pub async fn run(args: &LoginArgs, globals: &Globals, console: &mut Console<'_>) -> CommandResult {
    let endpoint = session::endpoint_only(globals).map_err(|p| p.report(console))?;
    let password = password(args).map_err(|p| p.report(console))?;
    let client = Client::builder(&endpoint)
        .connect(Credential::Anonymous)
        .await
        .map_err(|e| Problem::from_client(&e).report(console))?;
    let id = new_request_id();
    let request = pb::SignInRequest {
        account_id: args.account_id.clone(),
        user_name: args.user_name.clone(),
        password,
        mfa_code: args.mfa_code.clone().unwrap_or_default(),
    };
    let mut sts = client.sts();
    let response =
        crate::commands::with_progress(sts.sign_in(crate::commands::request(request, &id)))
            .await
            .map_err(|status| Problem::from_status(&status, Some(&id)).report(console))?
            .into_inner();
    let credentials = response.credentials.unwrap_or_default();
    let expiration = credentials
        .expiration
        .as_ref()
        .and_then(tessera_proto::alibaba::format_date)
        .unwrap_or_default();
    let principal = response.principal.unwrap_or_default();
    let principal_json = json!({
        "Arn": principal.arn,
        "AccountId": principal.account_id,
        "IdentityType": principal.identity_type,
        "PrincipalId": principal.principal_id,
    });
    let flags = |mut value: Value| {
        value["PasswordResetRequired"] = response.password_reset_required.into();
        value["MFABindRequired"] = response.mfa_bind_required.into();
        value["RequestId"] = id.clone().into();
        value
    };
    let value = match &args.save_profile {
        None => flags(json!({
            "Credentials": {
                "AccessKeyId": credentials.access_key_id,
                "AccessKeySecret": credentials.access_key_secret,
                "SecurityToken": credentials.security_token,
                "Expiration": expiration,
            },
            "Principal": principal_json,
        })),
        Some(name) => {
            save(name, &endpoint, &credentials, &expiration).map_err(|p| p.report(console))?;
            flags(json!({
                "Profile": name,
                "Expiration": expiration,
                "Principal": principal_json,
            }))
        }
    };
    output::print(console, &globals.args, &value)
}

/// The password: standard input's first line, `TESSERA_PASSWORD`, or a prompt.
fn password(args: &LoginArgs) -> Result<String, Problem> {
    let missing = || Problem::local("MissingPassword", "no password given");
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Problem::local("MissingPassword", format!("standard input: {e}")))?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else if let Some(password) = std::env::var("TESSERA_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        password
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {}: ", args.user_name))
            .map_err(|e| Problem::local("MissingPassword", format!("cannot read it: {e}")))?
    } else {
        return Err(Problem::local(
            "MissingPassword",
            "no password: use --password-stdin, TESSERA_PASSWORD or a terminal",
        ));
    };
    if password.is_empty() {
        return Err(missing());
    }
    Ok(password)
}

/// Writes the session to profile `name` (mode StsToken); makes it current if none is.
fn save(
    name: &str,
    endpoint: &str,
    credentials: &pb::Credentials,
    expiration: &str,
) -> Result<(), Problem> {
    let invalid = |m: String| Problem::local("InvalidConfiguration", m);
    let path = config::path().map_err(invalid)?;
    let mut config = config::load(&path).map_err(invalid)?;
    let profile = config.profile_mut(name);
    profile.mode = Mode::StsToken;
    profile.endpoint = endpoint.to_owned();
    profile.access_key_id = credentials.access_key_id.clone();
    profile.access_key_secret = credentials.access_key_secret.clone();
    profile.sts_token = credentials.security_token.clone();
    profile.sts_expiration = expiration.to_owned();
    profile.ram_role_arn.clear();
    profile.ram_session_name.clear();
    if config.profile(&config.current).is_none() {
        config.current = name.to_owned();
    }
    config::save(&path, &config).map_err(invalid)
}
