//! Which server and which credentials a command uses, from the global options, the
//! environment and the configuration file; and the connected client.

use clap::ArgMatches;
use clap::parser::ValueSource;
use tessera_client::{AssumeRoleParams, AssumeRoleProvider, Client, Credential, DEFAULT_ENDPOINT};

use crate::cli::GlobalArgs;
use crate::config::{self, Config, Mode, Profile};
use crate::output::Problem;

/// The global options, knowing which were typed on the command line (rather than taken from
/// the environment).
#[derive(Debug, Clone)]
pub struct Globals {
    pub args: GlobalArgs,
    pub typed: Typed,
}

/// Which global options were typed on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Typed {
    pub endpoint: bool,
    pub profile: bool,
    pub access_key_id: bool,
    pub access_key_secret: bool,
    pub security_token: bool,
}

impl Globals {
    pub fn new(mut args: GlobalArgs, matches: &ArgMatches) -> Globals {
        // An empty value (`TESSERA_PROFILE=`) is no value.
        for value in [
            &mut args.endpoint,
            &mut args.profile,
            &mut args.access_key_id,
            &mut args.access_key_secret,
            &mut args.security_token,
        ] {
            if value.as_deref() == Some("") {
                *value = None;
            }
        }
        let typed = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        Globals {
            typed: Typed {
                endpoint: typed("endpoint"),
                profile: typed("profile"),
                access_key_id: typed("access_key_id"),
                access_key_secret: typed("access_key_secret"),
                security_token: typed("security_token"),
            },
            args,
        }
    }

