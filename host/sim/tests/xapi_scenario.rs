//! The Python conformance scenario (tests/python/xenapi_conformance.py) run by Lifeboat's own
//! client over JSON-RPC and over XML-RPC: records, snapshot and clone, a delta export with `base`
//! applied onto a clone of the base and checked through raw exports, events from a token, and
//! xapi's error codes.

use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{Pool, Ref, Vbd, Vdi, Vm};
use lifeboat_xapi::wire::Encoding;
use lifeboat_xapi::{Client, ConnectOptions, Download, ImportSource, Operation, RawFormat, Value};
use url::Url;

async fn connect(sim: &Simulator, encoding: Encoding) -> Client {
    let pool = sim.pool("production").expect("pool");
    let mut options = ConnectOptions::new(
        Url::parse(&pool.url).expect("URL"),
        pool.username.clone(),
        pool.password.clone(),
    );
    options.encoding = Some(encoding);
    Client::connect(options).await.expect("login")
}

async fn bytes_of(mut download: Download) -> Vec<u8> {
    let mut bytes = Vec::new();
    while let Some(chunk) = download.chunk().await.expect("a chunk") {
        bytes.extend_from_slice(&chunk);
    }
    download.finish().await.expect("the export task succeeds");
    bytes
}

async fn raw(client: &Client, vdi: &Ref<Vdi>) -> Vec<u8> {
    bytes_of(
        client
            .export_raw_vdi(vdi, RawFormat::Raw, None)
            .await
            .expect("raw export"),
    )
    .await
}

async fn api_error(client: &Client, method: &str, params: Vec<Value>) -> (String, Vec<String>) {
    let error = client
        .call(method, params)
        .await
        .expect_err("the call must fail");
    let api = error
        .api()
        .unwrap_or_else(|| panic!("{method}: not an API error: {error}"));
    (api.code.clone(), api.params.clone())
}

async fn vm_named(client: &Client, name: &str) -> Ref<Vm> {
    let vms = client.get_all_records::<Vm>().await.expect("VMs");
    vms.into_iter()
        .find(|(_, vm)| vm.name_label == name && !vm.is_a_snapshot)
        .map(|(reference, _)| reference)
        .unwrap_or_else(|| panic!("no VM {name}"))
}

