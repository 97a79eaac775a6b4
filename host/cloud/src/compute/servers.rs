//! Nova servers: boot from volumes, read (with the embedded flavor, addresses and attached
//! volumes), list, delete, and the volume attachments with their devices.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::{Compute, SERVERS, SERVICE};
use crate::Secret;
use crate::error::Result;
use crate::microversion::Microversion;
use crate::poll::{self, Polled};
use crate::session::Request;
use crate::wire::{self, status_enum};

status_enum! {
    /// A server's status.
    pub enum ServerStatus {
        Build = "BUILD",
        Active = "ACTIVE",
        Shutoff = "SHUTOFF",
        Error = "ERROR",
        Deleted = "DELETED",
        SoftDeleted = "SOFT_DELETED",
        Paused = "PAUSED",
        Suspended = "SUSPENDED",
        Shelved = "SHELVED",
        ShelvedOffloaded = "SHELVED_OFFLOADED",
        Reboot = "REBOOT",
        HardReboot = "HARD_REBOOT",
        Rebuild = "REBUILD",
        Rescue = "RESCUE",
        Resize = "RESIZE",
        VerifyResize = "VERIFY_RESIZE",
        RevertResize = "REVERT_RESIZE",
        Migrating = "MIGRATING",
        Password = "PASSWORD",
        Unknown = "UNKNOWN",
    }
}

/// A server. `Debug` shows the user data's length only: it often holds passwords and keys.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    /// From microversion 2.19.
    #[serde(default)]
    pub description: Option<String>,
    pub status: ServerStatus,
    pub flavor: ServerFlavor,
    /// The image booted from; `None` for a server booted from a volume.
    #[serde(default, deserialize_with = "image_id")]
    pub image: Option<String>,
    /// The addresses on each network, by network name.
    #[serde(default, deserialize_with = "wire::nullable")]
    pub addresses: BTreeMap<String, Vec<ServerAddress>>,
    #[serde(
        rename = "os-extended-volumes:volumes_attached",
        default,
        deserialize_with = "wire::nullable"
    )]
    pub volumes_attached: Vec<AttachedVolume>,
    /// The names of the server's security groups.
    #[serde(default, deserialize_with = "names")]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default, deserialize_with = "wire::string_map")]
    pub metadata: BTreeMap<String, String>,
    /// From microversion 2.26.
    #[serde(default, deserialize_with = "wire::nullable")]
    pub tags: Vec<String>,
    #[serde(rename = "OS-EXT-AZ:availability_zone", default)]
    pub availability_zone: Option<String>,
    /// The user data, decoded; only shown to admins by default.
    #[serde(
        rename = "OS-EXT-SRV-ATTR:user_data",
        default,
        deserialize_with = "user_data"
    )]
    pub user_data: Option<Vec<u8>>,
    /// Why a server is in `ERROR`.
    #[serde(default)]
    pub fault: Option<ServerFault>,
    #[serde(default, deserialize_with = "wire::timestamp")]
    pub created: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("status", &self.status)
            .field("flavor", &self.flavor)
            .field("image", &self.image)
            .field("addresses", &self.addresses)
            .field("volumes_attached", &self.volumes_attached)
            .field("security_groups", &self.security_groups)
            .field("key_name", &self.key_name)
            .field("metadata", &self.metadata)
            .field("tags", &self.tags)
            .field("availability_zone", &self.availability_zone)
            .field("user_data", &RedactedUserData(self.user_data.as_deref()))
            .field("fault", &self.fault)
            .field("created", &self.created)
            .finish()
    }
}

/// User data as its length: `Some(<redacted, 42 bytes>)`.
struct RedactedUserData<'a>(Option<&'a [u8]>);

impl std::fmt::Debug for RedactedUserData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(data) => write!(f, "Some(<redacted, {} bytes>)", data.len()),
            None => f.write_str("None"),
        }
    }
}

/// A server's flavor: a copy of it from microversion 2.47, a reference to it before.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ServerFlavor {
    Embedded(EmbeddedFlavor),
    Reference { id: String },
}

