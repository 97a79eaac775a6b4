//! The simulator's control endpoint: pools and their state as JSON, faults armed and cleared
//! from outside the XAPI surface, and clear 4xx answers to bad requests.

use std::time::Duration;

use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{Ref, Vm};
use lifeboat_xapi::{Client, ConnectOptions, Value};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

async fn simulator() -> Simulator {
    Simulator::start(&Fixture::builtin(), SimOptions::default())
        .await
        .expect("the built-in fixture starts")
}

async fn connect(sim: &Simulator, timeout: Duration) -> Client {
    let pool = sim.pool("production").expect("pool exists");
    let mut options = ConnectOptions::new(
        Url::parse(&pool.url).unwrap(),
        pool.username.clone(),
        pool.password.clone(),
    );
    options.call_timeout = timeout;
    Client::connect(options).await.expect("login succeeds")
}

/// Sends one HTTP/1.1 request to the control endpoint and returns the status and JSON body.
async fn request(sim: &Simulator, method: &str, path: &str, body: &[u8]) -> (u16, Json) {
    let address = Url::parse(sim.control_url()).unwrap();
    let address = format!(
        "{}:{}",
        address.host_str().unwrap(),
        address.port().unwrap()
    );
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: sim\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // A refused body may be answered before it is all sent; the answer is what matters.
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        head.to_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, serde_json::from_str(body).expect("a JSON body"))
}

async fn get(sim: &Simulator, path: &str) -> Json {
    let (status, body) = request(sim, "GET", path, b"").await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

#[tokio::test]
async fn pools_and_their_objects_are_readable() {
    let sim = simulator().await;
    let pools = get(&sim, "/pools").await;
    let production = sim.pool("production").unwrap();
    assert_eq!(pools.as_array().unwrap().len(), 2);
    assert_eq!(pools[0]["name"], "production");
    assert_eq!(pools[0]["url"], production.url.as_str());
    assert_eq!(pools[0]["username"], "root");
    assert_eq!(pools[0]["password"], "lifeboat");
    assert_eq!(pools[0]["hosts"][1]["name"], "prod-host2");
    assert_eq!(get(&sim, "/pools/recovery").await["name"], "recovery");

    let vms = get(&sim, "/pools/production/objects/VM").await;
    let (web_ref, web) = vms
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, vm)| vm["name_label"] == "web01")
        .expect("the fixture's VM");
    assert_eq!(web["power_state"], "Running");
    assert_eq!(web["VBDs"].as_array().unwrap().len(), 2, "derived fields");
    assert_eq!(
        web["memory_static_max"],
        json!(2u64 << 30),
        "int64 as a number"
    );

    let client = connect(&sim, Duration::from_secs(10)).await;
    let web_ref: Ref<Vm> = Ref::new(web_ref.as_str());
    client
        .set_field(&web_ref, "name_label", Value::string("web01-renamed"))
        .await
        .unwrap();
    let path = format!("/pools/production/objects/vm/{}", web_ref.as_str());
    assert_eq!(get(&sim, &path).await["name_label"], "web01-renamed");

    let all = get(&sim, "/pools/production/objects").await;
    assert!(all["VDI"].as_object().unwrap().len() >= 3);
    assert_eq!(
        all["session"].as_object().unwrap().len(),
        1,
        "the client's session"
    );
}

