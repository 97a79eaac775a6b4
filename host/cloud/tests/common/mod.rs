//! What the integration tests share: the simulated clouds of examples/openstack-clouds.yaml,
//! connections to them through the client, the simulator's control plane, and the check that
//! errors show no secret.

#![allow(dead_code)] // Each test binary uses its own part of this module.

pub mod proxy;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_cloud::{
    ApplicationCredentialRef, Cloud, CloudConfig, Credentials, DomainRef, ProjectScope, UserRef,
};
use lifeboat_sim::cloud::{Cloud as SimCloud, CloudFixture, CloudSimulator};
use url::Url;

/// How long a wait may take: the simulator's transitions take at most a few hundred ms.
pub const WAIT: Duration = Duration::from_secs(30);

/// The passwords and secrets of the built-in fixture, which no error may show.
pub const EAST_ADMIN_PASSWORD: &str = "east-admin-secret";
pub const WEST_ADMIN_PASSWORD: &str = "west-admin-secret";
pub const ALICE_PASSWORD: &str = "alice-secret";
pub const BOB_PASSWORD: &str = "bob-secret";
pub const DR_BACKUP_SECRET: &str = "dr-backup-secret";

/// Every password and secret of the built-in fixture.
pub const FIXTURE_SECRETS: &[&str] = &[
    EAST_ADMIN_PASSWORD,
    WEST_ADMIN_PASSWORD,
    ALICE_PASSWORD,
    BOB_PASSWORD,
    DR_BACKUP_SECRET,
];

/// Starts the clouds of the built-in fixture on ephemeral loopback ports.
pub async fn start() -> CloudSimulator {
    start_with(&CloudFixture::builtin()).await
}

pub async fn start_with(fixture: &CloudFixture) -> CloudSimulator {
    CloudSimulator::start(fixture, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the simulated clouds start")
}

/// The built-in fixture after `edit` changed its text (a lower microversion, a shorter token
/// lifetime…).
pub fn fixture_edited(edit: impl FnOnce(String) -> String) -> CloudFixture {
    let text = edit(lifeboat_sim::cloud::BUILTIN_CLOUD_FIXTURE.to_owned());
    CloudFixture::parse(&text, "edited fixture").expect("the edited fixture is valid")
}

pub fn cloud<'a>(sim: &'a CloudSimulator, name: &str) -> &'a Arc<SimCloud> {
    sim.cloud(name).expect("the fixture has this cloud")
}

/// The settings of `user` (domain Default) on `project` of `cloud`, with `auth_url`.
pub fn password_config(
    cloud: &SimCloud,
    auth_url: &str,
    user: &str,
    password: &str,
    project: &str,
) -> CloudConfig {
    CloudConfig::new(
        Url::parse(auth_url).expect("the simulator's auth URL parses"),
        Credentials::password(user, "Default", password),
    )
    .with_project(ProjectScope::name(project, "Default"))
    .with_region(cloud.region.clone())
}

/// Connects as `user` to `project`, with the versioned auth URL.
pub async fn connect(cloud: &SimCloud, user: &str, password: &str, project: &str) -> Cloud {
    let config = password_config(cloud, &cloud.auth_url(), user, password, project);
    Cloud::connect(config)
        .await
        .unwrap_or_else(|error| panic!("{user} connects to {project}: {error}"))
}

/// The application credential `dr-backup` of alice, named with its owner as openstacksdk's
/// `v3applicationcredential` does.
pub fn application_credential_config(cloud: &SimCloud) -> CloudConfig {
    let credentials = Credentials::ApplicationCredential {
        credential: ApplicationCredentialRef::Name {
            name: "dr-backup".into(),
            user: UserRef::Name {
                name: "alice".into(),
                domain: DomainRef::Name("Default".into()),
            },
        },
        secret: DR_BACKUP_SECRET.into(),
    };
    CloudConfig::new(Url::parse(&cloud.auth_url()).unwrap(), credentials)
        .with_region(cloud.region.clone())
}

pub async fn east_admin(sim: &CloudSimulator) -> Cloud {
    connect(
        cloud(sim, "east"),
        "admin",
        EAST_ADMIN_PASSWORD,
        "production",
    )
    .await
}

/// Calls the simulator's control plane (`/_sim/...`), which is not OpenStack and needs no
/// token, and returns the status and body.
pub async fn control(
    cloud: &SimCloud,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, Vec<u8>) {
    // Plain HTTP; reqwest still wants a TLS configuration, and the client's crate installs no
    // process-wide crypto provider.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let mut request = http.request(method, format!("{}/_sim/{path}", cloud.base_url));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the control plane answers");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("the control plane's body");
    (status, body.to_vec())
}

/// Every token `cloud` issued so far (from its state), to check that no error shows one.
pub fn issued_tokens(cloud: &SimCloud) -> Vec<String> {
    cloud.with(|state| state.identity.tokens.keys().cloned().collect())
}

/// Asserts that neither the `Display` nor the `Debug` (plain and pretty) of `error` contains
/// any of `secrets`.
pub fn assert_shows_no_secret<E: std::fmt::Display + Debug>(error: &E, secrets: &[&str]) {
    let shown = format!("{error} {error:?} {error:#?}");
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        assert!(
            !shown.contains(secret),
            "an error shows the secret {secret:?}: {shown}"
        );
    }
}

/// A volume's bytes as the simulator holds them.
pub fn content(cloud: &SimCloud, volume_id: &str) -> Vec<u8> {
    cloud
        .volume_content(volume_id)
        .unwrap_or_else(|error| panic!("volume {volume_id} has content: {error:?}"))
}

/// `bytes` with `patch` written at `offset`, growing it if needed, as a guest's write would
/// leave the volume.
pub fn patched(bytes: &[u8], offset: usize, patch: &[u8]) -> Vec<u8> {
    let mut result = bytes.to_vec();
    if result.len() < offset + patch.len() {
        result.resize(offset + patch.len(), 0);
    }
    result[offset..offset + patch.len()].copy_from_slice(patch);
    result
}
