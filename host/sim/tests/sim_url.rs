//! `sim://NAME` URLs: the named pool starts in-process on first use, and every later resolution
//! in the process reaches the same pool, even from another runtime.

use lifeboat_sim::{SimConnection, SimUrlError, resolve_url};
use lifeboat_xapi::records::Vm;
use lifeboat_xapi::{Client, ConnectOptions, Value};
use url::Url;

async fn login(connection: &SimConnection) -> Client {
    let options = ConnectOptions::new(
        Url::parse(&connection.url).unwrap(),
        connection.username.clone(),
        connection.password.clone(),
    );
    Client::connect(options).await.expect("login succeeds")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_name_reaches_the_same_pool_from_any_runtime() {
    let first = runtime().block_on(async {
        let connection = resolve_url("sim://production", None, None)
            .await
            .unwrap()
            .expect("a simulator URL");
        assert!(connection.url.starts_with("http://127.0.0.1:"));
        let client = login(&connection).await;
        let vms = client.get_all_records::<Vm>().await.unwrap();
        let (web, _) = vms.iter().find(|(_, vm)| vm.name_label == "web01").unwrap();
        client
            .set_field(
                web,
                "name_label",
                Value::string("changed by the first runtime"),
            )
            .await
            .unwrap();
        connection
    });
    // The runtime that resolved the URL first is gone; the pool is not.
    runtime().block_on(async {
        let again = resolve_url("sim://production/", None, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.url, first.url);
        assert_eq!(again.control_url, first.control_url);
        let vms = login(&again).await.get_all_records::<Vm>().await.unwrap();
        assert!(
            vms.values()
                .any(|vm| vm.name_label == "changed by the first runtime")
        );
    });
}

#[tokio::test]
async fn a_fixture_file_can_be_given() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("pools.yaml");
    std::fs::write(
        &fixture,
        "pools: [{name: lab, username: admin, password: s3cret, vms: [{name: vm1}]}]",
    )
    .unwrap();
    let connection = resolve_url("sim://lab", Some(&fixture), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(connection.username, "admin");
    let vms = login(&connection)
        .await
        .get_all_records::<Vm>()
        .await
        .unwrap();
    assert!(vms.values().any(|vm| vm.name_label == "vm1"));

    let error = resolve_url("sim://production", Some(&fixture), None)
        .await
        .expect_err("not in that fixture");
    assert!(matches!(error, SimUrlError::UnknownPool { .. }), "{error}");
    let error = resolve_url("sim://lab", Some(&dir.path().join("missing.yaml")), None)
        .await
        .expect_err("no such file");
    assert!(matches!(error, SimUrlError::Fixture(_)), "{error}");
}