#[tokio::test]
async fn faults_are_armed_listed_consumed_and_cleared() {
    let sim = simulator().await;
    let client = connect(&sim, Duration::from_secs(2)).await;
    let fault = br#"{"kind": "error", "method": "VM.get_all_records", "nth": 2, "code": "SR_FULL", "params": ["a"]}"#;
    let (status, listed) = request(&sim, "POST", "/pools/production/faults", fault).await;
    assert_eq!(status, 201, "{listed}");
    assert_eq!(listed[0]["code"], "SR_FULL");

    client
        .get_all_records::<Vm>()
        .await
        .expect("the first call");
    let error = client
        .get_all_records::<Vm>()
        .await
        .expect_err("the second");
    let api = error.api().expect("an API error");
    assert_eq!(
        (api.code.as_str(), api.params.as_slice()),
        ("SR_FULL", &["a".to_owned()][..])
    );
    assert_eq!(get(&sim, "/pools/production/faults").await, json!([]));

    let (status, _) = request(
        &sim,
        "POST",
        "/pools/production/faults",
        br#"{"kind": "unresponsive"}"#,
    )
    .await;
    assert_eq!(status, 201);
    client
        .get_all_records::<Vm>()
        .await
        .expect_err("the host does not answer");
    let (status, cleared) = request(&sim, "DELETE", "/pools/production/faults", b"").await;
    assert_eq!((status, cleared), (200, json!([])));
    client
        .get_all_records::<Vm>()
        .await
        .expect("the host answers again");

    let latency = br#"{"kind": "latency", "millis": 20}"#;
    request(&sim, "POST", "/pools/recovery/faults", latency).await;
    let listed = get(&sim, "/pools/recovery/faults").await;
    assert_eq!(
        listed,
        json!([{"kind": "latency", "method": null, "millis": 20}])
    );
    assert_eq!(get(&sim, "/pools/production/faults").await, json!([]));
}

#[tokio::test]
async fn a_busy_vm_lists_the_operation_until_the_faults_are_cleared() {
    let sim = simulator().await;
    let client = connect(&sim, Duration::from_secs(2)).await;
    let (web01, record) = client
        .get_all_records::<Vm>()
        .await
        .unwrap()
        .into_iter()
        .find(|(_, vm)| vm.name_label == "web01")
        .unwrap();
    let busy = format!(
        r#"{{"kind": "busy", "vm": "{}", "operation": "migrate_send"}}"#,
        record.uuid
    );
    let (status, listed) = request(&sim, "POST", "/pools/production/faults", busy.as_bytes()).await;
    assert_eq!(status, 201, "{listed}");
    let running = client.get_record(&web01).await.unwrap().current_operations;
    assert_eq!(running.values().collect::<Vec<_>>(), ["migrate_send"]);
    let error = client
        .vm_clean_shutdown(&web01)
        .await
        .expect_err("another operation runs");
    assert_eq!(error.api().unwrap().code, "OTHER_OPERATION_IN_PROGRESS");
    request(&sim, "DELETE", "/pools/production/faults", b"").await;
    assert!(
        client
            .get_record(&web01)
            .await
            .unwrap()
            .current_operations
            .is_empty()
    );

    for (body, message) in [
        (
            r#"{"kind": "busy", "vm": "no-such-vm", "operation": "migrate_send"}"#,
            "no VM no-such-vm",
        ),
        (
            &*format!(
                r#"{{"kind": "busy", "vm": "{}", "operation": "fly"}}"#,
                record.uuid
            ),
            "is not a VM operation",
        ),
    ] {
        let (status, answer) =
            request(&sim, "POST", "/pools/production/faults", body.as_bytes()).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(message),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn bad_requests_get_a_clear_json_error() {
    let sim = simulator().await;
    let faults = "/pools/production/faults";
    let large = vec![b' '; 100 * 1024];
    for (method, path, body, status, message) in [
        ("GET", "/nope", &b""[..], 404, "no such endpoint"),
        ("GET", "/pools/nope", b"", 404, "production, recovery"),
        (
            "GET",
            "/pools/production/objects/Frob",
            b"",
            404,
            "no class",
        ),
        (
            "GET",
            "/pools/production/objects/VM/OpaqueRef:x",
            b"",
            404,
            "no VM",
        ),
        ("PUT", "/pools", b"", 405, "use GET"),
        ("PATCH", faults, b"", 405, "GET, POST or DELETE"),
        ("POST", faults, b"{", 400, "not a fault"),
        ("POST", faults, br#"{"kind": "meteor"}"#, 400, "meteor"),
        ("POST", faults, br#"{"kind": "latency"}"#, 400, "millis"),
        ("POST", faults, &large, 413, "at most"),
    ] {
        let (got, body) = request(&sim, method, path, body).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        let error = body["error"].as_str().expect("an error message");
        assert!(error.contains(message), "{method} {path}: {error}");
    }
    assert_eq!(get(&sim, faults).await, json!([]), "nothing was armed");
}
