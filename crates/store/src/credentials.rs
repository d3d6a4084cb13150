//! Console credentials: login profiles (password hashes) and virtual MFA devices (sealed TOTP
//! seeds).
//!
//! The store never hashes passwords nor checks TOTP codes: it keeps the argon2 PHC string and
//! the sealed seed it is given and hands them back only through [`CredentialStore::login_secret`]
//! and [`CredentialStore::virtual_mfa_device_seed`].
//!
//! Change log: login-profile writes append [`EntityKind::LoginProfile`] with the user's name key;
//! MFA device writes append [`EntityKind::MfaDevice`] with the device's name key (lower-cased
//! device name), and binding/unbinding also [`EntityKind::LoginProfile`] with the user's name
//! key, since what sign-in needs of the user changed.

use async_trait::async_trait;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, ErrorKind, Result, names};

use crate::model::{
    Committed, EntityKind, LoginProfile, LoginProfileUpdate, LoginSecret, MfaSecret,
    NewLoginProfile, VirtualMfaDevice,
};
use crate::sql::{SqlStore, db_error, exists_or_db_error, get, get_opt_time, get_time, name_key};

/// Login profiles and virtual MFA devices.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// `CreateLoginProfile` with an already hashed password →
    /// `EntityAlreadyExists.User.LoginProfile` if the user has one.
    async fn create_login_profile(
        &self,
        account: &AccountId,
        user: &str,
        profile: &NewLoginProfile,
    ) -> Result<Committed<LoginProfile>>;
    /// `GetLoginProfile` → `EntityNotExist.User.LoginProfile` if the user has none.
    async fn get_login_profile(&self, account: &AccountId, user: &str) -> Result<LoginProfile>;
    /// `UpdateLoginProfile` (and `ChangePassword`, after the caller checked the old password).
    async fn update_login_profile(
        &self,
        account: &AccountId,
        user: &str,
        update: &LoginProfileUpdate,
    ) -> Result<Committed<LoginProfile>>;
    async fn delete_login_profile(&self, account: &AccountId, user: &str) -> Result<Committed<()>>;
    /// What sign-in verifies: `None` when there is no such user or it has no login profile
    /// (sign-in must not tell the two apart).
    async fn login_secret(&self, account: &AccountId, user: &str) -> Result<Option<LoginSecret>>;

    /// `CreateVirtualMFADevice` with a seed sealed by the caller. Serial number
    /// `acs:ram::<account>:mfa/<name>`; names are unique case-insensitively →
    /// `EntityAlreadyExists.VirtualMFADevice`; quota `virtual_mfa_devices` →
    /// `LimitExceeded.VirtualMFADevice`.
    async fn create_virtual_mfa_device(
        &self,
        account: &AccountId,
        name: &str,
        sealed_seed: &[u8],
    ) -> Result<Committed<VirtualMfaDevice>>;
    /// `ListVirtualMFADevices`, by name.
    async fn list_virtual_mfa_devices(&self, account: &AccountId) -> Result<Vec<VirtualMfaDevice>>;
    /// `DeleteVirtualMFADevice` → `DeleteConflict.VirtualMFADevice.User` while bound.
    async fn delete_virtual_mfa_device(
        &self,
        account: &AccountId,
        serial_number: &str,
    ) -> Result<Committed<()>>;
    /// The device's sealed seed, for checking the codes of `BindMFADevice` before
    /// [`CredentialStore::bind_mfa_device`] → `EntityNotExist.VirtualMFADevice`.
    async fn virtual_mfa_device_seed(
        &self,
        account: &AccountId,
        serial_number: &str,
    ) -> Result<MfaSecret>;
    /// `BindMFADevice`, after the caller verified the two codes against `verified_seed` (the
    /// sealed seed [`CredentialStore::virtual_mfa_device_seed`] gave it) →
    /// `CheckAuthenticationCodeFail` if the device's seed is no longer that one (it was deleted
    /// and recreated in between: the codes are not this device's),
    /// `EntityAlreadyExists.User.MFADevice` if the user has a device,
    /// `EntityAlreadyExists.VirtualMFADevice.User` if the device is bound to another user.
    async fn bind_mfa_device(
        &self,
        account: &AccountId,
        user: &str,
        serial_number: &str,
        verified_seed: &[u8],
    ) -> Result<Committed<VirtualMfaDevice>>;
    /// `UnbindMFADevice` → the device, now unbound; `EntityNotExist.User.MFADevice` if the user
    /// has none.
    async fn unbind_mfa_device(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Committed<VirtualMfaDevice>>;
    /// `GetUser`'s MFA device (`ListMFADevices`).
    async fn get_user_mfa_device(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Option<VirtualMfaDevice>>;
}

const PROFILE_COLUMNS: &str = "u.name AS user_name, p.password_reset_required, \
     p.mfa_bind_required, p.created_at, p.updated_at";

fn profile_from_row(row: &AnyRow) -> Result<LoginProfile> {
    Ok(LoginProfile {
        user_name: get(row, "user_name")?,
        password_reset_required: get::<i64>(row, "password_reset_required")? != 0,
        mfa_bind_required: get::<i64>(row, "mfa_bind_required")? != 0,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

const DEVICE_COLUMNS: &str = "d.serial_number, u.name AS user_name, d.activated_at, d.created_at";

/// Selects devices with their users' names; append a `WHERE` on `d.`.
const DEVICE_FROM: &str = "FROM virtual_mfa_devices d \
     LEFT JOIN users u ON u.account_id = d.account_id AND u.id = d.user_id";

/// A device row; `with_user`: the row has the `user_name` of the join.
fn device_from_row(row: &AnyRow, with_user: bool) -> Result<VirtualMfaDevice> {
    let serial_number: String = get(row, "serial_number")?;
    let name = serial_number
        .rsplit_once(":mfa/")
        .map(|(_, name)| name.to_owned())
        .unwrap_or_default();
    Ok(VirtualMfaDevice {
        serial_number,
        name,
        user_name: if with_user {
            get(row, "user_name")?
        } else {
            None
        },
        activated_at: get_opt_time(row, "activated_at")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// The serial number of device `name` of `account`.
fn serial_number(account: &AccountId, name: &str) -> String {
    format!("acs:ram::{}:mfa/{name}", account.as_str())
}

/// The name key of the device a serial number designates in `account`, or
/// `EntityNotExist.VirtualMFADevice` if it is malformed or of another account. Serial numbers
/// resolve case-insensitively in the name, like every name.
fn device_key(account: &AccountId, serial: &str) -> Result<String> {
    let prefix = serial_number(account, "");
    match serial.strip_prefix(prefix.as_str()) {
        Some(name) if names::mfa_device_name(name).is_ok() => Ok(name_key(name)),
        _ => Err(Error::not_exist(Entity::VirtualMfaDevice)),
    }
}

fn validate_password_hash(hash: &str) -> Result<()> {
    // A PHC string (`$argon2id$v=19$…`). Refusing anything else keeps a plain password from
    // being stored by mistake; the message never echoes the value.
    if hash.len() < 2 || !hash.starts_with('$') || hash.len() > 1024 {
        return Err(Error::invalid(
            "InvalidParameter.PasswordHash",
            "The password hash must be a PHC string.",
        ));
    }
    Ok(())
}

/// `EntityAlreadyExists.VirtualMFADevice.User`: the device is bound to another user.
fn device_bound_elsewhere() -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        "EntityAlreadyExists.VirtualMFADevice.User",
        "The virtual MFA device is already bound to a user.",
    )
}

impl SqlStore {
    async fn fetch_login_profile(
        conn: &mut AnyConnection,
        account: &AccountId,
        user_id: &str,
    ) -> Result<Option<(LoginProfile, String)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS}, p.password_hash FROM login_profiles p \
             JOIN users u ON u.account_id = p.account_id AND u.id = p.user_id \
             WHERE p.account_id = $1 AND p.user_id = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(user_id.to_owned())
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("get login profile", &e))?;
        row.map(|row| Ok((profile_from_row(&row)?, get(&row, "password_hash")?)))
            .transpose()
    }

    /// The device of `user_id`, if any.
    async fn fetch_user_device(
        conn: &mut AnyConnection,
        account: &AccountId,
        user_id: &str,
    ) -> Result<Option<(VirtualMfaDevice, Vec<u8>)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS}, d.sealed_seed {DEVICE_FROM} \
             WHERE d.account_id = $1 AND d.user_id = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(user_id.to_owned())
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("user mfa device", &e))?;
        row.map(|row| Ok((device_from_row(&row, true)?, get(&row, "sealed_seed")?)))
            .transpose()
    }

    /// The device with `key`, its user id and its seed, or `EntityNotExist.VirtualMFADevice`.
    async fn fetch_device(
        conn: &mut AnyConnection,
        account: &AccountId,
        key: &str,
    ) -> Result<(VirtualMfaDevice, Option<String>, Vec<u8>)> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS}, d.user_id, d.sealed_seed {DEVICE_FROM} \
             WHERE d.account_id = $1 AND d.name_key = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(key.to_owned())
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("get mfa device", &e))?
            .ok_or_else(|| Error::not_exist(Entity::VirtualMfaDevice))?;
        Ok((
            device_from_row(&row, true)?,
            get(&row, "user_id")?,
            get(&row, "sealed_seed")?,
        ))
    }
}

