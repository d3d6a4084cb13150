//! Compiles proto/tessera/v1 with protox (a pure-Rust protobuf compiler, so no `protoc` is
//! needed) and generates prost types and tonic stubs, plus the encoded descriptor set for
//! gRPC server reflection.

use std::path::PathBuf;

/// Messages (and oneofs) with a secret field: passwords, access key secrets, security tokens,
/// TOTP seeds and codes, OIDC tokens.
const SECRET_BEARING: &[&str] = &[
    "Subject",
    "Subject.kind",
    "CreateAccountResponse",
    "CreateAccessKeyResponse",
    "LoginProfileRequest",
    "CreateVirtualMFADeviceResponse",
    "BindMFADeviceRequest",
    "Credentials",
    "SignInRequest",
    "AssumeRoleWithOIDCRequest",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = ["audit", "authorizer", "common", "operator", "ram", "sts"]
        .map(|name| root.join("tessera/v1").join(format!("{name}.proto")));
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("tessera_v1_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    let mut config = tonic_prost_build::configure();
    // Messages that carry secrets print them redacted: their `Debug` is written by hand in
    // src/redact.rs.
    for message in SECRET_BEARING {
        config = config.skip_debug([format!(".tessera.v1.{message}")]);
    }
    config
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
