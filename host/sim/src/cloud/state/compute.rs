//! Nova's side: flavors, and servers booted from volumes with `block_device_mapping_v2` — the
//! checks Nova makes before it accepts one (flavor, volumes available and in the project, one
//! boot index 0, networks from 2.37, security groups), the build that attaches the volumes and
//! hands out addresses, and the delete that detaches them (or deletes them, when asked to).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::network::random_mac;
use super::volumes::Attachment;
use super::{Caller, CloudState, Fail, Operation, Outcome, Pending, new_id};
use crate::cloud::microversion::Microversion;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gib: u64,
    pub ephemeral_gib: u64,
    pub swap_mib: u64,
    pub is_public: bool,
    pub extra_specs: BTreeMap<String, String>,
}

/// A volume of a server.
#[derive(Debug, Clone)]
pub struct Bdm {
    pub volume_id: String,
    pub boot_index: Option<i64>,
    pub device: String,
    pub delete_on_termination: bool,
}

/// An address of a server on a network.
#[derive(Debug, Clone)]
pub struct Address {
    pub network: String,
    pub addr: String,
    pub mac: String,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub flavor: Flavor,
    pub bdms: Vec<Bdm>,
    pub addresses: Vec<Address>,
    pub security_groups: Vec<String>,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub availability_zone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub fault: Option<String>,
    /// The networks it asked for, addressed when the build completes.
    pub requested_networks: Vec<String>,
}

/// The `networks` of a create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkRequest {
    /// Not given (allowed before 2.37).
    Unspecified,
    None,
    Auto,
    /// Network ids.
    List(Vec<String>),
}

/// A block device mapping of a create request.
#[derive(Debug, Clone)]
pub struct NewBdm {
    pub uuid: Option<String>,
    pub source_type: String,
    pub destination_type: Option<String>,
    pub boot_index: Option<i64>,
    pub delete_on_termination: bool,
    pub device_name: Option<String>,
}

/// A `POST /servers` request.
#[derive(Debug, Clone)]
pub struct NewServer {
    pub name: String,
    pub description: Option<String>,
    pub flavor_ref: String,
    pub image_ref: Option<String>,
    pub networks: NetworkRequest,
    pub bdms: Vec<NewBdm>,
    pub security_groups: Vec<String>,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<String>,
}

fn invalid_bdm(detail: &str) -> Fail {
    Fail::BadRequest(format!("Block Device Mapping is Invalid: {detail}"))
}

impl CloudState {
    pub fn flavor(&self, id: &str) -> Outcome<&Flavor> {
        self.flavors
            .iter()
            .find(|f| f.id == id)
            .ok_or_else(|| Fail::NotFound(format!("Flavor {id} could not be found.")))
    }

    pub fn server(&self, caller: &Caller, id: &str) -> Outcome<&Server> {
        match self.servers.get(id) {
            Some(s) if s.project_id == caller.project_id || caller.is_admin() => Ok(s),
            _ => Err(Fail::NotFound(format!("Instance {id} could not be found."))),
        }
    }