#[async_trait]
impl CredentialStore for SqlStore {
    async fn create_login_profile(
        &self,
        account: &AccountId,
        user: &str,
        profile: &NewLoginProfile,
    ) -> Result<Committed<LoginProfile>> {
        validate_password_hash(&profile.password_hash)?;
        let mut w = self.write().await?;
        let user_id = SqlStore::user_id(&mut w.tx, account, user).await?;
        if SqlStore::fetch_login_profile(&mut w.tx, account, &user_id)
            .await?
            .is_some()
        {
            return Err(Error::already_exists(Entity::LoginProfile));
        }
        sqlx::query(
            "INSERT INTO login_profiles (account_id, user_id, password_hash, \
             password_reset_required, mfa_bind_required, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(account.as_str().to_owned())
        .bind(user_id.clone())
        .bind(profile.password_hash.clone())
        .bind(i64::from(profile.password_reset_required))
        .bind(i64::from(profile.mfa_bind_required))
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(
            Entity::LoginProfile,
            "create login profile",
        ))?;
        let (value, _) = SqlStore::fetch_login_profile(&mut w.tx, account, &user_id)
            .await?
            .ok_or_else(Error::internal)?;
        w.changed(Some(account), EntityKind::LoginProfile, &name_key(user))
            .await?;
        w.commit_with(value).await
    }

