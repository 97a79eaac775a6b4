//! The JSON of each resource as Cinder, Nova and Neutron show it, with the fields that depend on
//! the microversion asked for.

use serde_json::{Map, Value, json};

use super::{Call, links};
use crate::cloud::clock::{timestamp, timestamp_z};
use crate::cloud::microversion::Microversion;
use crate::cloud::state::compute::Server;
use crate::cloud::state::volumes::Transfer;
use crate::cloud::state::{Backup, Flavor, Snapshot, Volume};

fn volume_url(call: &Call<'_>, kind: &str, id: &str) -> String {
    format!(
        "{}/volume/v3/{}/{kind}/{id}",
        call.base, call.caller.project_id
    )
}

pub fn volume(call: &Call<'_>, volume: &Volume) -> Value {
    let attachments: Vec<Value> = volume
        .attachments
        .iter()
        .map(|a| {
            json!({
                "id": volume.id, "attachment_id": a.id, "volume_id": volume.id,
                "server_id": a.server_id, "device": a.device, "host_name": null,
                "attached_at": timestamp(a.attached_at),
            })
        })
        .collect();
    let mut view = json!({
        "id": volume.id,
        "name": volume.name,
        "description": volume.description,
        "status": volume.status,
        "size": volume.size,
        "availability_zone": volume.availability_zone,
        // Cinder sends bootable as a string.
        "bootable": if volume.bootable { "true" } else { "false" },
        "encrypted": volume.encrypted,
        "volume_type": volume.volume_type,
        "metadata": volume.metadata,
        "attachments": attachments,
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "backup_id": volume.backup_id,
        "multiattach": false,
        "user_id": volume.user_id,
        "created_at": timestamp(volume.created_at),
        "updated_at": volume.updated_at.map(timestamp),
        "replication_status": null,
        "consistencygroup_id": null,
        "migration_status": null,
        "group_id": null,
        "links": links(volume_url(call, "volumes", &volume.id)),
    });
    if !volume.image_metadata.is_empty() {
        view["volume_image_metadata"] = json!(volume.image_metadata);
    }
    if call.caller.is_admin() {
        view["os-vol-tenant-attr:tenant_id"] = json!(volume.project_id);
    }
    view
}

pub fn snapshot(call: &Call<'_>, snapshot: &Snapshot) -> Value {
    json!({
        "id": snapshot.id,
        "name": snapshot.name,
        "description": snapshot.description,
        "volume_id": snapshot.volume_id,
        "status": snapshot.status,
        "size": snapshot.size,
        "metadata": snapshot.metadata,
        "created_at": timestamp(snapshot.created_at),
        "updated_at": null,
        "links": links(volume_url(call, "snapshots", &snapshot.id)),
    })
}

pub fn backup(call: &Call<'_>, backup: &Backup) -> Value {
    let mut view = json!({
        "id": backup.id,
        "name": backup.name,
        "description": backup.description,
        "status": backup.status,
        "size": backup.size,
        "object_count": backup.object_count,
        "availability_zone": backup.availability_zone,
        "container": backup.container,
        "created_at": timestamp(backup.created_at),
        "updated_at": backup.updated_at.map(timestamp),
        "fail_reason": backup.fail_reason,
        "volume_id": backup.volume_id,
        "snapshot_id": backup.snapshot_id,
        "is_incremental": backup.is_incremental(),
        "has_dependent_backups": call.state.has_dependents(&backup.id),
        "data_timestamp": timestamp(backup.data_timestamp),
        "links": links(volume_url(call, "backups", &backup.id)),
    });
    let at = |major, minor| call.version >= Microversion::new(major, minor);
    if at(3, 18) && call.caller.is_admin() {
        view["os-backup-project-attr:project_id"] = json!(backup.project_id);
    }
    if at(3, 43) {
        view["metadata"] = json!(backup.metadata);
    }
    if at(3, 56) {
        view["user_id"] = json!(backup.user_id);
    }
    if at(3, 64) {
        view["encryption_key_id"] = Value::Null;
    }
    view
}

