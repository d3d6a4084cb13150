//! `tessera configure set|list`: profiles in `~/.tessera/config.json`.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value};

use crate::config::{self, Config, Mode, Profile};
use crate::console::Console;
use crate::failure::CommandResult;
use crate::output::{self, Problem};
use crate::session::Globals;

/// Arguments of `tessera configure`.
#[derive(Debug, Args)]
#[command(
    about = "Keep credentials and endpoints in named profiles (~/.tessera/config.json)",
    long_about = "Keep credentials and endpoints in named profiles, in ~/.tessera/config.json \
        (written with mode 0600), in the aliyun CLI's layout. A command uses the profile named \
        by --profile (or TESSERA_PROFILE), else the current one: the one last set."
)]
pub struct ConfigureArgs {
    #[command(subcommand)]
    pub command: ConfigureCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigureCommand {
    Set(SetArgs),
    List,
}

/// Arguments of `tessera configure set`.
#[derive(Debug, Args)]
#[command(
    about = "Create or update a profile and make it current",
    long_about = "Create or update the profile named by --profile (default: the current one, \
        else `default`) and make it the current profile. Only the settings given change; the \
        global options --endpoint, --access-key-id, --access-key-secret and --security-token \
        are taken from the command line here, never from the environment.\n\n\
        Modes: AK (an access key), StsToken (an access key with --security-token), \
        RamRoleArn (an access key that the CLI uses to assume --ram-role-arn as \
        --role-session-name before each command). Without --mode: RamRoleArn when \
        --ram-role-arn is given, StsToken when --security-token is, else the profile's mode, \
        else AK.\n\n\
        Prints the profile as `configure list` shows it (secrets never shown).",
    after_help = "Examples:\n  \
        tessera configure set --profile default --access-key-id LTAI... --access-key-secret ... \\\n    \
        --endpoint http://127.0.0.1:7733\n  \
        tessera configure set --profile reader --access-key-id LTAI... --access-key-secret ... \\\n    \
        --ram-role-arn acs:ram::1234567890123456:role/reader --role-session-name me"
)]
pub struct SetArgs {
    /// Take the access key from this JSON file (`-`: standard input): the server's
    /// operator.json, or what `operator CreateAccount`, `ram CreateAccessKey`,
    /// `sts AssumeRole` or `login` printed — AccessKeyId, AccessKeySecret and (for temporary
    /// credentials) SecurityToken, at the top or under AccessKey or Credentials. Keeps secrets
    /// off the command line
    #[arg(long, value_name = "FILE")]
    pub credentials_file: Option<std::path::PathBuf>,

    /// How the profile authenticates
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,

    /// For RamRoleArn: the role to assume, acs:ram::<account>:role/<name>
    #[arg(long, value_name = "ARN")]
    pub ram_role_arn: Option<String>,

    /// For RamRoleArn: the role session's name (2..64 of letters, digits, `.@-_`)
    #[arg(long, value_name = "NAME")]
    pub role_session_name: Option<String>,

    /// For RamRoleArn: the session's duration in seconds, 900..the role's maximum (default
    /// 3600)
    #[arg(long, value_name = "SECONDS")]
    pub expired_seconds: Option<u32>,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    #[value(name = "AK")]
    Ak,
    #[value(name = "StsToken")]
    StsToken,
    #[value(name = "RamRoleArn")]
    RamRoleArn,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Ak => Mode::AK,
            ModeArg::StsToken => Mode::StsToken,
            ModeArg::RamRoleArn => Mode::RamRoleArn,
        }
    }
}

pub fn run(args: &ConfigureArgs, globals: &Globals, console: &mut Console<'_>) -> CommandResult {
    let result = match &args.command {
        ConfigureCommand::Set(set_args) => set(set_args, globals),
        ConfigureCommand::List => list(),
    };
    match result {
        Ok(value) => output::print(console, &globals.args, &value),
        Err(problem) => Err(problem.report(console)),
    }
}

fn invalid(message: String) -> Problem {
    Problem::local("InvalidConfiguration", message)
}

