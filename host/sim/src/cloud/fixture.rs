//! Cloud fixtures: YAML files that describe simulated OpenStack clouds (projects, users and their
//! roles, application credentials, flavors, networks, images, volume types, instances with their
//! volumes and generated block contents) and the backup stores they share.
//!
//! ```yaml
//! backup_stores:
//!   - {name: shared-swift, auth: single-user}   # or per-user (Swift's default)
//! clouds:
//!   - name: east
//!     backup_store: shared-swift
//!     projects: [{name: production}, {name: recovery}]
//!     users:
//!       - {name: admin, password: secret, roles: {production: admin, recovery: admin}}
//!     flavors: [{name: m1.small, vcpus: 1, ram_mib: 2048, disk_gib: 20}]
//!     instances:
//!       - name: web-1
//!         project: production
//!         flavor: m1.small
//!         volumes:
//!           - {name: web-1-root, size_gib: 2, image: cirros, data: {seed: 1, blocks: 8}}
//! ```
//!
//! Unknown keys are refused, and errors name the line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fixture_file::{self, FixtureError};

/// A cloud fixture file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloudFixture {
    /// Object stores that hold backup data; several clouds may name the same one.
    #[serde(default)]
    pub backup_stores: Vec<BackupStoreSpec>,
    pub clouds: Vec<CloudSpec>,
}

/// Where Cinder's backup driver keeps its objects.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupStoreSpec {
    pub name: String,
    /// `per-user` keeps each project's objects in that project's account (Swift's default), so a
    /// record imported into another project cannot reach them; `single-user` shares one account.
    #[serde(default)]
    pub auth: StoreAuth,
    /// The driver module that export_record names and import_record checks.
    #[serde(default = "default_backup_service")]
    pub service: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreAuth {
    PerUser,
    #[default]
    SingleUser,
}

fn default_backup_service() -> String {
    "cinder.backup.drivers.swift".into()
}

/// One cloud: a region with its own Keystone, Nova and Cinder.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSpec {
    pub name: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// The backup store of this cloud's Cinder; without one, backup calls answer 503.
    #[serde(default)]
    pub backup_store: Option<String>,
    #[serde(default)]
    pub projects: Vec<ProjectSpec>,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub application_credentials: Vec<AppCredentialSpec>,
    #[serde(default)]
    pub flavors: Vec<FlavorSpec>,
    #[serde(default)]
    pub networks: Vec<NetworkSpec>,
    #[serde(default)]
    pub security_groups: Vec<SecurityGroupSpec>,
    #[serde(default)]
    pub images: Vec<ImageSpec>,
    #[serde(default)]
    pub volume_types: Vec<VolumeTypeSpec>,
    #[serde(default)]
    pub instances: Vec<InstanceSpec>,
    /// Volumes attached to no instance.
    #[serde(default)]
    pub volumes: Vec<VolumeSpec>,
    #[serde(default)]
    pub microversions: MicroversionSpec,
    #[serde(default)]
    pub timings: Timings,
    /// How long a token lives, in seconds of simulated time.
    #[serde(default = "default_token_seconds")]
    pub token_seconds: u64,
}

fn default_region() -> String {
    "RegionOne".into()
}

fn default_token_seconds() -> u64 {
    3600
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub quotas: Quotas,
}

/// Per-project limits; `None` is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    pub volumes: Option<u64>,
    pub gigabytes: Option<u64>,
    pub backups: Option<u64>,
    pub backup_gigabytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub name: String,
    pub password: String,
    /// Project name → role (`admin`, `member` or `reader`). An `admin` role anywhere makes the
    /// user a cloud administrator, as Keystone's default policy does.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredentialSpec {
    pub name: String,
    pub user: String,
    pub project: String,
    pub secret: String,
    /// A subset of the user's roles on the project [default: all of them].
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlavorSpec {
    pub name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    #[serde(default)]
    pub disk_gib: u64,
    #[serde(default)]
    pub ephemeral_gib: u64,
    #[serde(default)]
    pub swap_mib: u64,
    #[serde(default = "yes")]
    pub is_public: bool,
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub name: String,
    /// The owning project; `None` makes the network shared by all.
    #[serde(default)]
    pub project: Option<String>,
    /// The IPv4 prefix addresses come from, e.g. `10.0.0.0/24`.
    pub cidr: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroupSpec {
    pub name: String,
    pub project: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub name: String,
    #[serde(default)]
    pub min_ram_mib: u64,
    #[serde(default)]
    pub min_disk_gib: u64,
    #[serde(default = "default_disk_format")]
    pub disk_format: String,
    /// Glance properties (`hw_firmware_type`, `hw_machine_type`, …) that volumes made from the
    /// image carry in their image metadata.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_disk_format() -> String {
    "qcow2".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeTypeSpec {
    pub name: String,
    #[serde(default)]
    pub encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub name: String,
    pub project: String,
    pub flavor: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub networks: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default)]
    pub user_data: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// In boot order: the first one boots (boot index 0) and is `/dev/vda`.
    pub volumes: Vec<VolumeSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    pub name: String,
    pub size_gib: u64,
    /// The project of a volume attached to no instance (an instance's volumes are its project's).
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub volume_type: Option<String>,
    /// The image the volume was made from: the volume is bootable and carries its metadata.
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub data: Option<DataSpec>,
    #[serde(default = "yes")]
    pub delete_on_termination: bool,
}

