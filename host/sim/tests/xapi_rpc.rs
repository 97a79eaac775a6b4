//! The XAPI client against the simulator over both encodings: login, records, errors with xapi's
//! exact codes and parameters, session expiry, events, async tasks and `HOST_IS_SLAVE`.

use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{Host, Pool, PowerState, Ref, Vm};
use lifeboat_xapi::wire::Encoding;
use lifeboat_xapi::{Client, ConnectOptions, Operation, Value};
use url::Url;

async fn simulator() -> Simulator {
    Simulator::start(&Fixture::builtin(), SimOptions::default())
        .await
        .expect("the built-in fixture starts")
}

async fn connect(sim: &Simulator, pool: &str, encoding: Option<Encoding>) -> Client {
    let handle = sim.pool(pool).expect("pool exists");
    let mut options = ConnectOptions::new(
        Url::parse(&handle.url).expect("valid URL"),
        handle.username.clone(),
        handle.password.clone(),
    );
    options.encoding = encoding;
    Client::connect(options).await.expect("login succeeds")
}

#[tokio::test]
async fn json_is_detected_and_xml_can_be_forced() {
    let sim = simulator().await;
    let json = connect(&sim, "production", None).await;
    assert_eq!(json.encoding().await, Encoding::Json);
    let xml = connect(&sim, "production", Some(Encoding::Xml)).await;
    assert_eq!(xml.encoding().await, Encoding::Xml);
    for client in [&json, &xml] {
        let vms = client.get_all_records::<Vm>().await.expect("VM records");
        let dom0 = vms.values().filter(|vm| vm.is_control_domain).count();
        assert_eq!(dom0, 2, "one control domain per host");
        assert!(vms.values().any(|vm| vm.is_default_template));
        let web = vms
            .values()
            .find(|vm| vm.name_label == "web01")
            .expect("fixture VM");
        assert_eq!(web.power_state, PowerState::Running);
        assert_eq!(web.vbds.len(), 2);
        assert_eq!(web.tags, vec!["prod", "web"]);
        assert!(
            web.memory_static_max > 1 << 30,
            "int64 decoded from either encoding"
        );
        let (_, master) = client.master().await.expect("master");
        assert_eq!(master.api_version_major, 2);
    }
}

#[tokio::test]
async fn errors_carry_xapis_codes_and_parameters() {
    let sim = simulator().await;
    for encoding in [Encoding::Json, Encoding::Xml] {
        let client = connect(&sim, "production", Some(encoding)).await;
        let error = client
            .get_record::<Vm>(&Ref::new("OpaqueRef:nope"))
            .await
            .expect_err("unknown reference");
        let api = error.api().expect("an API error");
        assert_eq!(api.code, "HANDLE_INVALID");
        assert_eq!(api.params, ["VM", "OpaqueRef:nope"]);

        let error = client
            .call("VM.get_record", Vec::new())
            .await
            .expect_err("missing parameter");
        let api = error.api().expect("an API error");
        assert_eq!(api.code, "MESSAGE_PARAMETER_COUNT_MISMATCH");
        assert_eq!(api.params, ["VM.get_record", "1", "0"]);

        let error = client
            .call("VM.frobnicate", Vec::new())
            .await
            .expect_err("unknown method");
        assert_eq!(error.api().expect("an API error").params, ["VM.frobnicate"]);
        assert!(error.is_api("MESSAGE_METHOD_UNKNOWN"));

        let error = client
            .call("Async.VM.get_all", Vec::new())
            .await
            .expect_err("getters have no async form");
        assert!(error.is_api("Fault"), "{error}");

        let error = client
            .get_by_uuid::<Vm>("no-such-uuid")
            .await
            .expect_err("unknown uuid");
        assert_eq!(
            error.api().expect("API error").params,
            ["VM", "no-such-uuid"]
        );
    }
}

#[tokio::test]
async fn a_logged_out_session_is_replaced_transparently() {
    let sim = simulator().await;
    let client = connect(&sim, "production", None).await;
    let before = client.session().await;
    client.logout().await.expect("logout");
    let pools = client.get_all_records::<Pool>().await.expect("re-login");
    assert_eq!(pools.len(), 1);
    assert_ne!(client.session().await, before);
}

#[tokio::test]
async fn bad_credentials_are_refused() {
    let sim = simulator().await;
    let handle = sim.pool("production").expect("pool");
    let options = ConnectOptions::new(Url::parse(&handle.url).expect("valid URL"), "root", "wrong");
    let error = Client::connect(options).await.expect_err("bad password");
    let api = error.api().expect("API error");
    assert_eq!(api.code, "SESSION_AUTHENTICATION_FAILED");
    assert_eq!(api.params[0], "root");
    assert!(!error.to_string().contains("wrong"), "{error}");
}