    /// Checks a boot request as Nova does and starts the build.
    pub fn create_server(
        &mut self,
        caller: &Caller,
        request: NewServer,
        version: Microversion,
    ) -> Outcome<String> {
        let flavor = self
            .flavor(&request.flavor_ref)
            .map_err(|_| {
                Fail::BadRequest(format!("Flavor {} could not be found.", request.flavor_ref))
            })?
            .clone();
        if request.image_ref.as_deref().is_some_and(|i| !i.is_empty()) {
            return Err(Fail::BadRequest(
                "The simulator boots servers from volumes only: give block_device_mapping_v2 \
                 and no imageRef."
                    .into(),
            ));
        }
        if request.networks == NetworkRequest::Unspecified && version >= Microversion::new(2, 37) {
            return Err(Fail::BadRequest(
                "Invalid input for field/attribute networks. Value: None. 'networks' is a \
                 required property"
                    .into(),
            ));
        }
        if !request.tags.is_empty() && version < Microversion::new(2, 52) {
            return Err(Fail::BadRequest(
                "Additional properties are not allowed ('tags' was unexpected)".into(),
            ));
        }
        if request.bdms.len() > 26 {
            return Err(invalid_bdm(
                "a server takes at most 26 volumes (vda to vdz).",
            ));
        }
        if request.bdms.is_empty() {
            return Err(invalid_bdm(
                "Boot sequence for the instance and image/block device mapping combination is \
                 not valid.",
            ));
        }
        let mut bdms = Vec::new();
        for (position, bdm) in request.bdms.iter().enumerate() {
            if bdm.source_type != "volume" || bdm.destination_type.as_deref() != Some("volume") {
                return Err(invalid_bdm(&format!(
                    "mapping {position}: the simulator maps volumes to volumes only (source_type \
                     and destination_type \"volume\")."
                )));
            }
            let id = bdm
                .uuid
                .as_deref()
                .ok_or_else(|| invalid_bdm(&format!("mapping {position} has no uuid.")))?;
            let volume = self
                .volume(caller, id)
                .map_err(|_| invalid_bdm(&format!("failed to get volume {id}.")))?;
            if volume.status != "available" {
                return Err(Fail::BadRequest(format!(
                    "Invalid volume: volume {id} status must be 'available', but is {}.",
                    volume.status
                )));
            }
            if bdms.iter().any(|b: &Bdm| b.volume_id == id) {
                return Err(invalid_bdm(&format!("volume {id} is mapped twice.")));
            }
            bdms.push(Bdm {
                volume_id: id.to_owned(),
                boot_index: bdm.boot_index.filter(|i| *i >= 0),
                device: bdm.device_name.clone().unwrap_or_default(),
                delete_on_termination: bdm.delete_on_termination,
            });
        }
        if bdms.iter().filter(|b| b.boot_index == Some(0)).count() != 1 {
            return Err(invalid_bdm(
                "Boot sequence for the instance and image/block device mapping combination is \
                 not valid.",
            ));
        }
        // Nova names devices in boot order, then the rest in the order given.
        bdms.sort_by_key(|b| b.boot_index.unwrap_or(i64::MAX));
        for (position, bdm) in bdms.iter_mut().enumerate() {
            if bdm.device.is_empty() {
                bdm.device = format!("/dev/vd{}", char::from(b'a' + position as u8));
            }
        }
        let requested_networks = match &request.networks {
            NetworkRequest::List(ids) => {
                for id in ids {
                    if !self
                        .networks
                        .iter()
                        .any(|n| &n.id == id && n.visible_to(&caller.project_id))
                    {
                        return Err(Fail::BadRequest(format!(
                            "Network {id} could not be found."
                        )));
                    }
                }
                ids.clone()
            }
            NetworkRequest::Auto => self
                .networks
                .iter()
                .find(|n| n.visible_to(&caller.project_id))
                .map(|n| vec![n.id.clone()])
                .ok_or_else(|| {
                    Fail::BadRequest(
                        "Unable to automatically allocate a network for project.".into(),
                    )
                })?,
            NetworkRequest::None | NetworkRequest::Unspecified => Vec::new(),
        };
        for group in &request.security_groups {
            if !self
                .security_groups
                .iter()
                .any(|g| (&g.name == group || &g.id == group) && g.project_id == caller.project_id)
            {
                return Err(Fail::BadRequest(format!(
                    "Unable to find security_group with name or id '{group}'"
                )));
            }
        }
        let id = new_id();
        for bdm in &bdms {
            let volume = self.volumes.get_mut(&bdm.volume_id).expect("checked above");
            volume.status = "reserved".into();
        }
        let now = self.now();
        let server = Server {
            id: id.clone(),
            project_id: caller.project_id.clone(),
            user_id: caller.user_id.clone(),
            name: request.name,
            description: request.description,
            status: "BUILD".into(),
            flavor,
            bdms,
            addresses: Vec::new(),
            security_groups: if request.security_groups.is_empty() {
                vec!["default".into()]
            } else {
                request.security_groups
            },
            key_name: request.key_name,
            user_data: request.user_data,
            metadata: request.metadata,
            tags: request.tags,
            availability_zone: request
                .availability_zone
                .unwrap_or_else(|| self.availability_zone.clone()),
            created_at: now,
            updated_at: now,
            fault: None,
            requested_networks,
        };
        self.servers.insert(id.clone(), server);
        self.schedule(
            self.timings.server_build_ms,
            Pending::ServerBuilt(id.clone()),
        );
        Ok(id)
    }

    pub(super) fn server_built(&mut self, id: &str) {
        let failure = self.faults.take_failure(Operation::ServerBuild);
        let now = self.now();
        let Some(server) = self.servers.get_mut(id) else {
            return;
        };
        server.updated_at = now;
        if let Some(reason) = failure {
            server.status = "ERROR".into();
            server.fault = Some(reason);
            for bdm in &server.bdms {
                if let Some(volume) = self.volumes.get_mut(&bdm.volume_id) {
                    volume.status = "available".into();
                }
            }
            return;
        }
        server.status = "ACTIVE".into();
        for network_id in server.requested_networks.clone() {
            let Some(network) = self.networks.iter_mut().find(|n| n.id == network_id) else {
                continue;
            };
            if let Some(addr) = network.allocate() {
                server.addresses.push(super::compute::Address {
                    network: network.name.clone(),
                    addr: addr.to_string(),
                    mac: random_mac(),
                });
            }
        }
        for bdm in &server.bdms {
            if let Some(volume) = self.volumes.get_mut(&bdm.volume_id) {
                volume.status = "in-use".into();
                volume.attachments.push(Attachment {
                    id: new_id(),
                    server_id: id.to_owned(),
                    device: bdm.device.clone(),
                    attached_at: now,
                });
            }
        }
    }

    pub fn delete_server(&mut self, caller: &Caller, id: &str) -> Outcome<()> {
        self.server(caller, id)?;
        self.schedule(
            self.timings.server_delete_ms,
            Pending::ServerDeleted(id.into()),
        );
        Ok(())
    }

    pub(super) fn server_deleted(&mut self, id: &str) {
        let Some(server) = self.servers.remove(id) else {
            return;
        };
        for bdm in &server.bdms {
            let Some(volume) = self.volumes.get_mut(&bdm.volume_id) else {
                continue;
            };
            volume.attachments.retain(|a| a.server_id != id);
            if bdm.delete_on_termination {
                volume.status = "deleting".into();
                let volume_id = volume.id.clone();
                self.schedule(
                    self.timings.volume_delete_ms,
                    Pending::VolumeDeleted(volume_id),
                );
            } else if volume.attachments.is_empty() {
                volume.status = "available".into();
            }
        }
    }
}