/// Generated block contents: `blocks` blocks of pseudo-random bytes from `seed`, from the start.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    pub seed: u64,
    pub blocks: u64,
}

/// The highest microversions the cloud's services accept.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MicroversionSpec {
    #[serde(default = "default_volume_max")]
    pub volume: String,
    #[serde(default = "default_compute_max")]
    pub compute: String,
}

fn default_volume_max() -> String {
    "3.71".into()
}

fn default_compute_max() -> String {
    "2.96".into()
}

impl Default for MicroversionSpec {
    fn default() -> Self {
        MicroversionSpec {
            volume: default_volume_max(),
            compute: default_compute_max(),
        }
    }
}

/// How long (in milliseconds of simulated time) each asynchronous operation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timings {
    pub volume_create_ms: u64,
    pub volume_delete_ms: u64,
    pub snapshot_ms: u64,
    pub backup_ms: u64,
    pub backup_delete_ms: u64,
    pub restore_ms: u64,
    pub import_ms: u64,
    pub server_build_ms: u64,
    pub server_delete_ms: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            volume_create_ms: 50,
            volume_delete_ms: 50,
            snapshot_ms: 50,
            backup_ms: 200,
            backup_delete_ms: 50,
            restore_ms: 200,
            import_ms: 50,
            server_build_ms: 100,
            server_delete_ms: 50,
        }
    }
}

/// The text of the built-in cloud fixture (the example of two clouds sharing a backup store).
pub const BUILTIN_CLOUD_FIXTURE: &str = include_str!("../../../../examples/openstack-clouds.yaml");

impl CloudFixture {
    /// Reads and checks a fixture file.
    pub fn load(path: &Path) -> Result<CloudFixture, FixtureError> {
        fixture_file::load(path, CloudFixture::check)
    }

    /// Parses and checks fixture text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<CloudFixture, FixtureError> {
        fixture_file::parse(text, origin, CloudFixture::check)
    }

    /// The built-in fixture (examples/openstack-clouds.yaml).
    pub fn builtin() -> CloudFixture {
        CloudFixture::parse(BUILTIN_CLOUD_FIXTURE, "built-in cloud fixture")
            .expect("the built-in cloud fixture is valid")
    }

    /// Checks what serde cannot: names unique and every reference resolvable.
    fn check(&self) -> Result<(), String> {
        let stores = unique("backup store", self.backup_stores.iter().map(|s| &s.name))?;
        unique("cloud", self.clouds.iter().map(|c| &c.name))?;
        for cloud in &self.clouds {
            cloud
                .check(&stores)
                .map_err(|problem| format!("cloud {}: {problem}", cloud.name))?;
        }
        Ok(())
    }
}

