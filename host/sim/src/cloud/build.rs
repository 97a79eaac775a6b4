//! Builds a cloud's state from its fixture: ids derived from the fixture (the same fixture always
//! gives the same ids), instances already ACTIVE with their volumes attached and addressed.

use std::sync::Arc;
use std::time::Duration;

use lifeboat_formats::secret::Secret;

use super::clock::Clock;
use super::content::BlockMap;
use super::fixture::{CloudSpec, VolumeSpec};
use super::state::compute::{Address, Bdm};
use super::state::identity::{AppCredential, Project, User};
use super::state::network::{parse_cidr, random_mac};
use super::state::volumes::Attachment;
use super::state::{
    CloudState, Flavor, Image, Network, SecurityGroup, Server, Volume, VolumeType, new_id,
};
use super::store::BackupStore;
use crate::seeded::fixture_uuid;

/// The state of the cloud `spec` describes, using `store` for its backups.
pub fn build(spec: &CloudSpec, store: Option<Arc<BackupStore>>, clock: Arc<Clock>) -> CloudState {
    let id = |kind: &str, position: usize, name: &str| {
        fixture_uuid(&spec.name, kind, position, name).to_string()
    };
    let simple = |kind: &str, position: usize, name: &str| {
        fixture_uuid(&spec.name, kind, position, name)
            .simple()
            .to_string()
    };
    let mut state = CloudState::new(&spec.name, &spec.region, clock);
    state.store = store;
    state.timings = spec.timings;
    state.identity.token_lifetime = Duration::from_secs(spec.token_seconds);
    state.volume_max = spec
        .microversions
        .volume
        .parse()
        .expect("checked by the fixture");
    state.compute_max = spec
        .microversions
        .compute
        .parse()
        .expect("checked by the fixture");
    for (position, project) in spec.projects.iter().enumerate() {
        state.identity.projects.push(Project {
            id: simple("project", position, &project.name),
            name: project.name.clone(),
            description: project.description.clone(),
            quotas: project.quotas.clone(),
        });
    }
    let project_id = |state: &CloudState, name: &str| {
        state
            .identity
            .project_named(name)
            .map(|p| p.id.clone())
            .expect("checked by the fixture")
    };
    for (position, user) in spec.users.iter().enumerate() {
        let roles = user
            .roles
            .iter()
            .map(|(project, role)| (project_id(&state, project), role.clone()))
            .collect();
        state.identity.users.push(User {
            id: simple("user", position, &user.name),
            name: user.name.clone(),
            password: Secret::new(user.password.as_str()),
            roles,
        });
    }
    for (position, credential) in spec.application_credentials.iter().enumerate() {
        let project = project_id(&state, &credential.project);
        let user = state
            .identity
            .users
            .iter()
            .find(|u| u.name == credential.user)
            .expect("checked by the fixture");
        let roles = match &credential.roles {
            Some(roles) => roles.clone(),
            None => vec![user.roles[&project].clone()],
        };
        let user_id = user.id.clone();
        state.identity.credentials.push(AppCredential {
            id: simple("application credential", position, &credential.name),
            name: credential.name.clone(),
            user_id,
            project_id: project,
            secret: Secret::new(credential.secret.as_str()),
            roles,
        });
    }
    for (position, flavor) in spec.flavors.iter().enumerate() {
        state.flavors.push(Flavor {
            id: id("flavor", position, &flavor.name),
            name: flavor.name.clone(),
            vcpus: flavor.vcpus,
            ram_mib: flavor.ram_mib,
            disk_gib: flavor.disk_gib,
            ephemeral_gib: flavor.ephemeral_gib,
            swap_mib: flavor.swap_mib,
            is_public: flavor.is_public,
            extra_specs: flavor.extra_specs.clone(),
        });
    }
    for (position, network) in spec.networks.iter().enumerate() {
        state.networks.push(Network {
            id: id("network", position, &network.name),
            name: network.name.clone(),
            project_id: network.project.as_ref().map(|p| project_id(&state, p)),
            prefix: parse_cidr(&network.cidr).expect("checked by the fixture"),
            allocated: 0,
        });
    }
    for (position, group) in spec.security_groups.iter().enumerate() {
        let project = project_id(&state, &group.project);
        state.security_groups.push(SecurityGroup {
            id: id("security group", position, &group.name),
            name: group.name.clone(),
            project_id: project,
            description: group.description.clone(),
        });
    }
    for (position, image) in spec.images.iter().enumerate() {
        state.images.push(Image {
            id: id("image", position, &image.name),
            name: image.name.clone(),
            min_ram_mib: image.min_ram_mib,
            min_disk_gib: image.min_disk_gib,
            disk_format: image.disk_format.clone(),
            properties: image.properties.clone(),
        });
    }
    for (position, kind) in spec.volume_types.iter().enumerate() {
        state.volume_types.push(VolumeType {
            id: id("volume type", position, &kind.name),
            name: kind.name.clone(),
            encrypted: kind.encrypted,
        });
    }
    let admin = state
        .identity
        .users
        .first()
        .map(|u| u.id.clone())
        .unwrap_or_default();
    let mut volume_position = 0;
    for volume in &spec.volumes {
        let project = project_id(&state, volume.project.as_deref().unwrap_or_default());
        let made = make_volume(
            &state,
            volume,
            &id("volume", volume_position, &volume.name),
            &project,
            &admin,
        );
        state.volumes.insert(made.id.clone(), made);
        volume_position += 1;
    }
    let now = state.now();
    for (position, instance) in spec.instances.iter().enumerate() {
        let server_id = id("server", position, &instance.name);
        let project = project_id(&state, &instance.project);
        let mut bdms = Vec::new();
        for (index, volume) in instance.volumes.iter().enumerate() {
            let volume_id = id("volume", volume_position, &volume.name);
            volume_position += 1;
            let device = format!("/dev/vd{}", char::from(b'a' + index as u8));
            let mut made = make_volume(&state, volume, &volume_id, &project, &admin);
            made.status = "in-use".into();
            made.attachments.push(Attachment {
                id: new_id(),
                server_id: server_id.clone(),
                device: device.clone(),
                attached_at: now,
            });
            state.volumes.insert(volume_id.clone(), made);
            bdms.push(Bdm {
                volume_id,
                boot_index: (index == 0).then_some(0),
                device,
                delete_on_termination: volume.delete_on_termination,
            });
        }
        let mut addresses = Vec::new();
        for name in &instance.networks {
            let network = state
                .networks
                .iter_mut()
                .find(|n| &n.name == name)
                .expect("checked by the fixture");
            if let Some(addr) = network.allocate() {
                addresses.push(Address {
                    network: name.clone(),
                    addr: addr.to_string(),
                    mac: random_mac(),
                });
            }
        }
        let flavor = state
            .flavors
            .iter()
            .find(|f| f.name == instance.flavor)
            .expect("checked by the fixture")
            .clone();
        let server = Server {
            id: server_id.clone(),
            project_id: project,
            user_id: admin.clone(),
            name: instance.name.clone(),
            description: instance.description.clone(),
            status: "ACTIVE".into(),
            flavor,
            bdms,
            addresses,
            security_groups: if instance.security_groups.is_empty() {
                vec!["default".into()]
            } else {
                instance.security_groups.clone()
            },
            key_name: instance.key_name.clone(),
            user_data: instance.user_data.clone(),
            metadata: instance.metadata.clone(),
            tags: instance.tags.clone(),
            availability_zone: state.availability_zone.clone(),
            created_at: now,
            updated_at: now,
            fault: None,
            requested_networks: Vec::new(),
        };
        state.servers.insert(server_id, server);
    }
    state
}

