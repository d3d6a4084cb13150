//! The `tessera.v1` gRPC API (proto/tessera/v1), generated: message types, client stubs and
//! server traits. Convert to domain types at the edge (the server's service modules), never
//! deeper.
//!
//! [`alibaba`] maps Alibaba Cloud's RAM/STS API (action names, parameters, response JSON) onto
//! these services, for the server's HTTP endpoint and the CLI alike.

#![allow(clippy::all, clippy::pedantic, missing_debug_implementations)]

pub mod alibaba;
mod redact;

/// Package `tessera.v1`.
pub mod v1 {
    tonic::include_proto!("tessera.v1");

    /// The encoded `FileDescriptorSet`, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/tessera_v1_descriptor.bin"));
}
