//! Pools persist in a state folder: a change made over RPC is saved by itself within a second,
//! survives a restart with the same references and uuids, and the disks still read the same.

use std::hash::{DefaultHasher, Hasher};
use std::path::Path;
use std::time::{Duration, Instant};

use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::vhd::VhdChain;
use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{Sr, Vdi, Vm};
use lifeboat_xapi::{Client, ConnectOptions, Value};
use url::Url;

async fn start(state: &Path) -> Simulator {
    let options = SimOptions {
        state_dir: Some(state.to_owned()),
        ..SimOptions::default()
    };
    Simulator::start(&Fixture::builtin(), options)
        .await
        .expect("the simulator starts")
}

async fn connect(url: &str) -> Client {
    let options = ConnectOptions::new(Url::parse(url).unwrap(), "root", "lifeboat");
    Client::connect(options).await.expect("login succeeds")
}

/// A digest of the data of every VDI named by uuid, read from its VHD file.
fn disk_digests(state: &Path, sr_uuid: &str, vdi_uuids: &[String]) -> Vec<u64> {
    vdi_uuids
        .iter()
        .map(|uuid| {
            let path = state.join(format!("production/{sr_uuid}/{uuid}.vhd"));
            let mut disk = VhdChain::open(&path).expect("the VDI's chain opens");
            let mut hasher = DefaultHasher::new();
            let mut buf = vec![0; 1 << 20];
            for offset in (0..disk.virtual_size()).step_by(buf.len()) {
                disk.read_at(offset, &mut buf).expect("the VDI reads");
                hasher.write(&buf);
            }
            hasher.finish()
        })
        .collect()
}

#[tokio::test]
async fn changes_survive_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let sim = start(state.path()).await;
    let client = connect(&sim.pool("production").unwrap().url).await;
    let vms = client.get_all_records::<Vm>().await.unwrap();
    let (web_ref, web) = vms.iter().find(|(_, vm)| vm.name_label == "web01").unwrap();
    client
        .set_field(web_ref, "name_label", Value::string("web01-renamed"))
        .await
        .unwrap();
    let vdis = client.get_all_records::<Vdi>().await.unwrap();
    let srs = client.get_all_records::<Sr>().await.unwrap();
    let (sr_ref, sr) = srs
        .iter()
        .find(|(_, sr)| sr.name_label == "Local storage")
        .unwrap();
    let mut vdi_uuids: Vec<String> = vdis
        .values()
        .filter(|vdi| &vdi.sr == sr_ref)
        .map(|vdi| vdi.uuid.clone())
        .collect();
    vdi_uuids.sort();
    let digests = disk_digests(state.path(), &sr.uuid, &vdi_uuids);

    // Saved within a second or so, without a shutdown.
    let saved = state.path().join("production/db.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&saved)
        .unwrap()
        .contains("web01-renamed")
    {
        assert!(Instant::now() < deadline, "the change was not saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = client.call("event.get_current_id", vec![]).await.unwrap();
    drop(client);
    drop(sim);

    let sim = start(state.path()).await;
    let production = sim.pool("production").unwrap();
    // A login on the second host is sent to the master at its new address.
    let client = connect(&production.hosts[1].1).await;
    let vms = client.get_all_records::<Vm>().await.unwrap();
    let renamed = &vms[web_ref];
    assert_eq!(renamed.name_label, "web01-renamed");
    assert_eq!(renamed.uuid, web.uuid);
    assert_eq!(renamed.vbds, web.vbds);
    assert_eq!(
        client.get_all_records::<Vdi>().await.unwrap().len(),
        vdis.len()
    );
    assert_eq!(disk_digests(state.path(), &sr.uuid, &vdi_uuids), digests);

    let after = client.call("event.get_current_id", vec![]).await.unwrap();
    assert!(after.as_i64() >= before.as_i64(), "{after:?} < {before:?}");
    let everything = client
        .call(
            "event.from",
            vec![
                Value::Array(vec![Value::string("vm")]),
                Value::string(""),
                Value::Double(0.0),
            ],
        )
        .await
        .expect("a first event.from reads everything");
    let events = everything.get("events").and_then(Value::as_array).unwrap();
    assert_eq!(events.len(), vms.len());
}