/// The flavor a server was booted with, as it was then.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EmbeddedFlavor {
    pub original_name: String,
    pub vcpus: u32,
    /// MiB.
    pub ram: u64,
    /// GiB.
    pub disk: u64,
    /// GiB.
    #[serde(default, deserialize_with = "wire::count")]
    pub ephemeral: u64,
    /// MiB.
    #[serde(default, deserialize_with = "wire::count")]
    pub swap: u64,
    /// Shown to admins, or to all from microversion 2.47 depending on policy.
    #[serde(default, deserialize_with = "wire::string_map")]
    pub extra_specs: BTreeMap<String, String>,
}

/// An address of a server on a network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerAddress {
    pub addr: String,
    /// 4 or 6.
    pub version: u8,
    /// `fixed` or `floating`.
    #[serde(rename = "OS-EXT-IPS:type", default)]
    pub kind: Option<String>,
    #[serde(rename = "OS-EXT-IPS-MAC:mac_addr", default)]
    pub mac: Option<String>,
}

/// A volume attached to a server, as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AttachedVolume {
    pub id: String,
    /// From microversion 2.3.
    #[serde(default)]
    pub delete_on_termination: Option<bool>,
}

/// Why a server failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerFault {
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub message: String,
}

impl Polled for Server {
    type Status = ServerStatus;
    const KIND: &'static str = "server";
    fn status(&self) -> &ServerStatus {
        &self.status
    }
    fn fail_reason(&self) -> Option<&str> {
        self.fault.as_ref().map(|fault| fault.message.as_str())
    }
}

/// A volume attachment with its device, from `os-volume_attachments`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerVolume {
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    #[serde(rename = "serverId")]
    pub server_id: String,
    /// The device name Nova assigned, such as `/dev/vda`.
    #[serde(default)]
    pub device: Option<String>,
    /// From microversion 2.70.
    #[serde(default)]
    pub tag: Option<String>,
    /// From microversion 2.79.
    #[serde(default)]
    pub delete_on_termination: Option<bool>,
}

/// `""` (booted from volume) or `{"id": ...}`.
fn image_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Object(image)) => image.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    })
}

/// `[{"name": ...}]`.
fn names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Named {
        name: String,
    }
    let named = Option::<Vec<Named>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(named.into_iter().map(|named| named.name).collect())
}

fn user_data<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|encoded| BASE64.decode(encoded.trim()))
        .transpose()
        .map_err(|error| serde::de::Error::custom(format!("user data: {error}")))
}

/// A volume to attach at boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockDevice {
    pub volume_id: String,
    /// 0 for the volume booted from; `None` for the others.
    pub boot_index: Option<u32>,
    /// Delete the volume with the server.
    pub delete_on_termination: bool,
    /// A hint; hypervisors such as libvirt choose the name themselves.
    pub device_name: Option<String>,
}

#[derive(Serialize)]
struct Mapping<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    boot_index: Option<u32>,
    uuid: &'a str,
    source_type: &'static str,
    destination_type: &'static str,
    delete_on_termination: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_name: Option<&'a str>,
}

/// The networks of a new server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Networks {
    /// No network (microversion 2.37).
    None,
    /// The project's network, or one Nova creates (microversion 2.37).
    #[default]
    Auto,
    /// These networks, ports or addresses.
    Explicit(Vec<NetworkRequest>),
}

/// One network interface of a new server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NetworkRequest {
    #[serde(rename = "uuid", skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    #[serde(rename = "port", skip_serializing_if = "Option::is_none")]
    pub port_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_ip: Option<String>,
}

/// A server to boot from volumes. `Debug` shows the user data's length only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ServerSpec {
    pub name: String,
    pub flavor_id: String,
    pub block_devices: Vec<BlockDevice>,
    pub networks: Networks,
    /// Security group names.
    pub security_groups: Vec<String>,
    pub key_name: Option<String>,
    /// Sent base64-encoded.
    pub user_data: Option<Vec<u8>>,
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Needs microversion 2.52.
    pub tags: Vec<String>,
    /// Needs microversion 2.19.
    pub description: Option<String>,
}

impl std::fmt::Debug for ServerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSpec")
            .field("name", &self.name)
            .field("flavor_id", &self.flavor_id)
            .field("block_devices", &self.block_devices)
            .field("networks", &self.networks)
            .field("security_groups", &self.security_groups)
            .field("key_name", &self.key_name)
            .field("user_data", &RedactedUserData(self.user_data.as_deref()))
            .field("availability_zone", &self.availability_zone)
            .field("metadata", &self.metadata)
            .field("tags", &self.tags)
            .field("description", &self.description)
            .finish()
    }
}