#[tokio::test]
async fn a_pool_member_sends_the_client_to_its_master() {
    let sim = simulator().await;
    let handle = sim.pool("production").expect("pool");
    let member = &handle.hosts[1].1;
    let options = ConnectOptions::new(
        Url::parse(member).expect("valid URL"),
        handle.username.clone(),
        handle.password.clone(),
    );
    let client = Client::connect(options)
        .await
        .expect("login via the member");
    assert_eq!(client.base_url().await.as_str(), handle.url);
    let (_, master): (Ref<Host>, Host) = client.master().await.expect("master");
    assert_eq!(master.name_label, "prod-host1");
}

#[tokio::test]
async fn events_dump_then_report_changes() {
    let sim = simulator().await;
    for encoding in [Encoding::Json, Encoding::Xml] {
        let client = connect(&sim, "production", Some(encoding)).await;
        let mut events = client.subscribe(&["vm"]);
        let dump = events.next().await.expect("first batch");
        let vms = client.get_all_records::<Vm>().await.expect("records");
        assert_eq!(dump.len(), vms.len());
        assert!(
            dump.iter()
                .all(|e| e.operation == Operation::Add && e.class == "vm")
        );
        assert!(events.valid_ref_counts()["vm"] >= vms.len() as i64);

        let (web, _) = vms
            .iter()
            .find(|(_, vm)| vm.name_label.starts_with("web01"))
            .expect("fixture VM");
        let name = format!("web01 renamed over {encoding}");
        client
            .set_field(web, "name_label", Value::string(name.as_str()))
            .await
            .expect("setter");
        let changes = events.next().await.expect("second batch");
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].operation, Operation::Mod);
        assert_eq!(changes[0].reference, web.as_str());
        let snapshot = changes[0].snapshot.as_ref().expect("full record");
        assert_eq!(
            snapshot.get("name_label"),
            Some(&Value::string(name.as_str()))
        );

        events.set_timeout(0.2);
        assert!(events.next().await.expect("timeout batch").is_empty());

        let (pool, _) = client.pool().await.expect("pool");
        let mut from_now = client
            .subscribe_from_now(&["pool"], &pool)
            .await
            .expect("event.inject");
        let injected = from_now.next().await.expect("injected event");
        assert_eq!(injected.len(), 1);
        assert_eq!(injected[0].reference, pool.as_str());
    }
}

#[tokio::test]
async fn map_and_set_messages_follow_xapis_rules() {
    let sim = simulator().await;
    let client = connect(&sim, "production", None).await;
    let (pool, _) = client.pool().await.expect("pool");
    client
        .call(
            "pool.add_to_other_config",
            vec![
                Value::string(pool.as_str()),
                Value::string("k"),
                Value::string("v1"),
            ],
        )
        .await
        .expect("new key");
    let error = client
        .call(
            "pool.add_to_other_config",
            vec![
                Value::string(pool.as_str()),
                Value::string("k"),
                Value::string("v2"),
            ],
        )
        .await
        .expect_err("duplicate key");
    assert_eq!(
        error.api().expect("API error").params,
        ["pool", "other_config", pool.as_str(), "k"]
    );
    client
        .set_map_entry(&pool, "other_config", "k", "v3")
        .await
        .expect("replace");
    client.add_tag(&pool, "a").await.expect("tag");
    client.add_tag(&pool, "a").await.expect("idempotent tag");
    client
        .remove_tag(&pool, "missing")
        .await
        .expect("absent tag");
    let record: Pool = client.get_record(&pool).await.expect("record");
    assert_eq!(record.other_config["k"], "v3");
    assert_eq!(record.tags, ["a"]);
}

#[tokio::test]
async fn async_calls_complete_their_tasks() {
    let sim = simulator().await;
    for encoding in [Encoding::Json, Encoding::Xml] {
        let client = connect(&sim, "production", Some(encoding)).await;
        let result = client
            .run_async(
                "task.create",
                vec![Value::string("inner"), Value::string("")],
            )
            .await
            .expect("async task.create");
        let inner = result.as_str().expect("a reference").to_owned();
        assert!(inner.starts_with("OpaqueRef:"));
        let error = client
            .run_async("task.destroy", vec![Value::string("OpaqueRef:nope")])
            .await
            .expect_err("failing task");
        assert!(error.is_api("HANDLE_INVALID"), "{error}");
    }
}
