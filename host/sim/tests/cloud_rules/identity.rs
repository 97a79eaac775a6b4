//! Keystone: tokens for passwords and application credentials, the catalog on the cloud's own
//! address, expiry, and refusals in Keystone's shape (reference §2.1).

use std::time::Duration;

use lifeboat_sim::cloud::state::Fault;
use reqwest::Method;
use serde_json::json;

use super::{Session, example, password_auth, send};

#[tokio::test]
async fn a_password_token_is_project_scoped_with_a_catalog_on_the_bound_address() {
    let sim = example().await;
    let east = sim.cloud("east").unwrap();
    let answer = send(
        Method::POST,
        &format!("{}/auth/tokens", east.auth_url()),
        None,
        None,
        Some(password_auth("alice", "alice-secret", "production")),
    )
    .await;
    assert_eq!(answer.status, 201);
    let token = &answer.body["token"];
    assert_eq!(token["project"]["name"], "production");
    assert_eq!(token["user"]["name"], "alice");
    let roles: Vec<&str> = token["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["member", "reader"]);
    let project = token["project"]["id"].as_str().unwrap();
    let url = |kind: &str| {
        token["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == kind)
            .unwrap()["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        url("block-storage"),
        format!("{}/volume/v3/{project}", east.base_url)
    );
    assert_eq!(url("volumev3"), url("block-storage"));
    assert_eq!(url("compute"), format!("{}/compute/v2.1", east.base_url));
    assert!(token["expires_at"].as_str().unwrap().ends_with('Z'));

    // The token validates, and alice has no role on recovery.
    let subject = answer.header("x-subject-token").unwrap();
    let check = reqwest::Client::new()
        .get(format!("{}/auth/tokens", east.auth_url()))
        .header("X-Auth-Token", subject)
        .header("X-Subject-Token", subject)
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), 200);
    let refused = send(
        Method::POST,
        &format!("{}/auth/tokens", east.auth_url()),
        None,
        None,
        Some(password_auth("alice", "alice-secret", "recovery")),
    )
    .await;
    assert_eq!(refused.status, 401);
}

#[tokio::test]
async fn wrong_secrets_and_unscoped_requests_are_refused_in_keystones_shape() {
    let sim = example().await;
    let east = sim.cloud("east").unwrap();
    let url = format!("{}/auth/tokens", east.auth_url());
    let wrong = send(
        Method::POST,
        &url,
        None,
        None,
        Some(password_auth("alice", "nope", "production")),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error"]["title"], "Unauthorized");
    assert!(
        !wrong.body.to_string().contains("nope"),
        "the answer never echoes a password"
    );
    let unscoped = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "alice", "domain": {"name": "Default"}, "password": "alice-secret"}}}}});
    assert_eq!(
        send(Method::POST, &url, None, None, Some(unscoped))
            .await
            .status,
        401
    );
    let no_methods = json!({"auth": {"identity": {"methods": []}}});
    assert_eq!(
        send(Method::POST, &url, None, None, Some(no_methods))
            .await
            .status,
        400
    );
    let other_domain = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "alice", "domain": {"name": "Elsewhere"}, "password": "alice-secret"}}},
        "scope": {"project": {"name": "production", "domain": {"name": "Default"}}}}});
    assert_eq!(
        send(Method::POST, &url, None, None, Some(other_domain))
            .await
            .status,
        401
    );
    // A token of one cloud means nothing to another.
    let admin = Session::east_admin(&sim).await;
    let west = sim.cloud("west").unwrap();
    let foreign = send(
        Method::GET,
        &format!("{}/volume/v3/volumes", west.base_url),
        Some(&admin.token),
        None,
        None,
    )
    .await;
    assert_eq!(foreign.status, 401);
}

#[tokio::test]
async fn an_application_credential_is_bound_to_its_project_and_roles() {
    let sim = example().await;
    let east = sim.cloud("east").unwrap();
    let url = format!("{}/auth/tokens", east.auth_url());
    let body = |secret: &str| {
        json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"name": "dr-backup", "secret": secret,
                "user": {"name": "alice", "domain": {"name": "Default"}}}}}})
    };
    let answer = send(
        Method::POST,
        &url,
        None,
        None,
        Some(body("dr-backup-secret")),
    )
    .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.body["token"]["project"]["name"], "production");
    assert_eq!(answer.body["token"]["methods"][0], "application_credential");
    assert_eq!(
        send(Method::POST, &url, None, None, Some(body("wrong")))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn tokens_expire_with_simulated_time_and_when_the_control_plane_says_so() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    assert_eq!(
        admin
            .volume(Method::GET, "/volumes", "3.71", None)
            .await
            .status,
        200
    );
    admin.cloud.advance(Duration::from_secs(3601));
    assert_eq!(
        admin
            .volume(Method::GET, "/volumes", "3.71", None)
            .await
            .status,
        401
    );
    let fresh = Session::east_admin(&sim).await;
    assert_eq!(
        fresh
            .volume(Method::GET, "/volumes", "3.71", None)
            .await
            .status,
        200
    );
    fresh.cloud.arm(&Fault::ExpireTokens);
    assert_eq!(
        fresh
            .volume(Method::GET, "/volumes", "3.71", None)
            .await
            .status,
        401
    );
}
