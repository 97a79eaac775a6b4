//! Pool fixtures: YAML files that describe simulated pools (hosts, SRs, networks, VMs with their
//! disks, sizes, generated content, power states and tags).
//!
//! ```yaml
//! pools:
//!   - name: lab
//!     password: secret
//!     hosts: [{name: host1}, {name: host2}]   # the first is the master
//!     srs:
//!       - {name: Local storage, size: 1TiB, default: true}
//!       - {name: ISOs, type: iso}
//!     networks: [{name: Pool-wide network, bridge: xenbr0}]
//!     vms:
//!       - name: web01
//!         power_state: Running
//!         tags: [prod]
//!         disks: [{name: root, size: 10GiB, content: {fill: 25, seed: 1}}]
//!         networks: [Pool-wide network]
//! ```
//!
//! Unknown keys are refused, and errors name the line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::fixture_file;
pub use crate::fixture_file::FixtureError;

/// The text of the built-in fixture (see [`Fixture::builtin`]), a starting point for new ones.
pub const BUILTIN_FIXTURE: &str = include_str!("builtin_fixture.yaml");

/// A fixture file: one or more pools.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub pools: Vec<PoolSpec>,
}

impl Fixture {
    /// Reads and checks a fixture file.
    pub fn load(path: &Path) -> Result<Fixture, FixtureError> {
        fixture_file::load(path, Fixture::check)
    }

    /// Parses and checks fixture text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Fixture, FixtureError> {
        fixture_file::parse(text, origin, Fixture::check)
    }

    /// The built-in fixture: the pools that `sim://NAME` starts when no fixture is given.
    pub fn builtin() -> Fixture {
        Fixture::parse(BUILTIN_FIXTURE, "built-in fixture").expect("the built-in fixture is valid")
    }

    fn check(&self) -> Result<(), String> {
        unique(self.pools.iter().map(|p| p.name.as_str()), "pool")?;
        for pool in &self.pools {
            pool.check()?;
        }
        Ok(())
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>, what: &str) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if name.is_empty() {
            return Err(format!("a {what} has an empty name"));
        }
        if !seen.insert(name) {
            return Err(format!("two {what}s are named {name:?}"));
        }
    }
    Ok(())
}

/// One pool.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    pub name: String,
    #[serde(default = "root")]
    pub username: String,
    pub password: String,
    #[serde(default = "one_host")]
    pub hosts: Vec<HostSpec>,
    #[serde(default = "local_storage")]
    pub srs: Vec<SrSpec>,
    #[serde(default = "one_network")]
    pub networks: Vec<NetworkSpec>,
    #[serde(default)]
    pub vms: Vec<VmSpec>,
    /// Whether the pool has xapi's default templates.
    #[serde(default = "yes")]
    pub templates: bool,
}

impl PoolSpec {
    fn check(&self) -> Result<(), String> {
        let context = |e: String| format!("pool {:?}: {e}", self.name);
        if self.hosts.is_empty() {
            return Err(context("needs at least one host".into()));
        }
        unique(self.hosts.iter().map(|h| h.name.as_str()), "host").map_err(context)?;
        unique(self.srs.iter().map(|s| s.name.as_str()), "SR").map_err(context)?;
        unique(self.networks.iter().map(|n| n.name.as_str()), "network").map_err(context)?;
        unique(self.vms.iter().map(|v| v.name.as_str()), "VM").map_err(context)?;
        if self.srs.iter().filter(|s| s.default).count() > 1 {
            return Err(context("more than one SR is marked default".into()));
        }
        for vm in &self.vms {
            for disk in &vm.disks {
                if let Some(sr) = &disk.sr {
                    let Some(spec) = self.srs.iter().find(|s| &s.name == sr) else {
                        return Err(context(format!("VM {:?}: no SR named {sr:?}", vm.name)));
                    };
                    if spec.sr_type == "iso" {
                        return Err(context(format!(
                            "VM {:?}: disk {:?} cannot live on the ISO SR {sr:?}",
                            vm.name, disk.name
                        )));
                    }
                } else if !self.srs.iter().any(|s| s.sr_type != "iso") {
                    return Err(context(format!(
                        "VM {:?}: no SR can hold its disks",
                        vm.name
                    )));
                }
                if disk.size.0 == 0 || disk.size.0 > lifeboat_formats::vhd::MAX_VIRTUAL_SIZE {
                    return Err(context(format!(
                        "VM {:?}: disk {:?} size must be between 1 byte and 2 TiB",
                        vm.name, disk.name
                    )));
                }
                if let Some(content) = &disk.content
                    && !(0.0..=100.0).contains(&content.fill)
                {
                    return Err(context(format!(
                        "VM {:?}: disk {:?} fill must be a percentage (0 to 100)",
                        vm.name, disk.name
                    )));
                }
            }
            for network in &vm.networks {
                if !self.networks.iter().any(|n| &n.name == network) {
                    return Err(context(format!(
                        "VM {:?}: no network named {network:?}",
                        vm.name
                    )));
                }
            }
            if let Some(host) = &vm.host
                && !self.hosts.iter().any(|h| &h.name == host)
            {
                return Err(context(format!("VM {:?}: no host named {host:?}", vm.name)));
            }
        }
        Ok(())
    }
}