fn set(args: &SetArgs, globals: &Globals) -> Result<Value, Problem> {
    let path = config::path().map_err(invalid)?;
    let mut config = config::load(&path).map_err(invalid)?;
    let name = globals
        .args
        .profile
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| Some(config.current.clone()).filter(|c| !c.is_empty()))
        .unwrap_or_else(|| "default".to_owned());
    let typed = globals.typed;
    let typed_value = |typed: bool, value: &Option<String>| value.clone().filter(|_| typed);
    let from_file = match &args.credentials_file {
        Some(path) => Some(read_credentials(path).map_err(invalid)?),
        None => None,
    };
    let existed = config.profile(&name).is_some();
    let profile = config.profile_mut(&name);
    let mode = match args.mode {
        Some(mode) => mode.into(),
        None if args.ram_role_arn.is_some() => Mode::RamRoleArn,
        None if typed.security_token => Mode::StsToken,
        None if from_file
            .as_ref()
            .is_some_and(|f| f.security_token.is_some()) =>
        {
            Mode::StsToken
        }
        None if from_file.is_some() => Mode::AK,
        None if existed => profile.mode,
        None => Mode::AK,
    };
    profile.mode = mode;
    if let Some(file) = from_file {
        profile.access_key_id = file.access_key_id;
        profile.access_key_secret = file.access_key_secret;
        profile.sts_token = file.security_token.unwrap_or_default();
        profile.sts_expiration = file.expiration.unwrap_or_default();
    }
    if let Some(endpoint) = typed_value(typed.endpoint, &globals.args.endpoint) {
        profile.endpoint = endpoint;
    }
    if let Some(id) = typed_value(typed.access_key_id, &globals.args.access_key_id) {
        profile.access_key_id = id;
    }
    if let Some(secret) = typed_value(typed.access_key_secret, &globals.args.access_key_secret) {
        profile.access_key_secret = secret;
    }
    if let Some(token) = typed_value(typed.security_token, &globals.args.security_token) {
        profile.sts_token = token;
        profile.sts_expiration.clear();
    }
    if let Some(arn) = &args.ram_role_arn {
        profile.ram_role_arn = arn.clone();
    }
    if let Some(session) = &args.role_session_name {
        profile.ram_session_name = session.clone();
    }
    if let Some(seconds) = args.expired_seconds {
        profile.expired_seconds = seconds;
    }
    // Settings of other modes would only confuse a reader of the file.
    if mode != Mode::StsToken {
        profile.sts_token.clear();
        profile.sts_expiration.clear();
    }
    if mode != Mode::RamRoleArn {
        profile.ram_role_arn.clear();
        profile.ram_session_name.clear();
        profile.expired_seconds = 0;
    }
    if let Some(problem) = profile.problem() {
        return Err(invalid(problem));
    }
    config.current = name.clone();
    config::save(&path, &config).map_err(invalid)?;
    let saved = config.profile(&name).map(|p| view(p, true));
    Ok(Value::Object(Map::from_iter([(
        "Profile".to_owned(),
        saved.unwrap_or_default(),
    )])))
}

/// Credentials read from a JSON file.
struct FileCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
    expiration: Option<String>,
}

fn read_credentials(path: &std::path::Path) -> Result<FileCredentials, String> {
    let file = path.display();
    let text = crate::input::Inputs::new()
        .read(path)
        .map_err(|e| format!("{file}: {e}"))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    let holder = ["AccessKey", "Credentials"]
        .iter()
        .find_map(|k| json.get(k).filter(|v| v.get("AccessKeyId").is_some()))
        .unwrap_or(&json);
    let text = |key: &str| {
        holder
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (Some(access_key_id), Some(access_key_secret)) =
        (text("AccessKeyId"), text("AccessKeySecret"))
    else {
        return Err(format!(
            "{file}: no AccessKeyId and AccessKeySecret (at the top, or under AccessKey or \
             Credentials)"
        ));
    };
    Ok(FileCredentials {
        access_key_id,
        access_key_secret,
        security_token: text("SecurityToken"),
        expiration: text("Expiration"),
    })
}

fn list() -> Result<Value, Problem> {
    let path = config::path().map_err(invalid)?;
    let config: Config = config::load(&path).map_err(invalid)?;
    let profiles: Vec<Value> = config
        .profiles
        .iter()
        .map(|p| view(p, p.name == config.current))
        .collect();
    let mut fields = Map::new();
    fields.insert("Current".into(), config.current.clone().into());
    fields.insert("Profiles".into(), Value::Array(profiles));
    Ok(Value::Object(fields))
}

/// A profile as shown: the access key id masked, no secret, no token.
fn view(profile: &Profile, current: bool) -> Value {
    let mut fields = Map::new();
    fields.insert("Name".into(), profile.name.clone().into());
    fields.insert("Mode".into(), profile.mode.as_str().into());
    fields.insert("AccessKeyId".into(), profile.masked_access_key_id().into());
    let optional = [
        ("Endpoint", &profile.endpoint),
        ("RamRoleArn", &profile.ram_role_arn),
        ("RoleSessionName", &profile.ram_session_name),
        ("StsExpiration", &profile.sts_expiration),
    ];
    for (key, value) in optional {
        if !value.is_empty() {
            fields.insert(key.into(), value.clone().into());
        }
    }
    if profile.expired_seconds > 0 {
        fields.insert("ExpiredSeconds".into(), profile.expired_seconds.into());
    }
    fields.insert("Current".into(), current.into());
    Value::Object(fields)
}
