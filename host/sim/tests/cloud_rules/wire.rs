//! Discovery documents, microversions, URL forms and error envelopes (reference §2.2, §2.3,
//! §2.8).

use reqwest::Method;
use serde_json::json;

use super::{Session, example, send};

#[tokio::test]
async fn version_documents_answer_without_a_token_with_absolute_self_links() {
    let sim = example().await;
    let base = &sim.cloud("east").unwrap().base_url;
    let root = send(Method::GET, &format!("{base}/identity"), None, None, None).await;
    assert_eq!(root.status, 300);
    assert_eq!(root.body["versions"]["values"][0]["id"], "v3.14");
    let v3 = send(
        Method::GET,
        &format!("{base}/identity/v3"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(v3.status, 200);
    assert_eq!(
        v3.body["version"]["links"][0]["href"],
        format!("{base}/identity/v3/")
    );
    assert_eq!(v3.body["version"]["status"], "stable");

    let cinder_root = send(Method::GET, &format!("{base}/volume/"), None, None, None).await;
    assert_eq!(cinder_root.status, 300);
    for path in ["/volume/v3", "/volume/v3/"] {
        let doc = send(Method::GET, &format!("{base}{path}"), None, None, None).await;
        assert_eq!(doc.status, 200, "{path}");
        let version = &doc.body["versions"][0];
        assert_eq!(
            (version["min_version"].as_str(), version["version"].as_str()),
            (Some("3.0"), Some("3.71"))
        );
        let links = version["links"].as_array().unwrap();
        assert!(
            links
                .iter()
                .any(|l| l["rel"] == "self" && l["href"] == format!("{base}/volume/v3/"))
        );
    }
    let nova = send(
        Method::GET,
        &format!("{base}/compute/v2.1/"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(nova.status, 200);
    assert_eq!(nova.body["version"]["version"], "2.96");
    assert_eq!(
        nova.body["version"]["links"][0]["href"],
        format!("{base}/compute/v2.1/")
    );
    let nova_root = send(Method::GET, &format!("{base}/compute/"), None, None, None).await;
    let fixture = lifeboat_sim::cloud::CloudFixture::parse(
        "clouds: [{name: old, microversions: {volume: \"3.50\"}}]",
        "old cloud",
    )
    .unwrap();
    let old = super::start(&fixture).await;
    let old_base = &old.cloud("old").unwrap().base_url;
    let old_root = send(
        Method::GET,
        &format!("{old_base}/volume/"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(
        old_root.body["versions"][0]["version"], "3.50",
        "the root tells the real maximum"
    );
    assert_eq!(nova_root.body["versions"].as_array().unwrap().len(), 2);
    let neutron = send(Method::GET, &format!("{base}/network/"), None, None, None).await;
    assert_eq!(
        neutron.body["versions"][0]["links"][0]["href"],
        format!("{base}/network/v2.0/")
    );
}

#[tokio::test]
async fn microversions_are_echoed_defaulted_and_bounded() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let asked = admin.volume(Method::GET, "/backups", "3.64", None).await;
    assert_eq!(asked.header("openstack-api-version"), Some("volume 3.64"));
    assert!(
        asked
            .headers
            .get_all("vary")
            .iter()
            .any(|v| v == "OpenStack-API-Version")
    );
    let url = format!(
        "{}/volume/v3/{}/backups",
        admin.cloud.base_url, admin.project_id
    );
    let none = send(Method::GET, &url, Some(&admin.token), None, None).await;
    assert_eq!(none.header("openstack-api-version"), Some("volume 3.0"));
    let latest = admin.volume(Method::GET, "/backups", "latest", None).await;
    assert_eq!(latest.header("openstack-api-version"), Some("volume 3.71"));
    let beyond = admin.volume(Method::GET, "/backups", "3.72", None).await;
    assert!(
        beyond
            .error(406, "notAcceptable")
            .contains("maximum is 3.71")
    );
    let garbage = admin.volume(Method::GET, "/backups", "three", None).await;
    garbage.error(406, "notAcceptable");
    // Nova also reads its legacy header, and names both in its answer.
    let url = format!(
        "{}/compute/v2.1/flavors/detail?is_public=None",
        admin.cloud.base_url
    );
    let mut request = reqwest::Client::new()
        .get(&url)
        .header("X-Auth-Token", &admin.token);
    request = request.header("X-OpenStack-Nova-API-Version", "2.61");
    let legacy = request.send().await.unwrap();
    assert_eq!(legacy.headers()["x-openstack-nova-api-version"], "2.61");
    assert!(legacy.headers().get("x-compute-request-id").is_some());
    let flavors: serde_json::Value = legacy.json().await.unwrap();
    assert!(
        flavors["flavors"][0].get("extra_specs").is_some(),
        "extra_specs from 2.61"
    );
    let old = admin
        .compute(Method::GET, "/flavors/detail", "2.60", None)
        .await;
    assert!(old.body["flavors"][0].get("extra_specs").is_none());
    assert_eq!(
        old.body["flavors"][0]["swap"], "",
        "before 2.75 a swap of 0 is \"\""
    );
}

#[tokio::test]
async fn urls_work_with_and_without_the_project_id_and_refuse_another_project() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let base = &admin.cloud.base_url;
    let with = send(
        Method::GET,
        &format!("{base}/volume/v3/{}/volumes", admin.project_id),
        Some(&admin.token),
        None,
        None,
    )
    .await;
    let without = send(
        Method::GET,
        &format!("{base}/volume/v3/volumes"),
        Some(&admin.token),
        None,
        None,
    )
    .await;
    assert_eq!(with.status, 200);
    assert_eq!(with.body, without.body);
    assert_eq!(with.body["volumes"].as_array().unwrap().len(), 3);
    let recovery = admin.cloud.project_id("recovery").unwrap();
    let other = send(
        Method::GET,
        &format!("{base}/volume/v3/{recovery}/volumes"),
        Some(&admin.token),
        None,
        None,
    )
    .await;
    assert_eq!(other.error(400, "badRequest"), "Malformed request url");
}

#[tokio::test]
async fn bad_requests_get_openstack_shaped_errors() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let base = admin.cloud.base_url.clone();
    let url = format!("{base}/volume/v3/{}/volumes", admin.project_id);

    let no_token = send(Method::GET, &url, None, None, None).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.body["error"]["code"], 401);
    assert!(
        no_token
            .header("www-authenticate")
            .unwrap()
            .contains("/identity")
    );
    let bad_token = send(Method::GET, &url, Some("gAAAAAnot-a-token"), None, None).await;
    assert_eq!(bad_token.status, 401);

    let malformed = reqwest::Client::new()
        .post(&url)
        .header("X-Auth-Token", &admin.token)
        .body("{\"volume\": {\"size\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["badRequest"]["code"], 400);

    let unwrapped = admin
        .volume(Method::POST, "/volumes", "3.71", Some(json!({"size": 1})))
        .await;
    assert!(unwrapped.error(400, "badRequest").contains("'volume'"));
    let huge_size = json!({"volume": {"size": 1u64 << 40}});
    let huge_size = admin
        .volume(Method::POST, "/volumes", "3.71", Some(huge_size))
        .await;
    huge_size.error(400, "badRequest");
    let bad_size = admin
        .volume(
            Method::POST,
            "/volumes",
            "3.71",
            Some(json!({"volume": {"size": "big"}})),
        )
        .await;
    assert!(bad_size.error(400, "badRequest").contains("size"));

    let unknown = admin
        .volume(
            Method::GET,
            "/volumes/00000000-0000-0000-0000-000000000000",
            "3.71",
            None,
        )
        .await;
    assert_eq!(
        unknown.error(404, "itemNotFound"),
        "Volume 00000000-0000-0000-0000-000000000000 could not be found."
    );
    let unknown_backup = admin
        .volume(Method::DELETE, "/backups/nope", "3.64", None)
        .await;
    unknown_backup.error(404, "itemNotFound");
    let unknown_server = admin
        .compute(Method::GET, "/servers/nope", "2.96", None)
        .await;
    unknown_server.error(404, "itemNotFound");
    let no_route = send(Method::GET, &format!("{base}/nowhere"), None, None, None).await;
    no_route.error(404, "itemNotFound");
    let wrong_method = admin.volume(Method::PATCH, "/volumes", "3.71", None).await;
    assert_eq!(wrong_method.status, 405);

    // Cinder and Nova refuse bodies over 112 KiB before reading them.
    let huge = json!({"volume": {"size": 1, "name": "x".repeat(200 * 1024)}});
    let too_large = admin
        .volume(Method::POST, "/volumes", "3.71", Some(huge))
        .await;
    too_large.error(413, "overLimit");
    // Every answer carries a request id.
    assert!(
        too_large
            .header("x-openstack-request-id")
            .unwrap()
            .starts_with("req-")
    );
}

/// Mutated requests — paths, methods, microversions and bodies cut, flipped and spliced — get
/// answers, never a panic or a 5xx other than the 503 of a missing service. The fuzz target
/// `cloud_api` does the same without bounds; this keeps CI honest without nightly.
#[test]
fn mutated_requests_get_answers_and_never_a_server_error() {
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue, Uri};
    use lifeboat_sim::cloud::{Cloud, CloudFixture};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    let cloud = Cloud::offline(&CloudFixture::builtin(), "east").unwrap();
    let login = super::password_auth("admin", "east-admin-secret", "production").to_string();
    let answer = cloud.answer(
        Method::POST,
        &Uri::from_static("/identity/v3/auth/tokens"),
        HeaderMap::new(),
        Bytes::from(login),
    );
    let token = answer.headers()["x-subject-token"].clone();
    let data = cloud.volume_id("web-1-data").unwrap();
    let seeds: Vec<(Method, String, &str, String)> = vec![
        (
            Method::POST,
            "/volume/v3/backups".into(),
            "volume 3.64",
            json!({"backup": {"volume_id": data, "force": true, "incremental": false}}).to_string(),
        ),
        (
            Method::POST,
            "/volume/v3/volumes".into(),
            "volume 3.71",
            json!({"volume": {"size": 1, "name": "x", "metadata": {"a": "b"}}}).to_string(),
        ),
        (
            Method::POST,
            format!("/volume/v3/volumes/{data}/action"),
            "volume 3.71",
            json!({"os-set_image_metadata": {"metadata": {"k": "v"}}}).to_string(),
        ),
        (
            Method::POST,
            "/compute/v2.1/servers".into(),
            "compute 2.96",
            json!({"server": {"name": "s", "flavorRef": "f", "networks": "none",
                "block_device_mapping_v2": [{"boot_index": 0, "uuid": data,
                "source_type": "volume", "destination_type": "volume"}]}})
            .to_string(),
        ),
        (
            Method::POST,
            "/volume/v3/backups/import_record".into(),
            "volume 3.64",
            json!({"backup-record": {"backup_service": "cinder.backup.drivers.swift",
                "backup_url": "eyJpZCI6ICJ4IiwgInNpemUiOiAxfQ=="}})
            .to_string(),
        ),
        (
            Method::POST,
            "/identity/v3/auth/tokens".into(),
            "",
            super::password_auth("alice", "x", "production").to_string(),
        ),
        (
            Method::POST,
            "/_sim/clock/advance".into(),
            "",
            json!({"seconds": 1e300}).to_string(),
        ),
        (
            Method::PUT,
            format!("/_sim/volumes/{data}/content?offset=18446744073709551615"),
            "",
            "abc".into(),
        ),
    ];
    let methods = [Method::GET, Method::POST, Method::PUT, Method::DELETE];
    let mut random = StdRng::seed_from_u64(5);
    for _ in 0..4000 {
        let (method, path, version, body) = &seeds[random.random_range(0..seeds.len())];
        let mut body = body.clone().into_bytes();
        for _ in 0..random.random_range(0..4) {
            match random.random_range(0..3) {
                0 if !body.is_empty() => {
                    let at = random.random_range(0..body.len());
                    body[at] = random.random();
                }
                1 if !body.is_empty() => body.truncate(random.random_range(0..body.len())),
                _ => {
                    let (_, _, _, other) = &seeds[random.random_range(0..seeds.len())];
                    let at = random.random_range(0..=body.len());
                    body.splice(at..at, other.bytes().take(20));
                }
            }
        }
        let method = if random.random_bool(0.1) {
            methods[random.random_range(0..4)].clone()
        } else {
            method.clone()
        };
        let mut path = path.clone();
        if random.random_bool(0.2) {
            path.push_str(
                ["/x", "/action", "/../detail", "/restore", "?limit=-1"][random.random_range(0..5)],
            );
        }
        let Ok(uri) = path.parse::<Uri>() else {
            continue;
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-auth-token", token.clone());
        let version = if random.random_bool(0.1) {
            "volume 9.99"
        } else {
            version
        };
        if let Ok(version) = HeaderValue::from_str(version) {
            headers.insert("openstack-api-version", version);
        }
        let status = cloud
            .answer(method.clone(), &uri, headers, Bytes::from(body))
            .status()
            .as_u16();
        assert!(
            status < 500 || status == 503,
            "{status} for {method} {path}"
        );
    }
}