#[tokio::test]
async fn the_conformance_scenario_passes_over_both_encodings() {
    let sim = Simulator::start(&Fixture::builtin(), SimOptions::default())
        .await
        .expect("simulator");
    for encoding in [Encoding::Json, Encoding::Xml] {
        let client = connect(&sim, encoding).await;
        let db = vm_named(&client, "db01").await;
        let web = vm_named(&client, "web01").await;

        // Snapshot and clone.
        let snapshot = client
            .vm_snapshot(&db, "scenario", &[])
            .await
            .expect("snapshot");
        let record: Vm = client.get_record(&snapshot).await.expect("snapshot record");
        assert!(record.is_a_snapshot && record.is_a_template && record.snapshot_of == db);
        let clone = client
            .vm_clone(&snapshot, "scenario clone")
            .await
            .expect("clone");
        let clone_record: Vm = client.get_record(&clone).await.expect("clone record");
        assert!(!clone_record.is_a_snapshot && clone_record.snapshot_of.is_null());

        // A delta export with a base, applied onto a clone of the base.
        let db_record: Vm = client.get_record(&db).await.expect("VM");
        let vbd: Vbd = client.get_record(&db_record.vbds[0]).await.expect("VBD");
        let disk = vbd.vdi;
        let base = client.vdi_snapshot(&disk).await.expect("base snapshot");
        let mut changed = raw(&client, &disk).await;
        // A byte of its own per encoding: the second pass starts from the first one's disk.
        changed[4096..8192].fill(if encoding == Encoding::Json {
            0x42
        } else {
            0x43
        });
        // A raw import writes every block it carries: send only the first 2 MiB block.
        client
            .import_raw_vdi(
                &disk,
                RawFormat::Raw,
                ImportSource::from_bytes(changed[..2 << 20].to_vec()),
            )
            .await
            .expect("raw import");
        let current = client.vdi_snapshot(&disk).await.expect("second snapshot");
        let delta = bytes_of(
            client
                .export_raw_vdi(&current, RawFormat::Vhd, Some(&base))
                .await
                .expect("delta export"),
        )
        .await;
        let footer = &delta[delta.len() - 512..];
        assert_eq!(&footer[..8], b"conectix");
        assert_eq!(
            u32::from_be_bytes(footer[60..64].try_into().expect("4 bytes")),
            4,
            "a differencing VHD"
        );
        assert!(
            delta.len() < changed.len() / 4,
            "only changed blocks travel"
        );
        let target = client.vdi_clone(&base).await.expect("clone of the base");
        client
            .import_raw_vdi(&target, RawFormat::Vhd, ImportSource::from_bytes(delta))
            .await
            .expect("delta import");
        assert!(
            raw(&client, &target).await == changed,
            "the delta onto a clone of the base reproduces the disk"
        );
        assert!(raw(&client, &base).await != changed, "the base is older");

        // Events from a token.
        let (pool, _) = client.pool().await.expect("pool");
        let mut events = client
            .subscribe_from_now(&["vm"], &pool)
            .await
            .expect("subscription");
        client
            .set_field(&db, "name_label", Value::string("db01 renamed"))
            .await
            .expect("rename");
        let seen = loop {
            let batch = events.next().await.expect("events");
            if let Some(event) = batch
                .into_iter()
                .find(|e| e.reference == db.as_str() && e.operation == Operation::Mod)
            {
                break event;
            }
        };
        assert_eq!(
            seen.snapshot.as_ref().and_then(|s| s.get("name_label")),
            Some(&Value::string("db01 renamed"))
        );
        client
            .set_field(&db, "name_label", Value::string("db01"))
            .await
            .expect("rename back");

        // Error codes.
        let (code, _) = api_error(
            &client,
            "VM.get_record",
            vec![Value::string("OpaqueRef:NULL")],
        )
        .await;
        assert_eq!(code, "HANDLE_INVALID");
        let error = client
            .call_without_session("VM.get_all", vec![Value::string("OpaqueRef:gone")])
            .await
            .expect_err("no such session");
        assert_eq!(error.api().expect("API error").code, "SESSION_INVALID");
        client
            .set_map_entry(&db, "blocked_operations", "start", "scenario")
            .await
            .expect("block start");
        let start = vec![
            Value::string(db.as_str()),
            Value::Boolean(false),
            Value::Boolean(false),
        ];
        let (code, params) = api_error(&client, "VM.start", start).await;
        assert_eq!(
            (code.as_str(), params[1].as_str()),
            ("OPERATION_BLOCKED", "scenario")
        );
        client
            .remove_map_entry(&db, "blocked_operations", "start")
            .await
            .expect("unblock");
        let (code, params) = api_error(
            &client,
            "VM.clone",
            vec![Value::string(web.as_str()), Value::string("x")],
        )
        .await;
        assert_eq!(code, "VM_BAD_POWER_STATE");
        assert_eq!(params, [web.as_str(), "halted", "running"]);
        let (code, params) =
            api_error(&client, "VM.snapshot", vec![Value::string(db.as_str())]).await;
        assert_eq!(code, "MESSAGE_PARAMETER_COUNT_MISMATCH");
        assert_eq!(params, ["VM.snapshot", "2", "1"]);
        let (code, _) = api_error(&client, "VM.transmogrify", Vec::new()).await;
        assert_eq!(code, "MESSAGE_METHOD_UNKNOWN");

        let _: Pool = client.get_record(&pool).await.expect("pool record");
        client.logout().await.expect("logout");
    }
}
