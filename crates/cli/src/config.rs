//! `~/.tessera/config.json`: named profiles of credentials and endpoint, in the aliyun CLI's
//! layout (`{"current": NAME, "profiles": [{"name", "mode", "access_key_id", …}]}`).
//!
//! The file holds secrets: it is written with mode 0600 (its directory 0700), through a
//! temporary file renamed over it, so a reader never sees half a file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's path relative to the home directory.
pub const CONFIG_PATH: &str = ".tessera/config.json";

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    /// The profile used when none is named.
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub profiles: Vec<Profile>,
}

/// How a profile authenticates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// A long-term access key.
    #[default]
    AK,
    /// Temporary credentials: access key, secret and security token (e.g. from `tessera login`).
    StsToken,
    /// An access key that the CLI uses to assume `ram_role_arn` before every command.
    RamRoleArn,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::AK => "AK",
            Mode::StsToken => "StsToken",
            Mode::RamRoleArn => "RamRoleArn",
        }
    }
}

/// One profile. Empty strings are unset values.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    #[serde(default)]
    pub access_key_id: String,
    #[serde(default)]
    pub access_key_secret: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sts_token: String,
    /// When the STS token expires (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sts_expiration: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ram_role_arn: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ram_session_name: String,
    /// The role session's duration in seconds; 0: the server's default (3600).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expired_seconds: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("ram_role_arn", &self.ram_role_arn)
            .finish_non_exhaustive()
    }
}

impl Profile {
    /// What is missing for the profile to be usable, if anything.
    pub fn problem(&self) -> Option<String> {
        let mut missing = Vec::new();
        if self.access_key_id.is_empty() {
            missing.push("--access-key-id");
        }
        if self.access_key_secret.is_empty() {
            missing.push("--access-key-secret");
        }
        match self.mode {
            Mode::AK => {}
            Mode::StsToken if self.sts_token.is_empty() => missing.push("--security-token"),
            Mode::StsToken => {}
            Mode::RamRoleArn => {
                if self.ram_role_arn.is_empty() {
                    missing.push("--ram-role-arn");
                }
                if self.ram_session_name.is_empty() {
                    missing.push("--role-session-name");
                }
            }
        }
        (!missing.is_empty()).then(|| {
            format!(
                "profile \"{}\" of mode {} needs {}",
                self.name,
                self.mode.as_str(),
                missing.join(", ")
            )
        })
    }

    /// The access key id as `configure list` shows it: only its last three characters.
    pub fn masked_access_key_id(&self) -> String {
        mask(&self.access_key_id)
    }
}

/// `***xyz`: the last three characters of an identifier.
pub fn mask(id: &str) -> String {
    if id.is_empty() {
        return String::new();
    }
    let tail: String = id
        .chars()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("***{tail}")
}

impl Config {
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile named `name`, added (empty) if it is not there yet.
    pub fn profile_mut(&mut self, name: &str) -> &mut Profile {
        let index = match self.profiles.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                self.profiles.push(Profile {
                    name: name.to_owned(),
                    ..Profile::default()
                });
                self.profiles.len() - 1
            }
        };
        &mut self.profiles[index]
    }
}

/// Where the configuration lives: `$HOME/.tessera/config.json`.
pub fn path() -> Result<PathBuf, String> {
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(CONFIG_PATH)),
        None => Err("HOME is not set: cannot find ~/.tessera/config.json".into()),
    }
}

/// Reads the configuration; a missing file is an empty configuration.
pub fn load(path: &Path) -> Result<Config, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a valid configuration: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the configuration, readable by its owner only.
pub fn save(path: &Path, config: &Config) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let dir = path.parent().ok_or_else(|| fail(&"no parent directory"))?;
    create_private_dir(dir).map_err(|e| fail(&e))?;
    let mut text = serde_json::to_string_pretty(config).map_err(|e| fail(&e))?;
    text.push('\n');
    let temporary = dir.join(format!(".config.json.{}.tmp", std::process::id()));
    let written =
        write_private(&temporary, text.as_bytes()).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail(&e));
    }
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // The mode above applies only to a new file (and is masked by the umask).
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::{Config, Mode, mask};

    #[test]
    fn masks_keep_the_last_three_characters() {
        assert_eq!(mask("LTAI5tExample"), "***ple");
        assert_eq!(mask("ab"), "***ab");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn profiles_are_found_or_added_by_name() {
        let mut config = Config::default();
        config.profile_mut("dev").access_key_id = "id".into();
        config.profile_mut("dev").mode = Mode::RamRoleArn;
        assert_eq!(config.profiles.len(), 1);
        let dev = config.profile("dev").unwrap();
        assert_eq!(
            dev.problem().unwrap(),
            "profile \"dev\" of mode RamRoleArn needs --access-key-secret, --ram-role-arn, \
             --role-session-name"
        );
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["profiles"][0]["mode"], "RamRoleArn");
    }
}
