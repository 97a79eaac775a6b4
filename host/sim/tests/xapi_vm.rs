//! VM and VDI semantics of the simulator through the real client: snapshot, clone, copy,
//! destroy, power states, blocked operations, revert in both modes, constructors, and the VHD
//! chains on disk behind them.

use std::path::PathBuf;

use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, DiskRead};
use lifeboat_formats::vhd::{VhdChain, open_vhd_for_write};
use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{Ref, Sr, Vbd, Vdi, Vm};
use lifeboat_xapi::wire::Encoding;
use lifeboat_xapi::{Client, ConnectOptions, Value};
use url::Url;

const FIXTURE: &str = r#"
pools:
  - name: lab
    password: secret
    hosts: [{name: lab1}]
    srs:
      - {name: Local, size: 100GiB, default: true}
      - {name: Revertible, size: 100GiB, vdi_revert: true}
      - {name: ISOs, type: iso, size: 1GiB}
    networks: [{name: LAN}]
    vms:
      - name: app
        power_state: Running
        tags: [prod]
        disks:
          - {name: app root, size: 8MiB, content: {fill: 100, seed: 7}}
          - {name: app data, size: 4MiB, content: {fill: 50, seed: 8}}
        networks: [LAN]
      - name: cold
        power_state: Halted
        disks:
          - {name: cold root, size: 6MiB, sr: Revertible, content: {fill: 100, seed: 9}}
        networks: [LAN]
"#;

struct Lab {
    _sim: Simulator,
    /// Where the pool keeps its SR folders.
    storage_root: PathBuf,
    client: Client,
}

async fn lab(encoding: Encoding) -> Lab {
    let fixture = Fixture::parse(FIXTURE, "test fixture").expect("valid fixture");
    let sim = Simulator::start(&fixture, SimOptions::default())
        .await
        .expect("simulator starts");
    let handle = sim.pool("lab").expect("pool");
    let storage_root = handle.pool.storage_root.clone();
    let mut options = ConnectOptions::new(
        Url::parse(&handle.url).expect("URL"),
        handle.username.clone(),
        handle.password.clone(),
    );
    options.encoding = Some(encoding);
    let client = Client::connect(options).await.expect("login");
    Lab {
        _sim: sim,
        storage_root,
        client,
    }
}