    async fn get_login_profile(&self, account: &AccountId, user: &str) -> Result<LoginProfile> {
        let mut tx = self.read().await?;
        let user_id = SqlStore::user_id(&mut tx, account, user).await?;
        let found = SqlStore::fetch_login_profile(&mut tx, account, &user_id).await?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        found
            .map(|(profile, _)| profile)
            .ok_or_else(|| Error::not_exist(Entity::LoginProfile))
    }

    async fn update_login_profile(
        &self,
        account: &AccountId,
        user: &str,
        update: &LoginProfileUpdate,
    ) -> Result<Committed<LoginProfile>> {
        if let Some(hash) = &update.password_hash {
            validate_password_hash(hash)?;
        }
        let mut w = self.write().await?;
        let user_id = SqlStore::user_id(&mut w.tx, account, user).await?;
        let (current, current_hash) = SqlStore::fetch_login_profile(&mut w.tx, account, &user_id)
            .await?
            .ok_or_else(|| Error::not_exist(Entity::LoginProfile))?;
        sqlx::query(
            "UPDATE login_profiles SET password_hash = $3, password_reset_required = $4, \
             mfa_bind_required = $5, updated_at = $6 WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(user_id.clone())
        .bind(update.password_hash.clone().unwrap_or(current_hash))
        .bind(i64::from(
            update
                .password_reset_required
                .unwrap_or(current.password_reset_required),
        ))
        .bind(i64::from(
            update
                .mfa_bind_required
                .unwrap_or(current.mfa_bind_required),
        ))
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("update login profile", &e))?;
        let (value, _) = SqlStore::fetch_login_profile(&mut w.tx, account, &user_id)
            .await?
            .ok_or_else(Error::internal)?;
        w.changed(Some(account), EntityKind::LoginProfile, &name_key(user))
            .await?;
        w.commit_with(value).await
    }