impl CloudSpec {
    fn check(&self, stores: &BTreeSet<&String>) -> Result<(), String> {
        if let Some(store) = &self.backup_store
            && !stores.contains(store)
        {
            return Err(format!("backup_store {store:?} is not among backup_stores"));
        }
        let projects = unique("project", self.projects.iter().map(|p| &p.name))?;
        let users = unique("user", self.users.iter().map(|u| &u.name))?;
        let flavors = unique("flavor", self.flavors.iter().map(|f| &f.name))?;
        let networks = unique("network", self.networks.iter().map(|n| &n.name))?;
        let images = unique("image", self.images.iter().map(|i| &i.name))?;
        let types = unique("volume type", self.volume_types.iter().map(|t| &t.name))?;
        unique("instance", self.instances.iter().map(|i| &i.name))?;
        unique(
            "volume",
            self.volumes
                .iter()
                .chain(self.instances.iter().flat_map(|i| &i.volumes))
                .map(|v| &v.name),
        )?;
        unique(
            "application credential",
            self.application_credentials.iter().map(|a| &a.name),
        )?;
        let known = |kind: &str, set: &BTreeSet<&String>, name: &String| {
            if set.contains(name) {
                Ok(())
            } else {
                Err(format!("unknown {kind} {name:?}"))
            }
        };
        for version in [&self.microversions.volume, &self.microversions.compute] {
            if version
                .parse::<crate::cloud::microversion::Microversion>()
                .is_err()
            {
                return Err(format!("microversion {version:?} is not MAJOR.MINOR"));
            }
        }
        for user in &self.users {
            for (project, role) in &user.roles {
                known("project", &projects, project)
                    .map_err(|e| format!("user {}: {e}", user.name))?;
                if !["admin", "member", "reader"].contains(&role.as_str()) {
                    return Err(format!(
                        "user {}: role {role:?} is not admin, member or reader",
                        user.name
                    ));
                }
            }
        }
        for credential in &self.application_credentials {
            let context = |e: String| format!("application credential {}: {e}", credential.name);
            known("user", &users, &credential.user).map_err(context)?;
            known("project", &projects, &credential.project).map_err(context)?;
            let user = self.users.iter().find(|u| u.name == credential.user);
            let held = user.and_then(|u| u.roles.get(&credential.project));
            let Some(held) = held else {
                return Err(context(format!(
                    "user {} has no role on project {}",
                    credential.user, credential.project
                )));
            };
            if let Some(roles) = &credential.roles
                && roles.iter().any(|r| r != held && r != "reader")
            {
                return Err(context(format!(
                    "roles {roles:?} are not a subset of the user's role {held:?}"
                )));
            }
        }
        for network in &self.networks {
            if let Some(project) = &network.project {
                known("project", &projects, project)
                    .map_err(|e| format!("network {}: {e}", network.name))?;
            }
            if crate::cloud::state::network::parse_cidr(&network.cidr).is_none() {
                return Err(format!(
                    "network {}: cidr {:?} is not an IPv4 prefix of /8 to /30",
                    network.name, network.cidr
                ));
            }
        }
        for group in &self.security_groups {
            known("project", &projects, &group.project)
                .map_err(|e| format!("security group {}: {e}", group.name))?;
        }
        let check_volume = |volume: &VolumeSpec, project: Option<&String>| {
            let context = |e: String| format!("volume {}: {e}", volume.name);
            match project.or(volume.project.as_ref()) {
                Some(project) => known("project", &projects, project).map_err(context)?,
                None => return Err(context("no project".into())),
            }
            let most = crate::cloud::state::volumes::MAX_VOLUME_GIB;
            if volume.size_gib == 0 || volume.size_gib > most {
                return Err(context(format!("size_gib must be from 1 to {most}")));
            }
            if let Some(image) = &volume.image {
                known("image", &images, image).map_err(context)?;
            }
            if let Some(kind) = &volume.volume_type {
                known("volume type", &types, kind).map_err(context)?;
            }
            if let Some(data) = volume.data {
                let capacity =
                    volume.size_gib.saturating_mul(1 << 30) / crate::cloud::content::BLOCK_SIZE;
                if data.blocks > capacity.min(crate::cloud::content::MAX_FIXTURE_BLOCKS) {
                    return Err(context(format!(
                        "data.blocks {} exceeds the volume or the simulator's limit of {}",
                        data.blocks,
                        crate::cloud::content::MAX_FIXTURE_BLOCKS
                    )));
                }
            }
            Ok(())
        };
        for volume in &self.volumes {
            check_volume(volume, None)?;
        }
        for instance in &self.instances {
            let context = |e: String| format!("instance {}: {e}", instance.name);
            known("project", &projects, &instance.project).map_err(context)?;
            known("flavor", &flavors, &instance.flavor).map_err(context)?;
            for network in &instance.networks {
                known("network", &networks, network).map_err(context)?;
            }
            for group in &instance.security_groups {
                if !self
                    .security_groups
                    .iter()
                    .any(|g| &g.name == group && g.project == instance.project)
                {
                    return Err(context(format!(
                        "security group {group:?} is not in project {}",
                        instance.project
                    )));
                }
            }
            if instance.volumes.is_empty() {
                return Err(context("boots from volume and needs at least one".into()));
            }
            if instance.volumes.len() > 26 {
                return Err(context("more than 26 volumes (vda to vdz)".into()));
            }
            for volume in &instance.volumes {
                if volume.project.is_some() {
                    return Err(context(format!(
                        "volume {} takes the instance's project; remove its project",
                        volume.name
                    )));
                }
                check_volume(volume, Some(&instance.project)).map_err(context)?;
            }
        }
        Ok(())
    }
}