impl Lab {
    async fn call(&self, method: &str, params: Vec<Value>) -> Value {
        self.client
            .call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    async fn fails(&self, method: &str, params: Vec<Value>) -> (String, Vec<String>) {
        let error = self
            .client
            .call(method, params)
            .await
            .expect_err(&format!("{method} must fail"));
        let api = error.api().unwrap_or_else(|| panic!("{method}: {error}"));
        (api.code.clone(), api.params.clone())
    }

    async fn vm(&self, name: &str) -> (Ref<Vm>, Vm) {
        let vms = self.client.get_all_records::<Vm>().await.expect("VMs");
        vms.into_iter()
            .find(|(_, vm)| vm.name_label == name && !vm.is_a_snapshot)
            .unwrap_or_else(|| panic!("no VM {name}"))
    }

    async fn vdi(&self, vdi: &Ref<Vdi>) -> Vdi {
        self.client.get_record(vdi).await.expect("VDI record")
    }

    /// The disks of a VM, by userdevice order.
    async fn disks(&self, vm: &Ref<Vm>) -> Vec<Ref<Vdi>> {
        let record: Vm = self.client.get_record(vm).await.expect("VM");
        let mut vbds = Vec::new();
        for vbd in record.vbds {
            let vbd: Vbd = self.client.get_record(&vbd).await.expect("VBD");
            vbds.push((vbd.userdevice.clone(), vbd.vdi));
        }
        vbds.sort();
        vbds.into_iter().map(|(_, vdi)| vdi).collect()
    }

    /// The VHD file behind a VDI.
    async fn file(&self, vdi: &Ref<Vdi>) -> PathBuf {
        let record = self.vdi(vdi).await;
        let sr: Sr = self.client.get_record(&record.sr).await.expect("SR");
        self.storage_root
            .join(sr.uuid)
            .join(format!("{}.vhd", record.uuid))
    }

    /// The whole content of a VDI.
    async fn content(&self, vdi: &Ref<Vdi>) -> Vec<u8> {
        let mut chain = VhdChain::open(self.file(vdi).await).expect("chain opens");
        let mut data = vec![0; chain.virtual_size() as usize];
        chain.read_at(0, &mut data).expect("chain reads");
        data
    }

    /// Writes block 0 of a VDI the way a running guest would: into its leaf.
    async fn scribble(&self, vdi: &Ref<Vdi>, byte: u8) {
        let mut leaf = open_vhd_for_write(&self.file(vdi).await).expect("leaf opens");
        leaf.write_full_block(0, &vec![byte; DEFAULT_BLOCK_SIZE as usize])
            .expect("block written");
        leaf.flush().expect("leaf flushed");
    }
}

fn s(text: &str) -> Value {
    Value::string(text)
}

fn r<C>(reference: &Ref<C>) -> Value {
    Value::string(reference.as_str())
}

async fn both(test: impl AsyncFn(Lab)) {
    for encoding in [Encoding::Json, Encoding::Xml] {
        test(lab(encoding).await).await;
    }
}

#[tokio::test]
async fn snapshots_are_template_vms_with_snapshot_disks_on_hidden_base_copies() {
    both(async |lab: Lab| {
        let (app, before) = lab.vm("app").await;
        let disks = lab.disks(&app).await;
        let contents = [lab.content(&disks[0]).await, lab.content(&disks[1]).await];
        lab.call(
            "VM.add_to_blocked_operations",
            vec![r(&app), s("clone"), s("protected")],
        )
        .await;
        let snapshot = lab
            .client
            .vm_snapshot(&app, "before upgrade", &[])
            .await
            .expect("snapshot of a running VM");
        let snap: Vm = lab.client.get_record(&snapshot).await.expect("snapshot");
        assert!(snap.is_a_snapshot && snap.is_a_template);
        assert_eq!(snap.snapshot_of, app);
        assert_eq!(snap.name_label, "before upgrade");
        assert_eq!(snap.tags, before.tags);
        assert!(snap.blocked_operations.is_empty());
        assert_eq!(snap.power_state, lifeboat_xapi::records::PowerState::Halted);
        assert_eq!(
            snap.snapshot_info
                .get("power-state-at-snapshot")
                .map(String::as_str),
            Some("Running")
        );
        let after: Vm = lab.client.get_record(&app).await.expect("VM");
        assert!(after.snapshots.contains(&snapshot));
        assert_eq!(after.parent, snapshot);

        let snap_disks = lab.disks(&snapshot).await;
        assert_eq!(snap_disks.len(), 2);
        for ((disk, source), content) in snap_disks.iter().zip(&disks).zip(&contents) {
            assert_ne!(disk, source, "a distinct VDI");
            let copy = lab.vdi(disk).await;
            let original = lab.vdi(source).await;
            assert!(copy.is_a_snapshot);
            assert_eq!(&copy.snapshot_of, source);
            assert_eq!(copy.virtual_size, original.virtual_size);
            assert!(copy.physical_utilisation < original.virtual_size);
            assert!(original.snapshots.contains(disk));
            // Both leaves sit on one hidden base copy holding the old data.
            let base = &original.sm_config["vhd-parent"];
            assert_eq!(&copy.sm_config["vhd-parent"], base);
            let base_ref: Ref<Vdi> = lab
                .client
                .get_by_uuid(base)
                .await
                .expect("the base copy is a VDI record");
            let base_record = lab.vdi(&base_ref).await;
            assert!(!base_record.managed && base_record.read_only);
            assert_eq!(base_record.name_label, "base copy");
            assert_eq!(&lab.content(disk).await, content);
            assert_eq!(&lab.content(source).await, content);
        }

        // Writes after the snapshot change the VM's disk only.
        lab.scribble(&disks[0], 0xAB).await;
        assert_eq!(lab.content(&snap_disks[0]).await, contents[0]);
        assert_eq!(lab.content(&disks[0]).await[0], 0xAB);

        let (code, _) = lab
            .fails("VM.snapshot", vec![r(&app), s("x"), s("not a set")])
            .await;
        assert_eq!(code, "FIELD_TYPE_ERROR");
        let partial = lab
            .client
            .vm_snapshot(&app, "root only", std::slice::from_ref(&disks[1]))
            .await
            .expect("snapshot ignoring a disk");
        assert_eq!(lab.disks(&partial).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn clones_and_copies_are_independent_vms() {
    both(async |lab: Lab| {
        let (app, _) = lab.vm("app").await;
        let (code, params) = lab.fails("VM.clone", vec![r(&app), s("c")]).await;
        assert_eq!(code, "VM_BAD_POWER_STATE");
        assert_eq!(params, [app.as_str(), "halted", "running"]);

        let snapshot = lab.client.vm_snapshot(&app, "s", &[]).await.expect("snap");
        let clone = lab
            .client
            .vm_clone(&snapshot, "from snapshot")
            .await
            .expect("clone");
        let record: Vm = lab.client.get_record(&clone).await.expect("clone record");
        assert!(!record.is_a_snapshot && record.is_a_template);
        assert_eq!(record.snapshot_of, Ref::null());
        let snap: Vm = lab.client.get_record(&snapshot).await.expect("snapshot");
        assert_ne!(
            record.other_config["mac_seed"],
            snap.other_config["mac_seed"]
        );
        for (disk, source) in lab
            .disks(&clone)
            .await
            .iter()
            .zip(lab.disks(&snapshot).await)
        {
            let vdi = lab.vdi(disk).await;
            assert!(!vdi.is_a_snapshot);
            assert_eq!(vdi.snapshot_of, Ref::null());
            assert_eq!(lab.content(disk).await, lab.content(&source).await);
        }

        let (cold, _) = lab.vm("cold").await;
        let srs = lab.client.get_all_records::<Sr>().await.expect("SRs");
        let (iso, _) = srs
            .iter()
            .find(|(_, sr)| sr.name_label == "ISOs")
            .expect("ISO SR");
        let (local, _) = srs
            .iter()
            .find(|(_, sr)| sr.name_label == "Local")
            .expect("SR");
        let (code, params) = lab.fails("VM.copy", vec![r(&cold), s("c"), r(iso)]).await;
        assert_eq!(code, "OPERATION_NOT_ALLOWED");
        assert_eq!(params, ["Cannot copy a VM's disks to an ISO SR"]);
        let copy = lab
            .client
            .vm_copy(&cold, "cold copy", local)
            .await
            .expect("copy");
        let source_disk = &lab.disks(&cold).await[0];
        let copied = &lab.disks(&copy).await[0];
        let vdi = lab.vdi(copied).await;
        assert_eq!(&vdi.sr, local);
        assert!(!vdi.sm_config.contains_key("vhd-parent"), "a full copy");
        assert_eq!(lab.content(copied).await, lab.content(source_disk).await);
        let in_place = lab
            .client
            .vm_copy(&cold, "same SRs", &Ref::null())
            .await
            .expect("copy into the disks' own SRs");
        let vdi = lab.vdi(&lab.disks(&in_place).await[0]).await;
        assert_eq!(vdi.sr, lab.vdi(source_disk).await.sr);
    })
    .await;
}

#[tokio::test]
async fn destroy_keeps_disks_and_snapshots() {
    let lab = lab(Encoding::Json).await;
    let (cold, _) = lab.vm("cold").await;
    let disk = lab.disks(&cold).await.remove(0);
    let snapshot = lab.client.vm_snapshot(&cold, "s", &[]).await.expect("snap");
    lab.call(
        "VM.add_to_blocked_operations",
        vec![r(&cold), s("destroy"), s("keep me")],
    )
    .await;
    let (code, params) = lab.fails("VM.destroy", vec![r(&cold)]).await;
    assert_eq!(code, "OPERATION_BLOCKED");
    assert_eq!(params, [cold.as_str(), "keep me"]);
    lab.call(
        "VM.remove_from_blocked_operations",
        vec![r(&cold), s("destroy")],
    )
    .await;
    let vbds = lab.client.get_record::<Vm>(&cold).await.expect("VM").vbds;
    lab.client.vm_destroy(&cold).await.expect("destroy");
    let (code, _) = lab.fails("VM.get_record", vec![r(&cold)]).await;
    assert_eq!(code, "HANDLE_INVALID");
    let (code, _) = lab.fails("VBD.get_record", vec![r(&vbds[0])]).await;
    assert_eq!(code, "HANDLE_INVALID");
    assert!(lab.vdi(&disk).await.vbds.is_empty(), "the VDI stays");
    let snap: Vm = lab
        .client
        .get_record(&snapshot)
        .await
        .expect("snapshot stays");
    assert_eq!(snap.snapshot_of, cold, "a dangling snapshot_of");

    let (app, _) = lab.vm("app").await;
    let (code, params) = lab.fails("VM.destroy", vec![r(&app)]).await;
    assert_eq!(code, "VM_BAD_POWER_STATE");
    assert_eq!(params, [app.as_str(), "halted, suspended", "running"]);
}

#[tokio::test]
async fn blocked_operations_come_before_power_states() {
    both(async |lab: Lab| {
        let (app, _) = lab.vm("app").await;
        lab.call(
            "VM.add_to_blocked_operations",
            vec![r(&app), s("start"), s("replica")],
        )
        .await;
        let (code, params) = lab
            .fails(
                "VM.start",
                vec![r(&app), Value::Boolean(false), Value::Boolean(false)],
            )
            .await;
        assert_eq!(
            code, "OPERATION_BLOCKED",
            "blocked although already running"
        );
        assert_eq!(params, [app.as_str(), "replica"]);
        let (code, params) = lab
            .fails(
                "VM.add_to_blocked_operations",
                vec![r(&app), s("start"), s("again")],
            )
            .await;
        assert_eq!(code, "MAP_DUPLICATE_KEY");
        assert_eq!(params, ["VM", "blocked_operations", app.as_str(), "start"]);
        let (code, _) = lab
            .fails(
                "VM.add_to_blocked_operations",
                vec![r(&app), s("fly"), s("x")],
            )
            .await;
        assert_eq!(code, "INVALID_VALUE");
        for _ in 0..2 {
            lab.call(
                "VM.remove_from_blocked_operations",
                vec![r(&app), s("start")],
            )
            .await;
        }
        let (code, params) = lab
            .fails(
                "VM.start",
                vec![r(&app), Value::Boolean(false), Value::Boolean(false)],
            )
            .await;
        assert_eq!(code, "VM_BAD_POWER_STATE");
        assert_eq!(params, [app.as_str(), "halted", "running"]);
    })
    .await;
}

#[tokio::test]
async fn power_states_move_residence_and_devices() {
    let lab = lab(Encoding::Xml).await;
    let (app, _) = lab.vm("app").await;
    lab.client.vm_hard_shutdown(&app).await.expect("shutdown");
    let halted: Vm = lab.client.get_record(&app).await.expect("VM");
    assert_eq!(
        halted.power_state,
        lifeboat_xapi::records::PowerState::Halted
    );
    assert_eq!(halted.resident_on, Ref::null());
    assert_eq!(halted.domid, -1);
    let (code, params) = lab.fails("VM.clean_shutdown", vec![r(&app)]).await;
    assert_eq!(code, "VM_BAD_POWER_STATE");
    assert_eq!(params, [app.as_str(), "running", "halted"]);
    lab.client.vm_start(&app).await.expect("start");
    let running: Vm = lab.client.get_record(&app).await.expect("VM");
    assert_eq!(
        running.power_state,
        lifeboat_xapi::records::PowerState::Running
    );
    assert_ne!(running.resident_on, Ref::null());
    assert!(running.domid > 0);
    let vbd: Vbd = lab.client.get_record(&running.vbds[0]).await.expect("VBD");
    assert!(vbd.currently_attached);

    let snapshot = lab.client.vm_snapshot(&app, "s", &[]).await.expect("snap");
    let (code, params) = lab
        .fails(
            "VM.start",
            vec![r(&snapshot), Value::Boolean(false), Value::Boolean(false)],
        )
        .await;
    assert_eq!(code, "VM_IS_SNAPSHOT");
    assert_eq!(params, [snapshot.as_str(), "start"]);
    let vms = lab.client.get_all_records::<Vm>().await.expect("VMs");
    let (template, _) = vms
        .iter()
        .find(|(_, vm)| vm.is_default_template)
        .expect("a template");
    let (code, _) = lab
        .fails(
            "VM.start",
            vec![r(template), Value::Boolean(false), Value::Boolean(false)],
        )
        .await;
    assert_eq!(code, "VM_IS_TEMPLATE");
    let (dom0, _) = vms
        .iter()
        .find(|(_, vm)| vm.is_control_domain)
        .expect("dom0");
    let (code, params) = lab.fails("VM.destroy", vec![r(dom0)]).await;
    assert_eq!(
        code, "VM_BAD_POWER_STATE",
        "dom0 runs: the power check comes first"
    );
    assert_eq!(params[2], "running");
}

#[tokio::test]
async fn vdi_destroy_checks_attachment_and_collects_base_copies() {
    let lab = lab(Encoding::Json).await;
    let (app, _) = lab.vm("app").await;
    let attached = lab.disks(&app).await.remove(0);
    let (code, params) = lab.fails("VDI.destroy", vec![r(&attached)]).await;
    assert_eq!(code, "VDI_IN_USE");
    assert_eq!(params, [attached.as_str(), "destroy"]);

    let (cold, _) = lab.vm("cold").await;
    let disk = lab.disks(&cold).await.remove(0);
    let snapshot = lab.client.vdi_snapshot(&disk).await.expect("VDI snapshot");
    let base_uuid = lab.vdi(&disk).await.sm_config["vhd-parent"].clone();
    let snapshot_file = lab.file(&snapshot).await;
    let base_file = snapshot_file.with_file_name(format!("{base_uuid}.vhd"));
    assert!(base_file.exists());
    lab.client
        .vdi_destroy(&snapshot)
        .await
        .expect("destroy the snapshot");
    assert!(!snapshot_file.exists());
    assert!(base_file.exists(), "the VM's disk still needs the base");
    let (code, params) = lab.fails("VDI.destroy", vec![s(&base_uuid)]).await;
    assert_eq!((code.as_str(), params.len()), ("HANDLE_INVALID", 2));
    let base: Ref<Vdi> = lab.client.get_by_uuid(&base_uuid).await.expect("base");
    let (code, _) = lab.fails("VDI.destroy", vec![r(&base)]).await;
    assert_eq!(code, "VDI_NOT_MANAGED");
    let vbd = lab.vdi(&disk).await.vbds[0].clone();
    lab.client
        .vdi_destroy(&disk)
        .await
        .expect("a halted VM's disk");
    let (code, _) = lab.fails("VBD.get_record", vec![r(&vbd)]).await;
    assert_eq!(code, "HANDLE_INVALID", "its VBD went with it");
    assert!(!base_file.exists(), "the unused base copy is collected");
    let (code, _) = lab.fails("VDI.get_by_uuid", vec![s(&base_uuid)]).await;
    assert_eq!(code, "UUID_INVALID");
}

#[tokio::test]
async fn revert_clones_by_default_and_reverts_in_place_where_the_sr_can() {
    both(async |lab: Lab| {
        // "app" lives on an SR without vdi_revert: its disks are replaced by clones.
        let (app, _) = lab.vm("app").await;
        let disks = lab.disks(&app).await;
        let before = lab.content(&disks[0]).await;
        let snapshot = lab.client.vm_snapshot(&app, "s", &[]).await.expect("snap");
        let second = lab.client.vm_snapshot(&app, "s2", &[]).await.expect("snap");
        let record: Vm = lab.client.get_record(&app).await.expect("VM");
        lab.call("VM.set_name_label", vec![r(&app), s("renamed")])
            .await;
        lab.client.add_tag(&app, "after").await.expect("tag");
        lab.scribble(&disks[0], 0x5A).await;
        lab.client.vm_revert(&snapshot).await.expect("revert");
        let reverted: Vm = lab.client.get_record(&app).await.expect("same VM ref");
        assert_eq!(reverted.uuid, record.uuid);
        assert_eq!(reverted.name_label, "app", "fields come back");
        assert!(reverted.tags.contains(&"after".to_owned()), "tags are kept");
        assert_eq!(
            reverted.power_state,
            lifeboat_xapi::records::PowerState::Halted
        );
        assert_eq!(reverted.parent, snapshot);
        let new_disks = lab.disks(&app).await;
        assert_eq!(new_disks.len(), 2);
        assert!(new_disks.iter().all(|d| !disks.contains(d)), "new VDIs");
        assert_eq!(lab.content(&new_disks[0]).await, before);
        let (code, _) = lab.fails("VDI.get_record", vec![r(&disks[0])]).await;
        assert_eq!(code, "HANDLE_INVALID", "old VDI destroyed");
        let other = lab.vdi(&lab.disks(&second).await[0]).await;
        assert_eq!(
            other.snapshot_of, new_disks[0],
            "other snapshots re-pointed"
        );

        // "cold" lives on an SR with vdi_revert: its VDI keeps its reference.
        let (cold, _) = lab.vm("cold").await;
        let disk = lab.disks(&cold).await.remove(0);
        let before = lab.content(&disk).await;
        let snapshot = lab.client.vm_snapshot(&cold, "s", &[]).await.expect("snap");
        lab.scribble(&disk, 0x77).await;
        lab.client
            .vm_revert(&snapshot)
            .await
            .expect("revert in place");
        assert_eq!(lab.disks(&cold).await, std::slice::from_ref(&disk));
        assert_eq!(lab.content(&disk).await, before);

        let (code, _) = lab.fails("VM.revert", vec![r(&cold)]).await;
        assert_eq!(code, "REVERT_ONLY_ALLOWED_ON_SNAPSHOT");
        let (code, _) = lab.fails("VDI.revert", vec![r(&disk)]).await;
        assert_eq!(code, "REVERT_ONLY_ALLOWED_ON_SNAPSHOT");
        let app_snapshot_disk = lab.disks(&second).await.remove(0);
        let (code, params) = lab.fails("VDI.revert", vec![r(&app_snapshot_disk)]).await;
        assert_eq!(code, "SR_OPERATION_NOT_SUPPORTED");
        assert_eq!(params, [lab.vdi(&app_snapshot_disk).await.sr.as_str()]);
    })
    .await;
}

#[tokio::test]
async fn constructors_build_a_vm_by_hand() {
    let lab = lab(Encoding::Xml).await;
    let srs = lab.client.get_all_records::<Sr>().await.expect("SRs");
    let (local, _) = srs
        .iter()
        .find(|(_, sr)| sr.name_label == "Local")
        .expect("SR");
    let vdi = lab
        .call(
            "VDI.create",
            vec![Value::record([
                ("SR", r(local)),
                ("virtual_size", Value::string("3000000")),
                ("type", s("user")),
                ("sharable", Value::Boolean(false)),
                ("read_only", Value::Boolean(false)),
                ("other_config", Value::Struct(Vec::new())),
                ("name_label", s("new disk")),
            ])],
        )
        .await;
    let vdi: Ref<Vdi> = Ref::new(vdi.as_str().expect("a reference"));
    assert_eq!(
        lab.vdi(&vdi).await.virtual_size,
        4 << 20,
        "rounded up to 2 MiB"
    );
    assert!(lab.content(&vdi).await.iter().all(|&b| b == 0));
    let (code, params) = lab
        .fails("VDI.create", vec![Value::record([("SR", r(local))])])
        .await;
    assert_eq!((code.as_str(), params.len()), ("FIELD_TYPE_ERROR", 1));

    let (template, _) = lab.vm("cold").await;
    let mut record = lab.call("VM.get_record", vec![r(&template)]).await;
    if let Value::Struct(members) = &mut record {
        members.retain(|(k, _)| k != "uuid");
    }
    let vm = lab.call("VM.create", vec![record]).await;
    let vm: Ref<Vm> = Ref::new(vm.as_str().expect("a reference"));
    let created: Vm = lab.client.get_record(&vm).await.expect("VM");
    assert!(created.vbds.is_empty() && created.domid == -1);
    let vbd = |userdevice: &str, vdi: Value, kind: &str, empty: bool| {
        Value::record([
            ("VM", r(&vm)),
            ("VDI", vdi),
            ("userdevice", s(userdevice)),
            ("bootable", Value::Boolean(true)),
            ("mode", s(if kind == "CD" { "RO" } else { "RW" })),
            ("type", s(kind)),
            ("empty", Value::Boolean(empty)),
            ("other_config", Value::Struct(Vec::new())),
            ("qos_algorithm_type", s("")),
            ("qos_algorithm_params", Value::Struct(Vec::new())),
        ])
    };
    lab.call("VBD.create", vec![vbd("0", r(&vdi), "Disk", false)])
        .await;
    let (code, params) = lab
        .fails("VBD.create", vec![vbd("0", r(&vdi), "Disk", false)])
        .await;
    assert_eq!(code, "DEVICE_ALREADY_EXISTS");
    assert_eq!(params, ["0"]);
    let (code, params) = lab
        .fails(
            "VBD.create",
            vec![vbd("1", s("OpaqueRef:NULL"), "Disk", true)],
        )
        .await;
    assert_eq!(code, "VBD_NOT_REMOVABLE_MEDIA");
    assert_eq!(params, ["in constructor"]);
    let cd = lab
        .call(
            "VBD.create",
            vec![vbd("autodetect", s("OpaqueRef:NULL"), "CD", true)],
        )
        .await;
    let cd: Vbd = lab
        .client
        .get_record(&Ref::new(cd.as_str().expect("ref")))
        .await
        .expect("CD VBD");
    assert_eq!(cd.userdevice, "1");
    assert_eq!(lab.disks(&vm).await.len(), 2);
}

#[tokio::test]
async fn a_checkpoint_is_a_suspended_snapshot_with_a_memory_image() {
    both(async |lab: Lab| {
        let (app, record) = lab.vm("app").await;
        let checkpoint: Ref<Vm> = Ref::new(
            lab.call("VM.checkpoint", vec![r(&app), s("before")])
                .await
                .as_str()
                .unwrap(),
        );
        let taken: Vm = lab.client.get_record(&checkpoint).await.unwrap();
        assert!(taken.is_a_snapshot);
        assert_eq!(taken.snapshot_of, app);
        assert_eq!(
            taken.power_state,
            lifeboat_xapi::records::PowerState::Suspended
        );
        assert_eq!(taken.snapshot_info["power-state-at-snapshot"], "Running");
        let memory = lab.vdi(&taken.suspend_vdi).await;
        assert_eq!(memory.vdi_type, "suspend");
        assert!(memory.virtual_size >= record.memory_static_max);
        assert_eq!(lab.disks(&checkpoint).await.len(), 2, "its disks too");
        let (app, record) = lab.vm("app").await;
        assert_eq!(
            record.power_state,
            lifeboat_xapi::records::PowerState::Running,
            "the VM runs on"
        );

        // A halted VM cannot be checkpointed.
        let (cold, _) = lab.vm("cold").await;
        let (code, _) = lab.fails("VM.checkpoint", vec![r(&cold), s("x")]).await;
        assert_eq!(code, "VM_BAD_POWER_STATE");
        lab.call("VM.destroy", vec![r(&checkpoint)]).await;
        assert!(lab.client.get_record(&app).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn allowed_operations_follow_blocks_once_recomputed() {
    both(async |lab: Lab| {
        let (app, _) = lab.vm("app").await;
        lab.call(
            "VM.add_to_blocked_operations",
            vec![r(&app), s("migrate_send"), s("backup")],
        )
        .await;
        lab.call("VM.update_allowed_operations", vec![r(&app)])
            .await;
        let record: Vm = lab.client.get_record(&app).await.unwrap();
        assert!(
            !record
                .allowed_operations
                .contains(&"migrate_send".to_owned())
        );
        assert!(
            record
                .allowed_operations
                .contains(&"clean_shutdown".to_owned())
        );
        assert!(
            !record.allowed_operations.contains(&"start".to_owned()),
            "it runs"
        );
        lab.call(
            "VM.remove_from_blocked_operations",
            vec![r(&app), s("migrate_send")],
        )
        .await;
        lab.call("VM.update_allowed_operations", vec![r(&app)])
            .await;
        let record: Vm = lab.client.get_record(&app).await.unwrap();
        assert!(
            record
                .allowed_operations
                .contains(&"migrate_send".to_owned())
        );
    })
    .await;
}

#[tokio::test]
async fn a_disk_that_does_not_fit_its_sr_is_refused() {
    both(async |lab: Lab| {
        let (app, _) = lab.vm("app").await;
        let disk = lab.vdi(&lab.disks(&app).await[0]).await;
        let create = |size: u64| {
            Value::record([
                ("SR", s(disk.sr.as_str())),
                ("virtual_size", Value::Int(size as i64)),
                ("type", s("user")),
                ("sharable", Value::Boolean(false)),
                ("read_only", Value::Boolean(false)),
                ("other_config", Value::record([])),
            ])
        };
        let (code, params) = lab.fails("VDI.create", vec![create(101 << 30)]).await;
        assert_eq!(code, "SR_FULL");
        assert_eq!(params[1], (100u64 << 30).to_string(), "the SR's size");
        lab.call("VDI.create", vec![create(1 << 30)]).await;
    })
    .await;
}
