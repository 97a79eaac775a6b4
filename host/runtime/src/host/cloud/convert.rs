//! OpenStack objects as the client decodes them ↔ the WIT records components see.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lifeboat_cloud::block_storage as bs;
use lifeboat_cloud::compute as nova;
use lifeboat_cloud::network as neutron;

use crate::bindings::cloud as wit;

type Pairs = Vec<(String, String)>;

fn pairs(map: &BTreeMap<String, String>) -> Pairs {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A WIT map as the client's; a key given twice keeps its last value.
pub fn map(pairs: Pairs) -> BTreeMap<String, String> {
    pairs.into_iter().collect()
}

fn millis(time: Option<DateTime<Utc>>) -> Option<u64> {
    time.and_then(|time| u64::try_from(time.timestamp_millis()).ok())
}

pub fn volume(volume: bs::Volume) -> wit::Volume {
    wit::Volume {
        status: volume.status.to_string(),
        size_gib: volume.size,
        bootable: volume.bootable,
        encrypted: volume.encrypted,
        metadata: pairs(&volume.metadata),
        image_metadata: pairs(&volume.volume_image_metadata),
        attachments: volume
            .attachments
            .into_iter()
            .map(|attachment| wit::VolumeAttachment {
                server_id: attachment.server_id,
                device: attachment.device,
            })
            .collect(),
        created_ms: millis(volume.created_at),
        id: volume.id,
        name: volume.name,
        description: volume.description,
        volume_type: volume.volume_type,
        availability_zone: volume.availability_zone,
        snapshot_id: volume.snapshot_id,
    }
}

pub fn volume_spec(spec: wit::VolumeSpec) -> bs::VolumeSpec {
    bs::VolumeSpec {
        size: spec.size_gib,
        name: spec.name,
        description: spec.description,
        volume_type: spec.volume_type,
        availability_zone: spec.availability_zone,
        metadata: map(spec.metadata),
        source: match spec.source {
            wit::VolumeSource::Blank => bs::VolumeSource::Blank,
            wit::VolumeSource::Snapshot(id) => bs::VolumeSource::Snapshot(id),
            wit::VolumeSource::Backup(id) => bs::VolumeSource::Backup(id),
        },
    }
}

pub fn snapshot(snapshot: bs::Snapshot) -> wit::Snapshot {
    wit::Snapshot {
        status: snapshot.status.to_string(),
        size_gib: snapshot.size,
        metadata: pairs(&snapshot.metadata),
        created_ms: millis(snapshot.created_at),
        id: snapshot.id,
        name: snapshot.name,
        description: snapshot.description,
        volume_id: snapshot.volume_id,
    }
}

pub fn snapshot_spec(spec: wit::SnapshotSpec) -> bs::SnapshotSpec {
    bs::SnapshotSpec {
        volume_id: spec.volume_id,
        name: spec.name,
        description: spec.description,
        force: spec.force,
        metadata: map(spec.metadata),
    }
}

pub fn backup(backup: bs::Backup) -> wit::Backup {
    wit::Backup {
        status: backup.status.to_string(),
        size_gib: backup.size,
        is_incremental: backup.is_incremental,
        has_dependent_backups: backup.has_dependent_backups,
        data_timestamp_ms: millis(backup.data_timestamp),
        created_ms: millis(backup.created_at),
        metadata: pairs(&backup.metadata),
        id: backup.id,
        name: backup.name,
        description: backup.description,
        volume_id: backup.volume_id,
        snapshot_id: backup.snapshot_id,
        container: backup.container,
        availability_zone: backup.availability_zone,
        fail_reason: backup.fail_reason,
    }
}

pub fn backup_spec(spec: wit::BackupSpec) -> bs::BackupSpec {
    bs::BackupSpec {
        volume_id: spec.volume_id,
        name: spec.name,
        description: spec.description,
        container: spec.container,
        incremental: spec.incremental,
        force: spec.force,
        snapshot_id: spec.snapshot_id,
        metadata: map(spec.metadata),
        availability_zone: spec.availability_zone,
    }
}

pub fn backup_filter(filter: wit::BackupFilter) -> bs::BackupFilter {
    bs::BackupFilter {
        volume_id: filter.volume_id,
        name: filter.name,
        status: filter.status.as_deref().map(bs::BackupStatus::from),
    }
}

pub fn restore_target(target: wit::RestoreTarget) -> bs::RestoreTarget {
    match target {
        wit::RestoreTarget::NewVolume(name) => bs::RestoreTarget::NewVolume { name },
        wit::RestoreTarget::ExistingVolume(id) => bs::RestoreTarget::ExistingVolume(id),
    }
}

pub fn flavor(flavor: nova::Flavor) -> wit::Flavor {
    wit::Flavor {
        vcpus: flavor.vcpus,
        ram_mib: flavor.ram,
        disk_gib: flavor.disk,
        ephemeral_gib: flavor.ephemeral,
        swap_mib: flavor.swap,
        is_public: flavor.is_public,
        extra_specs: pairs(&flavor.extra_specs),
        id: flavor.id,
        name: flavor.name,
    }
}

pub fn server(server: nova::Server) -> wit::Server {
    let flavor = match server.flavor {
        nova::ServerFlavor::Embedded(copy) => wit::ServerFlavor::Copy(wit::Flavor {
            // A copy has no id of its own: the flavor may have been deleted or changed since.
            id: String::new(),
            name: copy.original_name,
            vcpus: copy.vcpus,
            ram_mib: copy.ram,
            disk_gib: copy.disk,
            ephemeral_gib: copy.ephemeral,
            swap_mib: copy.swap,
            is_public: true,
            extra_specs: pairs(&copy.extra_specs),
        }),
        nova::ServerFlavor::Reference { id } => wit::ServerFlavor::Id(id),
    };
    let addresses = server
        .addresses
        .into_iter()
        .flat_map(|(network, addresses)| {
            addresses
                .into_iter()
                .map(move |address| wit::ServerAddress {
                    network_name: network.clone(),
                    addr: address.addr,
                    version: address.version,
                    kind: address.kind,
                    mac: address.mac,
                })
        })
        .collect();
    wit::Server {
        status: server.status.to_string(),
        flavor,
        image_id: server.image,
        addresses,
        metadata: pairs(&server.metadata),
        fault: server.fault.map(|fault| fault.message),
        created_ms: millis(server.created),
        id: server.id,
        name: server.name,
        description: server.description,
        security_groups: server.security_groups,
        key_name: server.key_name,
        tags: server.tags,
        availability_zone: server.availability_zone,
        user_data: server.user_data,
    }
}

pub fn server_volume(volume: nova::ServerVolume) -> wit::ServerVolume {
    wit::ServerVolume {
        volume_id: volume.volume_id,
        device: volume.device,
        delete_on_termination: volume.delete_on_termination,
        tag: volume.tag,
    }
}

pub fn server_spec(spec: wit::ServerSpec) -> nova::ServerSpec {
    nova::ServerSpec {
        name: spec.name,
        flavor_id: spec.flavor_id,
        block_devices: spec
            .block_devices
            .into_iter()
            .map(|device| nova::BlockDevice {
                volume_id: device.volume_id,
                boot_index: device.boot_index,
                delete_on_termination: device.delete_on_termination,
                device_name: device.device_name,
            })
            .collect(),
        networks: match spec.networks {
            wit::Networks::None => nova::Networks::None,
            wit::Networks::Auto => nova::Networks::Auto,
            wit::Networks::Explicit(requests) => nova::Networks::Explicit(
                requests
                    .into_iter()
                    .map(|request| nova::NetworkRequest {
                        network_id: request.network_id,
                        port_id: request.port_id,
                        fixed_ip: request.fixed_ip,
                    })
                    .collect(),
            ),
        },
        security_groups: spec.security_groups,
        key_name: spec.key_name,
        user_data: spec.user_data,
        availability_zone: spec.availability_zone,
        metadata: map(spec.metadata),
        tags: spec.tags,
        description: spec.description,
    }
}

pub fn network(network: neutron::Network) -> wit::Network {
    wit::Network {
        id: network.id,
        name: network.name,
        shared: network.shared,
        external: network.external,
    }
}

pub fn security_group(group: neutron::SecurityGroup) -> wit::SecurityGroup {
    wit::SecurityGroup {
        id: group.id,
        name: group.name,
        description: group.description,
    }
}