fn make_volume(
    state: &CloudState,
    spec: &VolumeSpec,
    id: &str,
    project: &str,
    user: &str,
) -> Volume {
    let image = spec
        .image
        .as_ref()
        .and_then(|name| state.images.iter().find(|i| &i.name == name));
    let kind = spec
        .volume_type
        .as_ref()
        .and_then(|name| state.volume_types.iter().find(|t| &t.name == name))
        .or(state.volume_types.first());
    Volume {
        id: id.to_owned(),
        project_id: project.to_owned(),
        user_id: user.to_owned(),
        name: Some(spec.name.clone()),
        description: Some(spec.description.clone()),
        size: spec.size_gib,
        status: "available".into(),
        previous_status: None,
        bootable: image.is_some(),
        volume_type: kind.map_or_else(|| "__DEFAULT__".to_owned(), |k| k.name.clone()),
        availability_zone: state.availability_zone.clone(),
        encrypted: kind.is_some_and(|k| k.encrypted),
        metadata: spec.metadata.clone(),
        image_metadata: image.map(Image::volume_metadata).unwrap_or_default(),
        attachments: Vec::new(),
        snapshot_id: None,
        source_volid: None,
        backup_id: None,
        created_at: state.now(),
        updated_at: None,
        content: spec
            .data
            .map(|d| BlockMap::generated(d.seed, d.blocks))
            .unwrap_or_default(),
    }
}
