//! `vm-changes` written into the VM record of an XVA's `ova.xml`, so that the VM an import
//! creates carries them from its first moment (`import-vm-with`). xapi creates the VM from that
//! record: name, description, `other_config`, `blocked_operations`, tags, HA priority and
//! template flag are taken as they are written.

use lifeboat_formats::xmlrpc::Value;
use lifeboat_formats::xva::{OVA_XML, OvaXml, XvaError};

use crate::bindings::xapi::VmChanges;

/// Applies `changes` to every VM of `ova` that is not a snapshot: the VMs an import creates
/// (an export of a VM or of a snapshot holds one). An archive without such a VM is refused.
pub fn apply(ova: &mut OvaXml, changes: &VmChanges) -> Result<(), XvaError> {
    let mut applied = 0;
    for object in ova.objects.iter_mut().filter(|o| o.class == "VM") {
        if object
            .snapshot
            .get("is_a_snapshot")
            .and_then(Value::as_bool)
            == Some(true)
        {
            continue;
        }
        apply_to_record(&mut object.snapshot, changes);
        applied += 1;
    }
    if applied == 0 {
        return Err(XvaError::InvalidOvaXml {
            entry: OVA_XML.into(),
            field: "objects".into(),
            problem: "the archive holds no VM to import".into(),
        });
    }
    Ok(())
}

fn apply_to_record(record: &mut Value, changes: &VmChanges) {
    if let Some(name) = &changes.name_label {
        record.set("name_label", Value::string(name));
    }
    if let Some(description) = &changes.name_description {
        record.set("name_description", Value::string(description));
    }
    change_map(record, "other_config", &changes.other_config);
    change_map(record, "blocked_operations", &changes.blocked_operations);
    if !changes.add_tags.is_empty() || !changes.remove_tags.is_empty() {
        let mut tags: Vec<String> = record
            .get("tags")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(|tag| tag.as_str().map(str::to_owned))
            .filter(|tag| !changes.remove_tags.contains(tag))
            .collect();
        for tag in &changes.add_tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        record.set(
            "tags",
            Value::Array(tags.into_iter().map(Value::String).collect()),
        );
    }
    if let Some(priority) = &changes.ha_restart_priority {
        record.set("ha_restart_priority", Value::string(priority));
        if priority.is_empty() {
            record.set("ha_always_run", Value::Boolean(false));
        }
    }
    if let Some(template) = changes.is_a_template {
        record.set("is_a_template", Value::Boolean(template));
    }
}

/// Sets (`Some`) or removes (`None`) keys of the map field `field`.
fn change_map(record: &mut Value, field: &str, changes: &[(String, Option<String>)]) {
    if changes.is_empty() {
        return;
    }
    if !matches!(record.get(field), Some(Value::Struct(_))) {
        record.set(field, Value::Struct(Vec::new()));
    }
    let Some(map) = record.get_mut(field) else {
        return;
    };
    for (key, value) in changes {
        match value {
            Some(value) => map.set(key, Value::string(value)),
            None => map.remove(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_formats::xva::{ExportVersion, OvaObject};

    fn vm(record: Value) -> OvaObject {
        OvaObject {
            class: "VM".into(),
            id: "Ref:0".into(),
            snapshot: record,
        }
    }

    fn ova(objects: Vec<OvaObject>) -> OvaXml {
        OvaXml {
            version: ExportVersion {
                hostname: String::new(),
                date: String::new(),
                product_version: String::new(),
                product_brand: String::new(),
                build_number: String::new(),
                xapi_major: 1,
                xapi_minor: 1,
                export_vsn: 2,
            },
            objects,
        }
    }

    fn changes() -> VmChanges {
        VmChanges {
            name_label: Some("web01 - DR - (20241102T030405Z)".into()),
            name_description: None,
            other_config: vec![
                ("xo:backup:job".into(), Some("job".into())),
                ("xo:backup:sr".into(), None),
            ],
            blocked_operations: vec![
                ("start".into(), Some("blocked".into())),
                ("destroy".into(), None),
            ],
            add_tags: vec!["Disaster Recovery".into()],
            remove_tags: vec!["old".into()],
            ha_restart_priority: Some(String::new()),
            is_a_template: Some(false),
        }
    }

    #[test]
    fn the_vm_record_takes_every_change() {
        let mut archive = ova(vec![vm(Value::record([
            ("name_label", Value::string("web01")),
            (
                "other_config",
                Value::record([
                    ("xo:backup:sr", Value::string("sr")),
                    ("mac_seed", Value::string("seed")),
                ]),
            ),
            (
                "blocked_operations",
                Value::record([("destroy", Value::string("protected"))]),
            ),
            (
                "tags",
                Value::Array(vec![Value::string("prod"), Value::string("old")]),
            ),
            ("ha_restart_priority", Value::string("restart")),
            ("ha_always_run", Value::Boolean(true)),
            ("is_a_template", Value::Boolean(true)),
        ]))]);
        apply(&mut archive, &changes()).unwrap();
        let record = &archive.objects[0].snapshot;
        assert_eq!(
            record.get("name_label"),
            Some(&Value::string("web01 - DR - (20241102T030405Z)"))
        );
        assert_eq!(
            record.get("other_config"),
            Some(&Value::record([
                ("mac_seed", Value::string("seed")),
                ("xo:backup:job", Value::string("job")),
            ]))
        );
        assert_eq!(
            record.get("blocked_operations"),
            Some(&Value::record([("start", Value::string("blocked"))]))
        );
        assert_eq!(
            record.get("tags"),
            Some(&Value::Array(vec![
                Value::string("prod"),
                Value::string("Disaster Recovery")
            ]))
        );
        assert_eq!(record.get("ha_restart_priority"), Some(&Value::string("")));
        assert_eq!(record.get("ha_always_run"), Some(&Value::Boolean(false)));
        assert_eq!(record.get("is_a_template"), Some(&Value::Boolean(false)));
    }

    #[test]
    fn snapshots_are_left_alone_and_an_archive_without_a_vm_is_refused() {
        let snapshot = Value::record([
            ("name_label", Value::string("snap")),
            ("is_a_snapshot", Value::Boolean(true)),
        ]);
        let mut archive = ova(vec![vm(snapshot.clone())]);
        assert!(matches!(
            apply(&mut archive, &changes()),
            Err(XvaError::InvalidOvaXml { field, .. }) if field == "objects"
        ));
        assert_eq!(archive.objects[0].snapshot, snapshot);
        let mut archive = ova(vec![vm(Value::record([])), vm(snapshot.clone())]);
        apply(&mut archive, &changes()).unwrap();
        assert_eq!(archive.objects[1].snapshot, snapshot);
        assert!(archive.objects[0].snapshot.get("tags").is_some());
    }
}