fn root() -> String {
    "root".into()
}

fn yes() -> bool {
    true
}

fn one_host() -> Vec<HostSpec> {
    vec![HostSpec {
        name: "host1".into(),
    }]
}

fn local_storage() -> Vec<SrSpec> {
    vec![SrSpec {
        name: "Local storage".into(),
        uuid: None,
        sr_type: "ext".into(),
        size: Size(1 << 40),
        default: true,
        shared: false,
        vdi_revert: false,
    }]
}

fn one_network() -> Vec<NetworkSpec> {
    vec![NetworkSpec {
        name: "Pool-wide network associated with eth0".into(),
        bridge: "xenbr0".into(),
    }]
}

/// A host.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
}

/// A storage repository.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SrSpec {
    pub name: String,
    /// Its uuid; by default one derived from the pool's and the SR's names, so that every
    /// start of the fixture has the same uuids and pipelines can name them.
    #[serde(default)]
    pub uuid: Option<uuid::Uuid>,
    /// `ext`, `nfs`, `lvm`, … or `iso` for an ISO library.
    #[serde(rename = "type", default = "ext")]
    pub sr_type: String,
    #[serde(default = "terabyte")]
    pub size: Size,
    /// Whether this is the pool's default SR (else the first non-ISO SR is).
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub shared: bool,
    /// Whether the SR advertises in-place `VDI.revert` (no stock SM driver does).
    #[serde(default)]
    pub vdi_revert: bool,
}

fn ext() -> String {
    "ext".into()
}

fn terabyte() -> Size {
    Size(1 << 40)
}

/// A network.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub name: String,
    #[serde(default)]
    pub bridge: String,
}

/// A VM.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    pub name: String,
    /// Its uuid; by default one derived from the pool's and the VM's names.
    #[serde(default)]
    pub uuid: Option<uuid::Uuid>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub power_state: PowerState,
    /// The host a running VM is resident on (default: the master).
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "gigabyte")]
    pub memory: Size,
    #[serde(default = "one")]
    pub vcpus: u32,
    #[serde(default)]
    pub disks: Vec<DiskSpec>,
    /// Names of the networks it has an interface on.
    #[serde(default)]
    pub networks: Vec<String>,
    #[serde(default)]
    pub other_config: BTreeMap<String, String>,
    #[serde(default)]
    pub blocked_operations: BTreeMap<String, String>,
}

fn gigabyte() -> Size {
    Size(1 << 30)
}

fn one() -> u32 {
    1
}

/// A VM's power state in a fixture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum PowerState {
    #[default]
    Halted,
    Running,
    Suspended,
    Paused,
}

impl PowerState {
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::Halted => "Halted",
            PowerState::Running => "Running",
            PowerState::Suspended => "Suspended",
            PowerState::Paused => "Paused",
        }
    }
}

/// A disk of a VM.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    pub name: String,
    pub size: Size,
    /// The SR it lives on (default: the pool's default SR).
    #[serde(default)]
    pub sr: Option<String>,
    #[serde(default)]
    pub content: Option<ContentSpec>,
}

/// Generated disk content: `fill` percent of the 2 MiB blocks hold pseudo-random bytes derived
/// from `seed`, so that tests can compare contents byte for byte.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSpec {
    pub fill: f64,
    #[serde(default)]
    pub seed: u64,
}

/// A size in bytes, written as a number or with a unit (`512MiB`, `10GiB`, `1TiB`, `4096`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl Serialize for Size {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size in bytes, such as 4096, 512MiB or 10GiB")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Size, E> {
                Ok(Size(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Size, E> {
                u64::try_from(n)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Size, E> {
                parse_size(text).map(Size).ok_or_else(|| {
                    E::custom(format!(
                        "{text:?} is not a size (use bytes or KiB, MiB, GiB, TiB)"
                    ))
                })
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        _ => return None,
    };
    number.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("10 GiB"), Some(10 << 30));
        assert_eq!(parse_size("1TiB"), Some(1 << 40));
        assert_eq!(parse_size("10GB"), None);
        assert_eq!(parse_size("GiB"), None);
    }

    #[test]
    fn builtin_fixture_is_valid() {
        let fixture = Fixture::builtin();
        assert!(!fixture.pools.is_empty());
    }

    #[test]
    fn bad_fixtures_are_refused_with_a_reason() {
        for (text, expected) in [
            ("pools: [{name: a, password: x, colour: red}]", "colour"),
            (
                "pools: [{name: a, password: x}, {name: a, password: y}]",
                "two pools",
            ),
            (
                "pools: [{name: a, password: x, vms: [{name: v, disks: [{name: d, size: 1GiB, sr: nope}]}]}]",
                "no SR named",
            ),
            (
                "pools: [{name: a, password: x, vms: [{name: v, disks: [{name: d, size: 10GB}]}]}]",
                "not a size",
            ),
            (
                "pools: [{name: a, password: x, hosts: []}]",
                "at least one host",
            ),
        ] {
            let error = Fixture::parse(text, "test.yaml")
                .expect_err(text)
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
