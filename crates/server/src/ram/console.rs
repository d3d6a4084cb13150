//! Console credentials: login profiles (passwords) and virtual MFA devices.
//!
//! - Login profiles: `CreateLoginProfile`, `GetLoginProfile`, `UpdateLoginProfile`,
//!   `DeleteLoginProfile`. A password is checked against RAM's default password rule
//!   ([`check_strength`], `InvalidParameter.Password.TooWeak`) and hashed into an argon2id PHC
//!   string on the blocking pool (argon2 takes tens of milliseconds of CPU by design); only the
//!   hash is stored, and no response carries the password or the hash.
//! - Virtual MFA devices: `CreateVirtualMFADevice` returns the serial number
//!   `acs:ram::<account>:mfa/<name>`, the TOTP seed in base32 and, instead of RAM's QR code PNG,
//!   the `otpauth://` URI such a QR code carries — the only time the seed leaves the server. The
//!   seed is stored sealed under [`mfa_seed_context`] of the serial number.
//!   `ListVirtualMFADevices`, `DeleteVirtualMFADevice` (`DeleteConflict.VirtualMFADevice.User`
//!   while bound).
//! - Binding: `BindMFADevice` proves possession with two consecutive codes
//!   (`AuthenticationCode1`, then `AuthenticationCode2`) checked at the request's receive time
//!   (±1 step of skew): not six digits → `InvalidParameter.AuthenticationCode.Format`, wrong →
//!   `CheckAuthenticationCodeFail`. The store binds only if the device still has the seed the
//!   codes were checked against (a device deleted and recreated meanwhile is refused the same
//!   way). `UnbindMFADevice`, `GetUserMFAInfo` (`EntityNotExist.User.MFADevice` without one).
//!
//! Login-profile and binding operations are authorized on the user's ARN; device operations on
//! the device's (`…:mfa/<name>`, the serial number itself for deletion).

use tessera_credentials::{PasswordError, Secret, check_strength, hash_password, totp};
use tessera_proto::v1 as pb;
use tessera_store::{CredentialStore as _, LoginProfileUpdate, NewLoginProfile};
use tonic::{Request, Response, Status};

use super::*;
use crate::bootstrap::mfa_seed_context;

/// The issuer authenticator apps show next to a device's codes.
const OTPAUTH_ISSUER: &str = "Tessera";

fn login_profile(p: tessera_store::LoginProfile) -> pb::LoginProfile {
    pb::LoginProfile {
        user_name: p.user_name,
        password_reset_required: p.password_reset_required,
        mfa_bind_required: p.mfa_bind_required,
        create_date: Some(timestamp(p.created_at)),
    }
}

fn device(d: tessera_store::VirtualMfaDevice) -> pb::VirtualMfaDevice {
    pb::VirtualMfaDevice {
        serial_number: d.serial_number,
        user_name: d.user_name.unwrap_or_default(),
        activate_date: d.activated_at.map(timestamp),
    }
}

fn password_error(e: &PasswordError) -> Status {
    match e {
        PasswordError::TooWeak(reason) => err(Error::password_too_weak(reason)),
        PasswordError::MalformedHash | PasswordError::Hashing => {
            tracing::error!(error = %e, "password hashing failed");
            err(Error::internal())
        }
    }
}

/// The argon2id PHC string of `password`, after the strength check (cheap, so done before
/// handing the expensive hashing to the blocking pool).
async fn hash(password: Secret) -> Result<String, Status> {
    if password.is_empty() {
        return Err(err(Error::missing("Password")));
    }
    check_strength(&password).map_err(|e| password_error(&e))?;
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the password hashing task failed");
            err(Error::internal())
        })?
        .map_err(|e| password_error(&e))
}

// --- login profiles ---

pub(super) async fn create_login_profile(
    svc: &RamService,
    request: Request<pb::LoginProfileRequest>,
) -> Result<Response<pb::LoginProfileResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "CreateLoginProfile",
            &user_target(&request.get_ref().user_name),
        )
        .await?;
    let req = request.into_inner();
    let new = NewLoginProfile {
        password_hash: hash(Secret::new(req.password.into_bytes())).await?,
        password_reset_required: req.password_reset_required.unwrap_or(false),
        mfa_bind_required: req.mfa_bind_required.unwrap_or(false),
    };
    let committed = svc
        .store()
        .create_login_profile(&account, &req.user_name, &new)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::LoginProfileResponse {
        login_profile: Some(login_profile(committed.value)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn get_login_profile(
    svc: &RamService,
    request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::LoginProfileResponse>, Status> {
    let name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "GetLoginProfile", &user_target(name))
        .await?;
    let found = svc
        .store()
        .get_login_profile(&account, name)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::LoginProfileResponse {
        login_profile: Some(login_profile(found)),
        revision: 0,
    }))
}

