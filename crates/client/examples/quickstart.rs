//! Bootstraps a tenant account with the operator's key, then asks Authorize about one of its
//! users before and after a policy grants the action.
//!
//! Start a server (`cargo run -p tessera-server --bin tesserad -- serve`), then:
//!
//! ```sh
//! cargo run -p tessera-client --example quickstart -- tessera-data/operator.json
//! ```
//!
//! The endpoint is `$TESSERA_ENDPOINT`, else `http://127.0.0.1:7733`.

use tessera_client::{Client, Credential, DEFAULT_ENDPOINT, pb};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let operator_file = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tessera-data/operator.json".to_owned());
    let endpoint = std::env::var("TESSERA_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.into());
    let operator: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&operator_file)?)?;
    let field = |name: &str| {
        operator[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{operator_file} has no {name}"))
    };

    // The operator creates an account; its root key is returned once.
    let as_operator = Client::connect(
        &endpoint,
        Credential::access_key(field("AccessKeyId")?, field("AccessKeySecret")?),
    )
    .await?;
    let created = as_operator
        .operator()
        .create_account(pb::CreateAccountRequest {
            name: format!("example-{}", std::process::id()),
        })
        .await?
        .into_inner();
    let account = created.account.unwrap_or_default();
    println!("created account {}", account.account_id);

    // Its root creates a user and asks whether the user may read a photo.
    let as_root = as_operator.with_provider(Credential::access_key(
        created.root_access_key_id,
        created.root_access_key_secret,
    ));
    as_root
        .ram()
        .create_user(pb::CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        })
        .await?;
    let alice = format!("acs:ram::{}:user/alice", account.account_id);
    let item = pb::AuthorizeItem {
        action: "oss:GetObject".into(),
        resource: format!("acs:oss:*:{}:photos/cat.jpg", account.account_id),
        context: Vec::new(),
    };
    let ask = |min_revision: u64| pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            kind: Some(pb::subject::Kind::PrincipalArn(alice.clone())),
            ..Default::default()
        }),
        item: Some(item.clone()),
        min_revision,
        explain: true,
    };
    let before = as_root.authorizer().authorize(ask(0)).await?.into_inner();
    println!("before: {:?}", decision(&before));

    // A policy allowing reads of photos, attached to alice.
    as_root
        .ram()
        .create_policy(pb::CreatePolicyRequest {
            policy_name: "ReadPhotos".into(),
            policy_document: r#"{"Version": "1", "Statement": [{"Effect": "Allow",
                "Action": "oss:Get*", "Resource": "acs:oss:*:*:photos/*"}]}"#
                .into(),
            description: String::new(),
        })
        .await?;
    let attached = as_root
        .ram()
        .attach_policy(pb::AttachmentRequest {
            target_kind: pb::TargetKind::User.into(),
            target_name: "alice".into(),
            policy_name: "ReadPhotos".into(),
            policy_type: "Custom".into(),
        })
        .await?
        .into_inner();
    // Read-your-writes: decide at the attachment's revision or later.
    let after = as_root
        .authorizer()
        .authorize(ask(attached.revision))
        .await?
        .into_inner();
    println!("after:  {:?}", decision(&after));
    Ok(())
}

fn decision(response: &pb::AuthorizeResponse) -> pb::Decision {
    response
        .result
        .as_ref()
        .map_or(pb::Decision::Unspecified, |r| r.decision())
}
