//! Nova flavors: the sizes a server is booted with.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use super::{Compute, FLAVORS, SERVICE};
use crate::error::Result;
use crate::microversion::Microversion;
use crate::session::Request;
use crate::wire;

/// A flavor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    /// MiB.
    pub ram: u64,
    /// GiB of root disk; 0 for flavors meant for booting from volume.
    pub disk: u64,
    /// GiB.
    #[serde(
        rename = "OS-FLV-EXT-DATA:ephemeral",
        default,
        deserialize_with = "wire::count"
    )]
    pub ephemeral: u64,
    /// MiB; Nova sent `""` for none before 2.75.
    #[serde(default, deserialize_with = "wire::count")]
    pub swap: u64,
    #[serde(rename = "os-flavor-access:is_public", default = "public")]
    pub is_public: bool,
    /// From microversion 2.55.
    #[serde(default)]
    pub description: Option<String>,
    /// Scheduling and hardware hints (`hw:cpu_policy`…).
    #[serde(default, deserialize_with = "wire::string_map")]
    pub extra_specs: BTreeMap<String, String>,
}

fn public() -> bool {
    true
}

/// Flavors carry their extra specs.
const EXTRA_SPECS: Microversion = Microversion::new(2, 61);

impl Compute {
    /// All flavors the project can use, public and private, all pages.
    pub async fn list_flavors(&self) -> Result<Vec<Flavor>> {
        // `is_public=None` (as openstacksdk spells it; Nova ignores the case) lists both kinds;
        // without it an admin sees only the public ones.
        let request = Request::new("list flavors", SERVICE, Method::GET, &["flavors", "detail"])
            .microversion(FLAVORS)
            .query("is_public", Some("None"));
        self.session.list(&request, "flavors").await
    }

    /// A flavor, with its extra specs (read separately from clouds older than 2.61).
    pub async fn get_flavor(&self, id: &str) -> Result<Flavor> {
        let request = Request::new("get flavor", SERVICE, Method::GET, &["flavors", id])
            .microversion(FLAVORS);
        let reply = self.session.send(&request).await?;
        let mut flavor: Flavor = reply.member("flavor")?;
        if reply
            .microversion
            .is_none_or(|version| version < EXTRA_SPECS)
        {
            let request = Request::new(
                "get flavor extra specs",
                SERVICE,
                Method::GET,
                &["flavors", id, "os-extra_specs"],
            );
            #[derive(Deserialize)]
            struct ExtraSpecs(
                #[serde(deserialize_with = "wire::string_map")] BTreeMap<String, String>,
            );
            let ExtraSpecs(specs) = self.session.send(&request).await?.member("extra_specs")?;
            flavor.extra_specs = specs;
        }
        Ok(flavor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavor_from_nova() {
        let flavor: Flavor = serde_json::from_str(
            r#"{"id": "42", "name": "m1.small", "ram": 2048, "vcpus": 1, "disk": 20,
                "OS-FLV-EXT-DATA:ephemeral": 0, "swap": "", "rxtx_factor": 1.0,
                "os-flavor-access:is_public": false, "OS-FLV-DISABLED:disabled": false,
                "description": null, "extra_specs": {"hw:cpu_policy": "dedicated"},
                "links": []}"#,
        )
        .unwrap();
        assert_eq!((flavor.vcpus, flavor.ram, flavor.disk), (1, 2048, 20));
        assert_eq!(flavor.swap, 0);
        assert!(!flavor.is_public);
        assert_eq!(flavor.extra_specs["hw:cpu_policy"], "dedicated");

        let newer: Flavor = serde_json::from_str(
            r#"{"id": "1", "name": "tiny", "ram": 512, "vcpus": 1, "disk": 0, "swap": 1024,
                "OS-FLV-EXT-DATA:ephemeral": 5}"#,
        )
        .unwrap();
        assert_eq!((newer.swap, newer.ephemeral), (1024, 5));
        assert!(newer.is_public);
        assert!(newer.extra_specs.is_empty());
    }
}
