//! Console credentials: login profiles (passwords) and virtual MFA devices.

use tessera_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::*;

pub(super) async fn create_login_profile(
    _svc: &RamService,
    _request: Request<pb::LoginProfileRequest>,
) -> Result<Response<pb::LoginProfileResponse>, Status> {
    Err(unimplemented("CreateLoginProfile"))
}

pub(super) async fn get_login_profile(
    _svc: &RamService,
    _request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::LoginProfileResponse>, Status> {
    Err(unimplemented("GetLoginProfile"))
}

pub(super) async fn update_login_profile(
    _svc: &RamService,
    _request: Request<pb::LoginProfileRequest>,
) -> Result<Response<pb::LoginProfileResponse>, Status> {
    Err(unimplemented("UpdateLoginProfile"))
}

pub(super) async fn delete_login_profile(
    _svc: &RamService,
    _request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("DeleteLoginProfile"))
}

pub(super) async fn create_virtual_mfa_device(
    _svc: &RamService,
    _request: Request<pb::CreateVirtualMfaDeviceRequest>,
) -> Result<Response<pb::CreateVirtualMfaDeviceResponse>, Status> {
    Err(unimplemented("CreateVirtualMFADevice"))
}

pub(super) async fn list_virtual_mfa_devices(
    _svc: &RamService,
    _request: Request<pb::ListVirtualMfaDevicesRequest>,
) -> Result<Response<pb::ListVirtualMfaDevicesResponse>, Status> {
    Err(unimplemented("ListVirtualMFADevices"))
}

pub(super) async fn delete_virtual_mfa_device(
    _svc: &RamService,
    _request: Request<pb::MfaDeviceRef>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("DeleteVirtualMFADevice"))
}

pub(super) async fn bind_mfa_device(
    _svc: &RamService,
    _request: Request<pb::BindMfaDeviceRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("BindMFADevice"))
}

pub(super) async fn unbind_mfa_device(
    _svc: &RamService,
    _request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::VirtualMfaDeviceResponse>, Status> {
    Err(unimplemented("UnbindMFADevice"))
}

pub(super) async fn get_user_mfa_info(
    _svc: &RamService,
    _request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::VirtualMfaDeviceResponse>, Status> {
    Err(unimplemented("GetUserMFAInfo"))
}