    async fn delete_login_profile(&self, account: &AccountId, user: &str) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let user_id = SqlStore::user_id(&mut w.tx, account, user).await?;
        let done = sqlx::query("DELETE FROM login_profiles WHERE account_id = $1 AND user_id = $2")
            .bind(account.as_str().to_owned())
            .bind(user_id)
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete login profile", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(Entity::LoginProfile));
        }
        w.changed(Some(account), EntityKind::LoginProfile, &name_key(user))
            .await?;
        w.commit_with(()).await
    }

    async fn login_secret(&self, account: &AccountId, user: &str) -> Result<Option<LoginSecret>> {
        let mut tx = self.read().await?;
        let found = sqlx::query("SELECT id FROM users WHERE account_id = $1 AND name_key = $2")
            .bind(account.as_str().to_owned())
            .bind(name_key(user))
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_error("user id", &e))?;
        let Some(found) = found else {
            return Ok(None);
        };
        let user_id: String = get(&found, "id")?;
        let Some((profile, password_hash)) =
            SqlStore::fetch_login_profile(&mut tx, account, &user_id).await?
        else {
            return Ok(None);
        };
        let mfa = SqlStore::fetch_user_device(&mut tx, account, &user_id)
            .await?
            .map(|(device, sealed_seed)| MfaSecret {
                serial_number: device.serial_number,
                sealed_seed,
            });
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        Ok(Some(LoginSecret {
            profile,
            password_hash,
            mfa,
        }))
    }

    async fn create_virtual_mfa_device(
        &self,
        account: &AccountId,
        name: &str,
        sealed_seed: &[u8],
    ) -> Result<Committed<VirtualMfaDevice>> {
        names::mfa_device_name(name)?;
        if sealed_seed.is_empty() {
            return Err(Error::missing("Base32StringSeed"));
        }
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        let count =
            sqlx::query("SELECT COUNT(*) AS n FROM virtual_mfa_devices WHERE account_id = $1")
                .bind(account.as_str().to_owned())
                .fetch_one(&mut *w.tx)
                .await
                .map_err(|e| db_error("count mfa devices", &e))?;
        let quota = self
            .quotas_in(&mut w.tx, account)
            .await?
            .virtual_mfa_devices;
        if get::<i64>(&count, "n")? >= i64::from(quota) {
            return Err(Error::limit_exceeded(Entity::VirtualMfaDevice, quota));
        }
        let key = name_key(name);
        let row = sqlx::query(
            "INSERT INTO virtual_mfa_devices (account_id, serial_number, name_key, sealed_seed, \
             user_id, activated_at, created_at) VALUES ($1, $2, $3, $4, NULL, NULL, $5) \
             RETURNING serial_number, activated_at, created_at",
        )
        .bind(account.as_str().to_owned())
        .bind(serial_number(account, name))
        .bind(key.clone())
        .bind(sealed_seed.to_vec())
        .bind(w.now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(
            Entity::VirtualMfaDevice,
            "create mfa device",
        ))?;
        let value = device_from_row(&row, false)?;
        w.changed(Some(account), EntityKind::MfaDevice, &key)
            .await?;
        w.commit_with(value).await
    }

    async fn list_virtual_mfa_devices(&self, account: &AccountId) -> Result<Vec<VirtualMfaDevice>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} {DEVICE_FROM} WHERE d.account_id = $1 ORDER BY d.name_key"
        ));
        let rows = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("list mfa devices", &e))?;
        rows.iter().map(|row| device_from_row(row, true)).collect()
    }

    async fn delete_virtual_mfa_device(
        &self,
        account: &AccountId,
        serial_number: &str,
    ) -> Result<Committed<()>> {
        let key = device_key(account, serial_number)?;
        let mut w = self.write().await?;
        let (_, user_id, _) = SqlStore::fetch_device(&mut w.tx, account, &key).await?;
        if user_id.is_some() {
            return Err(Error::delete_conflict(
                "VirtualMFADevice.User",
                "The virtual MFA device CAN NOT be deleted while it is bound to a user.",
            ));
        }
        sqlx::query("DELETE FROM virtual_mfa_devices WHERE account_id = $1 AND name_key = $2")
            .bind(account.as_str().to_owned())
            .bind(key.clone())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete mfa device", &e))?;
        w.changed(Some(account), EntityKind::MfaDevice, &key)
            .await?;
        w.commit_with(()).await
    }

    async fn virtual_mfa_device_seed(
        &self,
        account: &AccountId,
        serial_number: &str,
    ) -> Result<MfaSecret> {
        let key = device_key(account, serial_number)?;
        let mut conn = self.conn().await?;
        let (device, _, sealed_seed) = SqlStore::fetch_device(&mut conn, account, &key).await?;
        Ok(MfaSecret {
            serial_number: device.serial_number,
            sealed_seed,
        })
    }

    async fn bind_mfa_device(
        &self,
        account: &AccountId,
        user: &str,
        serial_number: &str,
        verified_seed: &[u8],
    ) -> Result<Committed<VirtualMfaDevice>> {
        let key = device_key(account, serial_number)?;
        let mut w = self.write().await?;
        let user_id = SqlStore::user_id(&mut w.tx, account, user).await?;
        // Writers are serialized, so the seed read here is the one the update below binds.
        let (_, bound_to, sealed_seed) = SqlStore::fetch_device(&mut w.tx, account, &key).await?;
        if sealed_seed != verified_seed {
            return Err(Error::check_authentication_code_fail());
        }
        if SqlStore::fetch_user_device(&mut w.tx, account, &user_id)
            .await?
            .is_some()
        {
            return Err(Error::already_exists(Entity::UserMfaDevice));
        }
        if bound_to.is_some() {
            return Err(device_bound_elsewhere());
        }
        sqlx::query(
            "UPDATE virtual_mfa_devices SET user_id = $3, activated_at = $4 \
             WHERE account_id = $1 AND name_key = $2 AND user_id IS NULL",
        )
        .bind(account.as_str().to_owned())
        .bind(key.clone())
        .bind(user_id.clone())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(Entity::UserMfaDevice, "bind mfa device"))?;
        let (value, _, _) = SqlStore::fetch_device(&mut w.tx, account, &key).await?;
        w.changed(Some(account), EntityKind::MfaDevice, &key)
            .await?;
        w.changed(Some(account), EntityKind::LoginProfile, &name_key(user))
            .await?;
        w.commit_with(value).await
    }

    async fn unbind_mfa_device(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Committed<VirtualMfaDevice>> {
        let mut w = self.write().await?;
        let user_id = SqlStore::user_id(&mut w.tx, account, user).await?;
        let (device, _) = SqlStore::fetch_user_device(&mut w.tx, account, &user_id)
            .await?
            .ok_or_else(|| Error::not_exist(Entity::UserMfaDevice))?;
        let key = name_key(&device.name);
        sqlx::query(
            "UPDATE virtual_mfa_devices SET user_id = NULL, activated_at = NULL \
             WHERE account_id = $1 AND name_key = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(key.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("unbind mfa device", &e))?;
        w.changed(Some(account), EntityKind::MfaDevice, &key)
            .await?;
        w.changed(Some(account), EntityKind::LoginProfile, &name_key(user))
            .await?;
        let revision = w.commit().await?;
        Ok(Committed {
            value: VirtualMfaDevice {
                user_name: None,
                activated_at: None,
                ..device
            },
            revision,
        })
    }

    async fn get_user_mfa_device(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Option<VirtualMfaDevice>> {
        let mut tx = self.read().await?;
        let user_id = SqlStore::user_id(&mut tx, account, user).await?;
        let device = SqlStore::fetch_user_device(&mut tx, account, &user_id).await?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        Ok(device.map(|(device, _)| device))
    }
}