/// `networks` as a string.
const NETWORK_KEYWORDS: Microversion = Microversion::new(2, 37);
const TAGS_AT_BOOT: Microversion = Microversion::new(2, 52);
const DESCRIPTION: Microversion = Microversion::new(2, 19);

impl ServerSpec {
    fn body(&self) -> Value {
        let mappings: Vec<Mapping> = self
            .block_devices
            .iter()
            .map(|device| Mapping {
                boot_index: device.boot_index,
                uuid: &device.volume_id,
                source_type: "volume",
                destination_type: "volume",
                delete_on_termination: device.delete_on_termination,
                device_name: device.device_name.as_deref(),
            })
            .collect();
        let networks = match &self.networks {
            Networks::None => json!("none"),
            Networks::Auto => json!("auto"),
            Networks::Explicit(requests) => json!(requests),
        };
        let mut server = json!({
            "name": self.name,
            "flavorRef": self.flavor_id,
            "block_device_mapping_v2": mappings,
            "networks": networks,
        });
        if !self.security_groups.is_empty() {
            let groups: Vec<Value> = self
                .security_groups
                .iter()
                .map(|name| json!({"name": name}))
                .collect();
            server["security_groups"] = groups.into();
        }
        if let Some(key_name) = &self.key_name {
            server["key_name"] = key_name.as_str().into();
        }
        if let Some(user_data) = &self.user_data {
            server["user_data"] = BASE64.encode(user_data).into();
        }
        if let Some(zone) = &self.availability_zone {
            server["availability_zone"] = zone.as_str().into();
        }
        if !self.metadata.is_empty() {
            server["metadata"] = json!(self.metadata);
        }
        if !self.tags.is_empty() {
            server["tags"] = json!(self.tags);
        }
        if let Some(description) = &self.description {
            server["description"] = description.as_str().into();
        }
        json!({"server": server})
    }
}

/// Which servers to list; `None` matches any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerFilter {
    /// A regular expression on the name, as Nova matches it.
    pub name: Option<String>,
    pub status: Option<ServerStatus>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

impl Compute {
    /// Starts booting a server and returns its id; it is `BUILD` until it is `ACTIVE` (or
    /// `ERROR`, with a fault).
    pub async fn create_server(&self, spec: &ServerSpec) -> Result<String> {
        let mut wanted = SERVERS;
        if !matches!(spec.networks, Networks::Explicit(_)) {
            wanted = wanted.at_least(NETWORK_KEYWORDS);
        }
        if !spec.tags.is_empty() {
            wanted = wanted.at_least(TAGS_AT_BOOT);
        }
        if spec.description.is_some() {
            wanted = wanted.at_least(DESCRIPTION);
        }
        let mut request = Request::new("create server", SERVICE, Method::POST, &["servers"])
            .microversion(wanted)
            .json(&spec.body())?;
        // Nova quotes an invalid value in its error (user data too long, say); user data often
        // holds passwords and keys, so neither its encoding nor its text may reach an error.
        if let Some(user_data) = spec.user_data.as_deref().filter(|data| !data.is_empty()) {
            request = request.sensitive(&Secret::new(BASE64.encode(user_data)));
            if let Ok(text) = std::str::from_utf8(user_data) {
                request = request.sensitive(&Secret::new(text.to_owned()));
            }
        }
        let created: Created = self.session.send(&request).await?.member("server")?;
        Ok(created.id)
    }

    pub async fn get_server(&self, id: &str) -> Result<Server> {
        let request = Request::new("get server", SERVICE, Method::GET, &["servers", id])
            .microversion(SERVERS);
        self.session.send(&request).await?.member("server")
    }

    /// The project's servers matching `filter`, all pages.
    pub async fn list_servers(&self, filter: &ServerFilter) -> Result<Vec<Server>> {
        let request = Request::new("list servers", SERVICE, Method::GET, &["servers", "detail"])
            .microversion(SERVERS)
            .query("name", filter.name.clone())
            .query(
                "status",
                filter.status.as_ref().map(ServerStatus::to_string),
            );
        self.session.list(&request, "servers").await
    }