/// The names, refused if one repeats.
fn unique<'a>(
    kind: &str,
    names: impl Iterator<Item = &'a String>,
) -> Result<BTreeSet<&'a String>, String> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(format!("two {kind}s are named {name:?}"));
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        CloudFixture::parse(text, "f.yaml").unwrap_err().to_string()
    }

    #[test]
    fn the_example_is_valid() {
        let fixture = CloudFixture::builtin();
        assert_eq!(fixture.clouds.len(), 2);
        let east = &fixture.clouds[0];
        assert_eq!(east.projects.len(), 2, "two tenants");
        assert_eq!(
            east.instances[0].volumes.len(),
            3,
            "one instance of three volumes"
        );
        assert!(
            east.instances[0].volumes[0].image.is_some(),
            "the first boots from an image"
        );
    }

    #[test]
    fn errors_name_the_place_and_the_problem() {
        let unknown_key = refused("clouds:\n  - name: c\n    colour: blue\n");
        assert!(
            unknown_key.contains("f.yaml") && unknown_key.contains("colour"),
            "{unknown_key}"
        );
        assert!(unknown_key.contains("line 3"), "{unknown_key}");
        let missing = refused(
            "clouds:\n  - name: c\n    users: [{name: u, password: p, roles: {nowhere: member}}]\n",
        );
        assert!(
            missing.contains("user u: unknown project \"nowhere\""),
            "{missing}"
        );
        let role = refused(
            "clouds:\n  - name: c\n    projects: [{name: p}]\n    users: [{name: u, password: x, roles: {p: god}}]\n",
        );
        assert!(role.contains("role \"god\""), "{role}");
        let twice = refused("clouds:\n  - name: c\n  - name: c\n");
        assert!(twice.contains("two clouds are named \"c\""), "{twice}");
        let store = refused("clouds:\n  - {name: c, backup_store: s3}\n");
        assert!(store.contains("backup_store \"s3\""), "{store}");
        let cidr = refused("clouds:\n  - name: c\n    networks: [{name: n, cidr: 10.0.0.0/33}]\n");
        assert!(cidr.contains("cidr"), "{cidr}");
        let version = refused("clouds:\n  - name: c\n    microversions: {volume: three}\n");
        assert!(version.contains("MAJOR.MINOR"), "{version}");
    }

    #[test]
    fn instances_and_volumes_are_checked() {
        let base = "clouds:\n  - name: c\n    projects: [{name: p}]\n    flavors: [{name: f, vcpus: 1, ram_mib: 64}]\n";
        let no_volumes = refused(&format!(
            "{base}    instances: [{{name: i, project: p, flavor: f, volumes: []}}]\n"
        ));
        assert!(no_volumes.contains("needs at least one"), "{no_volumes}");
        let no_flavor = refused(&format!(
            "{base}    instances: [{{name: i, project: p, flavor: g, volumes: [{{name: v, size_gib: 1}}]}}]\n"
        ));
        assert!(no_flavor.contains("unknown flavor \"g\""), "{no_flavor}");
        let too_much = refused(&format!(
            "{base}    volumes: [{{name: v, project: p, size_gib: 1, data: {{seed: 1, blocks: 5000}}}}]\n"
        ));
        assert!(too_much.contains("data.blocks 5000"), "{too_much}");
        let orphan = refused(&format!("{base}    volumes: [{{name: v, size_gib: 1}}]\n"));
        assert!(orphan.contains("volume v: no project"), "{orphan}");
        let empty = refused(&format!(
            "{base}    volumes: [{{name: v, project: p, size_gib: 0}}]\n"
        ));
        assert!(empty.contains("size_gib must be from 1"), "{empty}");
    }
}