pub(super) async fn update_login_profile(
    svc: &RamService,
    request: Request<pb::LoginProfileRequest>,
) -> Result<Response<pb::LoginProfileResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "UpdateLoginProfile",
            &user_target(&request.get_ref().user_name),
        )
        .await?;
    let req = request.into_inner();
    // An empty password keeps the current one.
    let password_hash = if req.password.is_empty() {
        None
    } else {
        Some(hash(Secret::new(req.password.into_bytes())).await?)
    };
    let update = LoginProfileUpdate {
        password_hash,
        password_reset_required: req.password_reset_required,
        mfa_bind_required: req.mfa_bind_required,
    };
    let committed = svc
        .store()
        .update_login_profile(&account, &req.user_name, &update)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::LoginProfileResponse {
        login_profile: Some(login_profile(committed.value)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn delete_login_profile(
    svc: &RamService,
    request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "DeleteLoginProfile", &user_target(name))
        .await?;
    let committed = svc
        .store()
        .delete_login_profile(&account, name)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

// --- virtual MFA devices ---

pub(super) async fn create_virtual_mfa_device(
    svc: &RamService,
    request: Request<pb::CreateVirtualMfaDeviceRequest>,
) -> Result<Response<pb::CreateVirtualMfaDeviceResponse>, Status> {
    let name = &request.get_ref().virtual_mfa_device_name;
    let target = Target {
        mfa_device_name: Some(name),
        ..Target::default()
    };
    // The operations table validated the name before building the device's ARN from it.
    let account = svc
        .authorize(&request, "CreateVirtualMFADevice", &target)
        .await?;
    // The serial number the store gives the device (checked below), needed before the insert
    // because the seed is sealed under it.
    let serial_number = format!("acs:ram::{}:mfa/{name}", account.as_str());
    let seed = totp::new_seed();
    let sealed_seed = svc
        .sealer
        .seal(&seed, &mfa_seed_context(&serial_number))
        .map_err(|e| {
            tracing::error!(error = %e, "sealing a new MFA seed failed");
            err(Error::internal())
        })?;
    let committed = svc
        .store()
        .create_virtual_mfa_device(&account, name, &sealed_seed)
        .await
        .map_err(err)?;
    if committed.value.serial_number != serial_number {
        tracing::error!(
            serial_number = %committed.value.serial_number,
            "the store named a new MFA device other than its seed was sealed for"
        );
        return Err(err(Error::internal()));
    }
    let base32 = totp::seed_base32(&seed);
    let uri = totp::otpauth_uri(&seed, OTPAUTH_ISSUER, &format!("{name}@{account}"));
    Ok(Response::new(pb::CreateVirtualMfaDeviceResponse {
        device: Some(device(committed.value)),
        // Base32 and the URI are ASCII; the lossy conversion never replaces anything.
        base32_string_seed: String::from_utf8_lossy(base32.expose()).into_owned(),
        otpauth_uri: String::from_utf8_lossy(uri.expose()).into_owned(),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn list_virtual_mfa_devices(
    svc: &RamService,
    request: Request<pb::ListVirtualMfaDevicesRequest>,
) -> Result<Response<pb::ListVirtualMfaDevicesResponse>, Status> {
    let account = svc
        .authorize(&request, "ListVirtualMFADevices", &Target::default())
        .await?;
    let devices = svc
        .store()
        .list_virtual_mfa_devices(&account)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListVirtualMfaDevicesResponse {
        devices: devices.into_iter().map(device).collect(),
    }))
}

pub(super) async fn delete_virtual_mfa_device(
    svc: &RamService,
    request: Request<pb::MfaDeviceRef>,
) -> Result<Response<pb::WriteResult>, Status> {
    let serial_number = &request.get_ref().serial_number;
    let target = Target {
        serial_number: Some(serial_number),
        ..Target::default()
    };
    let account = svc
        .authorize(&request, "DeleteVirtualMFADevice", &target)
        .await?;
    let committed = svc
        .store()
        .delete_virtual_mfa_device(&account, serial_number)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

/// `code`, required and six digits.
fn authentication_code<'a>(code: &'a str, field: &str) -> Result<&'a str, Status> {
    if code.is_empty() {
        return Err(err(Error::missing(field)));
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(Error::authentication_code_format(field)));
    }
    Ok(code)
}

pub(super) async fn bind_mfa_device(
    svc: &RamService,
    request: Request<pb::BindMfaDeviceRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(&request, "BindMFADevice", &user_target(&req.user_name))
        .await?;
    let at = authenticated(&request)?.received_at;
    if req.serial_number.is_empty() {
        return Err(err(Error::missing("SerialNumber")));
    }
    let first = authentication_code(&req.authentication_code1, "AuthenticationCode1")?;
    let second = authentication_code(&req.authentication_code2, "AuthenticationCode2")?;
    let stored = svc
        .store()
        .virtual_mfa_device_seed(&account, &req.serial_number)
        .await
        .map_err(err)?;
    let seed = svc
        .sealer
        .open(
            &stored.sealed_seed,
            &mfa_seed_context(&stored.serial_number),
        )
        .map_err(|e| {
            tracing::error!(
                error = %e,
                serial_number = %stored.serial_number,
                "an MFA seed does not open"
            );
            err(Error::internal())
        })?;
    if totp::check_consecutive(&seed, first, second, at).is_none() {
        return Err(err(Error::check_authentication_code_fail()));
    }
    let committed = svc
        .store()
        .bind_mfa_device(
            &account,
            &req.user_name,
            &stored.serial_number,
            &stored.sealed_seed,
        )
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn unbind_mfa_device(
    svc: &RamService,
    request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::VirtualMfaDeviceResponse>, Status> {
    let name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "UnbindMFADevice", &user_target(name))
        .await?;
    let committed = svc
        .store()
        .unbind_mfa_device(&account, name)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::VirtualMfaDeviceResponse {
        device: Some(device(committed.value)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn get_user_mfa_info(
    svc: &RamService,
    request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::VirtualMfaDeviceResponse>, Status> {
    let name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "GetUserMFAInfo", &user_target(name))
        .await?;
    let found = svc
        .store()
        .get_user_mfa_device(&account, name)
        .await
        .map_err(err)?
        .ok_or_else(|| err(Error::not_exist(tessera_iam::Entity::UserMfaDevice)))?;
    Ok(Response::new(pb::VirtualMfaDeviceResponse {
        device: Some(device(found)),
        revision: 0,
    }))
}