    /// Starts deleting a server.
    pub async fn delete_server(&self, id: &str) -> Result<()> {
        let request = Request::new("delete server", SERVICE, Method::DELETE, &["servers", id])
            .microversion(SERVERS);
        self.session.send(&request).await.map(drop)
    }

    /// The volumes attached to a server, with their devices.
    pub async fn volume_attachments(&self, server_id: &str) -> Result<Vec<ServerVolume>> {
        let request = Request::new(
            "list server volume attachments",
            SERVICE,
            Method::GET,
            &["servers", server_id, "os-volume_attachments"],
        )
        .microversion(SERVERS);
        self.session
            .send(&request)
            .await?
            .member("volumeAttachments")
    }

    /// Waits until a server is `wanted`, failing early (with its fault) if it reaches one of
    /// `failures`.
    pub async fn wait_for_server(
        &self,
        id: &str,
        wanted: &ServerStatus,
        failures: &[ServerStatus],
        timeout: Duration,
    ) -> Result<Server> {
        poll::wait_for(id, wanted, failures, timeout, || self.get_server(id)).await
    }

    /// Waits until a server is gone (or `DELETED`, or `SOFT_DELETED` on a cloud that keeps
    /// deleted servers for a while). A server in `ERROR` can still be deleted, so that
    /// status does not end the wait.
    pub async fn wait_for_server_deleted(&self, id: &str, timeout: Duration) -> Result<()> {
        let gone = [ServerStatus::Deleted, ServerStatus::SoftDeleted];
        poll::wait_for_deletion(id, &gone, &[], timeout, || self.get_server(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_from_nova() {
        let server: Server = serde_json::from_str(
            r#"{"id": "s1", "name": "web", "status": "ACTIVE", "description": null,
                "flavor": {"original_name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20,
                           "ephemeral": 0, "swap": 0, "extra_specs": {"hw:mem_page_size": "large"}},
                "image": "",
                "addresses": {"private": [
                    {"addr": "10.0.0.5", "version": 4, "OS-EXT-IPS:type": "fixed",
                     "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
                    {"addr": "172.24.4.9", "version": 4, "OS-EXT-IPS:type": "floating",
                     "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]},
                "os-extended-volumes:volumes_attached": [
                    {"id": "v1", "delete_on_termination": false}, {"id": "v2"}],
                "security_groups": [{"name": "default"}, {"name": "web"}],
                "key_name": "ops", "metadata": {"role": "frontend"}, "tags": ["prod"],
                "OS-EXT-AZ:availability_zone": "nova",
                "OS-EXT-SRV-ATTR:user_data": "I2Nsb3VkLWNvbmZpZw==",
                "created": "2024-05-01T10:00:00Z", "links": []}"#,
        )
        .unwrap();
        assert_eq!(server.status, ServerStatus::Active);
        assert_eq!(server.image, None);
        let ServerFlavor::Embedded(flavor) = &server.flavor else {
            panic!("embedded flavor expected: {:?}", server.flavor);
        };
        assert_eq!((flavor.vcpus, flavor.ram, flavor.disk), (1, 2048, 20));
        assert_eq!(flavor.extra_specs["hw:mem_page_size"], "large");
        let private = &server.addresses["private"];
        assert_eq!(private[1].kind.as_deref(), Some("floating"));
        assert_eq!(private[0].mac.as_deref(), Some("fa:16:3e:00:00:01"));
        assert_eq!(
            server.volumes_attached[0].delete_on_termination,
            Some(false)
        );
        assert_eq!(server.volumes_attached[1].delete_on_termination, None);
        assert_eq!(server.security_groups, ["default", "web"]);
        assert_eq!(server.availability_zone.as_deref(), Some("nova"));
        assert_eq!(server.user_data.as_deref(), Some(&b"#cloud-config"[..]));
        assert_eq!(server.tags, ["prod"]);
    }

    /// User data often holds passwords and keys: `Debug` shows its length, not its bytes.
    #[test]
    fn debug_shows_no_user_data() {
        let user_data = b"#cloud-config\npassword: s3cr3t-user-data\n".to_vec();
        let spec = ServerSpec {
            name: "web".into(),
            user_data: Some(user_data.clone()),
            ..ServerSpec::default()
        };
        let shown = format!("{spec:?} {spec:#?}");
        assert!(!shown.contains("s3cr3t-user-data"), "{shown}");
        // Nor as the list of byte values a derived Debug prints.
        assert!(!shown.contains("35, 99, 108"), "{shown}");
        assert!(shown.contains(&format!("<redacted, {} bytes>", user_data.len())));
        assert!(shown.contains("\"web\""));
        let none = format!("{:?}", ServerSpec::default());
        assert!(none.contains("user_data: None"), "{none}");

        let server: Server = serde_json::from_value(json!({
            "id": "s1", "name": "web", "status": "ACTIVE", "flavor": {"id": "42"},
            "OS-EXT-SRV-ATTR:user_data": BASE64.encode(&user_data)}))
        .unwrap();
        assert_eq!(server.user_data.as_deref(), Some(&user_data[..]));
        let shown = format!("{server:?} {server:#?}");
        assert!(!shown.contains("s3cr3t-user-data"), "{shown}");
        assert!(!shown.contains("35, 99, 108"), "{shown}");
        assert!(!shown.contains(&BASE64.encode(&user_data)), "{shown}");
        assert!(shown.contains("<redacted,") && shown.contains("\"s1\""));
    }

    #[test]
    fn older_and_failed_servers() {
        let server: Server = serde_json::from_str(
            r#"{"id": "s2", "name": "old", "status": "ERROR",
                "flavor": {"id": "42", "links": []}, "image": {"id": "i1", "links": []},
                "fault": {"code": 500, "message": "No valid host was found.",
                          "created": "2024-05-01T10:00:00Z"}}"#,
        )
        .unwrap();
        assert_eq!(server.flavor, ServerFlavor::Reference { id: "42".into() });
        assert_eq!(server.image.as_deref(), Some("i1"));
        assert_eq!(server.fail_reason(), Some("No valid host was found."));
        assert!(server.security_groups.is_empty());
    }

    #[test]
    fn attachments_from_nova() {
        let attachments: Vec<ServerVolume> = serde_json::from_str(
            r#"[{"id": "v1", "volumeId": "v1", "serverId": "s1", "device": "/dev/vda",
                 "tag": null, "delete_on_termination": true},
                {"id": "v2", "volumeId": "v2", "serverId": "s1", "device": "/dev/vdb"}]"#,
        )
        .unwrap();
        assert_eq!(attachments[0].delete_on_termination, Some(true));
        assert_eq!(attachments[1].device.as_deref(), Some("/dev/vdb"));
    }

    #[test]
    fn boot_from_volumes_body() {
        let spec = ServerSpec {
            name: "web".into(),
            flavor_id: "42".into(),
            block_devices: vec![
                BlockDevice {
                    volume_id: "v1".into(),
                    boot_index: Some(0),
                    delete_on_termination: false,
                    device_name: Some("/dev/vda".into()),
                },
                BlockDevice {
                    volume_id: "v2".into(),
                    ..BlockDevice::default()
                },
            ],
            networks: Networks::Explicit(vec![
                NetworkRequest {
                    network_id: Some("n1".into()),
                    fixed_ip: Some("10.0.0.5".into()),
                    ..NetworkRequest::default()
                },
                NetworkRequest {
                    port_id: Some("p1".into()),
                    ..NetworkRequest::default()
                },
            ]),
            security_groups: vec!["default".into()],
            user_data: Some(b"#cloud-config".to_vec()),
            tags: vec!["restored".into()],
            ..ServerSpec::default()
        };
        assert_eq!(
            spec.body(),
            json!({"server": {
                "name": "web", "flavorRef": "42",
                "block_device_mapping_v2": [
                    {"boot_index": 0, "uuid": "v1", "source_type": "volume",
                     "destination_type": "volume", "delete_on_termination": false,
                     "device_name": "/dev/vda"},
                    {"uuid": "v2", "source_type": "volume", "destination_type": "volume",
                     "delete_on_termination": false}],
                "networks": [{"uuid": "n1", "fixed_ip": "10.0.0.5"}, {"port": "p1"}],
                "security_groups": [{"name": "default"}],
                "user_data": "I2Nsb3VkLWNvbmZpZw==",
                "tags": ["restored"]}})
        );
        let none = ServerSpec {
            networks: Networks::None,
            ..ServerSpec::default()
        };
        assert_eq!(none.body()["server"]["networks"], "none");
        assert_eq!(ServerSpec::default().body()["server"]["networks"], "auto");
    }
}