pub fn transfer(call: &Call<'_>, transfer: &Transfer) -> Value {
    json!({
        "id": transfer.id,
        "name": transfer.name,
        "volume_id": transfer.volume_id,
        "created_at": timestamp(transfer.created_at),
        "links": links(volume_url(call, "volume-transfers", &transfer.id)),
    })
}

pub fn flavor(call: &Call<'_>, flavor: &Flavor) -> Value {
    let at = |minor| call.version >= Microversion::new(2, minor);
    let href = format!("{}/compute/v2.1/flavors/{}", call.base, flavor.id);
    let mut view = json!({
        "id": flavor.id,
        "name": flavor.name,
        "ram": flavor.ram_mib,
        "vcpus": flavor.vcpus,
        "disk": flavor.disk_gib,
        // Before 2.75 Nova shows a swap of 0 as "".
        "swap": if flavor.swap_mib == 0 && !at(75) { json!("") } else { json!(flavor.swap_mib) },
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gib,
        "OS-FLV-DISABLED:disabled": false,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": 1.0,
        "links": links(href),
    });
    if at(55) {
        view["description"] = Value::Null;
    }
    if at(61) {
        view["extra_specs"] = json!(flavor.extra_specs);
    }
    view
}

pub fn server(call: &Call<'_>, server: &Server) -> Value {
    let at = |minor| call.version >= Microversion::new(2, minor);
    let href = format!("{}/compute/v2.1/servers/{}", call.base, server.id);
    let mut addresses = Map::new();
    for address in &server.addresses {
        let list = addresses
            .entry(address.network.clone())
            .or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.push(json!({
                "addr": address.addr, "version": 4,
                "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": address.mac,
            }));
        }
    }
    let flavor = if at(47) {
        json!({
            "original_name": server.flavor.name, "vcpus": server.flavor.vcpus,
            "ram": server.flavor.ram_mib, "disk": server.flavor.disk_gib,
            "ephemeral": server.flavor.ephemeral_gib, "swap": server.flavor.swap_mib,
            "extra_specs": server.flavor.extra_specs,
        })
    } else {
        json!({"id": server.flavor.id,
               "links": links(format!("{}/compute/v2.1/flavors/{}", call.base, server.flavor.id))})
    };
    let volumes: Vec<Value> = server
        .bdms
        .iter()
        .map(|b| {
            let mut attached = json!({"id": b.volume_id});
            if at(3) {
                attached["delete_on_termination"] = json!(b.delete_on_termination);
            }
            attached
        })
        .collect();
    let (vm_state, power_state) = match server.status.as_str() {
        "ACTIVE" => ("active", 1),
        "ERROR" => ("error", 0),
        _ => ("building", 0),
    };
    let mut view = json!({
        "id": server.id,
        "name": server.name,
        "status": server.status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": server.metadata,
        "hostId": "",
        // Servers booted from volumes have no image.
        "image": "",
        "flavor": flavor,
        "created": timestamp_z(server.created_at),
        "updated": timestamp_z(server.updated_at),
        "addresses": addresses,
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links(href),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": if server.status == "ACTIVE" { 100 } else { 0 },
        "OS-EXT-AZ:availability_zone": server.availability_zone,
        "config_drive": "",
        "key_name": server.key_name,
        "security_groups": server.security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "OS-EXT-STS:task_state": null,
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:power_state": power_state,
        "os-extended-volumes:volumes_attached": volumes,
    });
    if at(19) {
        view["description"] = json!(server.description);
    }
    if at(26) {
        view["tags"] = json!(server.tags);
    }
    if call.caller.is_admin() && at(3) {
        view["OS-EXT-SRV-ATTR:user_data"] = json!(server.user_data);
        view["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
    }
    if let Some(fault) = &server.fault {
        view["fault"] =
            json!({"code": 500, "message": fault, "created": timestamp_z(server.updated_at)});
    }
    view
}