    /// A global option typed after a `ram`/`sts` operation, where clap cannot see it: applies
    /// it as if typed before. `false` if `name` is not a global option.
    pub fn apply(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let value = value.to_owned();
        match name {
            "endpoint" => {
                self.args.endpoint = Some(value);
                self.typed.endpoint = true;
            }
            "profile" => {
                self.args.profile = Some(value);
                self.typed.profile = true;
            }
            "access-key-id" => {
                self.args.access_key_id = Some(value);
                self.typed.access_key_id = true;
            }
            "access-key-secret" => {
                self.args.access_key_secret = Some(value);
                self.typed.access_key_secret = true;
            }
            "security-token" => {
                self.args.security_token = Some(value);
                self.typed.security_token = true;
            }
            "query" => self.args.query = Some(value),
            "output" => {
                self.args.output = clap::ValueEnum::from_str(&value, false)
                    .map_err(|_| format!("--output must be json or table, not {value:?}"))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Whose credentials, resolved but not yet used.
#[derive(Debug, Clone)]
pub enum Identity {
    /// Sign with this credential.
    Fixed(Credential),
    /// Assume a role with `base` first.
    Role {
        base: Credential,
        params: AssumeRoleParams,
    },
}

/// Where and as whom a command calls.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: String,
    pub identity: Identity,
}

impl Target {
    /// Connects, ready to sign as the identity (assuming its role at the first call).
    pub async fn connect(&self) -> Result<Client, Problem> {
        let connect = |credential: Credential| Client::builder(&self.endpoint).connect(credential);
        match &self.identity {
            Identity::Fixed(credential) => connect(credential.clone())
                .await
                .map_err(|e| Problem::from_client(&e)),
            Identity::Role { base, params } => {
                let base = connect(base.clone())
                    .await
                    .map_err(|e| Problem::from_client(&e))?;
                let provider = AssumeRoleProvider::with_params(base.sts(), params.clone());
                Ok(base.with_provider(provider))
            }
        }
    }
}

/// The configuration file, read once per run.
fn configuration() -> Result<Config, Problem> {
    let path = config::path().map_err(|m| Problem::local("InvalidConfiguration", m))?;
    config::load(&path).map_err(|m| Problem::local("InvalidConfiguration", m))
}

/// The profile named by `--profile`/`TESSERA_PROFILE` (which must exist), else the current
/// one (if the file names one that exists).
fn chosen_profile(globals: &Globals, config: &Config) -> Result<Option<Profile>, Problem> {
    match &globals.args.profile {
        Some(name) => config.profile(name).cloned().map(Some).ok_or_else(|| {
            Problem::local(
                "InvalidConfiguration",
                format!(
                    "no profile \"{name}\" in ~/{}: create it with `tessera configure set \
                     --profile {name} ...`",
                    config::CONFIG_PATH
                ),
            )
        }),
        None => Ok(config.profile(&config.current).cloned()),
    }
}

/// The endpoint: `--endpoint`/`TESSERA_ENDPOINT`, else the profile's, else the default.
fn endpoint(globals: &Globals, profile: Option<&Profile>) -> String {
    globals
        .args
        .endpoint
        .clone()
        .filter(|e| !e.is_empty())
        .or_else(|| {
            profile
                .map(|p| p.endpoint.clone())
                .filter(|e| !e.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
}

/// The endpoint for a command that needs no credentials (`login`).
pub fn endpoint_only(globals: &Globals) -> Result<String, Problem> {
    let config = configuration()?;
    let profile = chosen_profile(globals, &config)?;
    Ok(endpoint(globals, profile.as_ref()))
}

/// Resolves the endpoint and credentials (see `tessera --help`): typed access key, named
/// profile, environment, current profile.
pub fn resolve(globals: &Globals) -> Result<Target, Problem> {
    let args = &globals.args;
    let typed = globals.typed;
    let from_args = || -> Result<Option<Credential>, Problem> {
        let token = args.security_token.clone().filter(|t| !t.is_empty());
        match (args.access_key_id.clone().filter(|i| !i.is_empty()), token) {
            (Some(id), token) => {
                let secret = args
                    .access_key_secret
                    .clone()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        Problem::local(
                            "MissingAccessKeySecret",
                            "--access-key-id needs --access-key-secret (or \
                             ALIBABA_CLOUD_ACCESS_KEY_SECRET)",
                        )
                    })?;
                Ok(Some(match token {
                    Some(token) => Credential::sts(id, secret, token),
                    None => Credential::access_key(id, secret),
                }))
            }
            (None, Some(token)) => Ok(Some(Credential::bearer(token))),
            (None, None) => Ok(None),
        }
    };

    let fixed = |credential| Target {
        endpoint: endpoint(globals, None),
        identity: Identity::Fixed(credential),
    };
    if (typed.access_key_id || typed.security_token)
        && let Some(credential) = from_args()?
    {
        return Ok(fixed(credential));
    }
    let config = configuration()?;
    if args.profile.is_some()
        && let Some(profile) = chosen_profile(globals, &config)?
    {
        return from_profile(globals, profile);
    }
    if let Some(credential) = from_args()? {
        return Ok(fixed(credential));
    }
    match chosen_profile(globals, &config)? {
        Some(profile) => from_profile(globals, profile),
        None => Err(Problem::local(
            "MissingCredentials",
            format!(
                "no credentials: run `tessera configure set --profile default --access-key-id \
                 ID --access-key-secret SECRET`, or set ALIBABA_CLOUD_ACCESS_KEY_ID and \
                 ALIBABA_CLOUD_ACCESS_KEY_SECRET (no current profile in ~/{})",
                config::CONFIG_PATH
            ),
        )),
    }
}

fn from_profile(globals: &Globals, profile: Profile) -> Result<Target, Problem> {
    if let Some(problem) = profile.problem() {
        return Err(Problem::local("InvalidConfiguration", problem));
    }
    let identity = match profile.mode {
        Mode::AK => Identity::Fixed(Credential::access_key(
            &profile.access_key_id,
            &profile.access_key_secret,
        )),
        Mode::StsToken => Identity::Fixed(Credential::sts(
            &profile.access_key_id,
            &profile.access_key_secret,
            &profile.sts_token,
        )),
        Mode::RamRoleArn => Identity::Role {
            base: Credential::access_key(&profile.access_key_id, &profile.access_key_secret),
            params: AssumeRoleParams {
                role_arn: profile.ram_role_arn.clone(),
                role_session_name: profile.ram_session_name.clone(),
                duration_seconds: (profile.expired_seconds > 0).then_some(profile.expired_seconds),
                ..AssumeRoleParams::default()
            },
        },
    };
    Ok(Target {
        endpoint: endpoint(globals, Some(&profile)),
        identity,
    })
}
