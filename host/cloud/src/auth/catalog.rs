//! The service catalog of a token, and the choice of a service's endpoint in it: by service
//! type (through the aliases clouds register), interface and, optionally, region.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::service::ServiceType;

/// Which of a service's endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interface {
    #[default]
    Public,
    Internal,
    Admin,
}

impl Interface {
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }

    /// Whether a catalog's interface name means this one; Keystone v2 spelled them
    /// `publicURL` and so on, which some clouds' tools still write.
    fn matches(self, name: &str) -> bool {
        let name = name.strip_suffix("URL").unwrap_or(name);
        name.eq_ignore_ascii_case(self.as_str())
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not an interface name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an interface (public, internal or admin)")]
pub struct InterfaceError(String);

impl FromStr for Interface {
    type Err = InterfaceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Interface::Public, Interface::Internal, Interface::Admin]
            .into_iter()
            .find(|interface| interface.matches(text))
            .ok_or_else(|| InterfaceError(text.to_owned()))
    }
}

/// The services of a token's catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct Catalog(Vec<CatalogService>);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct CatalogService {
    #[serde(rename = "type")]
    service_type: String,
    #[serde(default)]
    endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct CatalogEndpoint {
    interface: String,
    /// Keystone sends both `region_id` and the deprecated `region`; either may be missing.
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
    url: String,
}

impl CatalogEndpoint {
    fn in_region(&self, wanted: Option<&str>) -> bool {
        let Some(wanted) = wanted else {
            return true;
        };
        self.region_id.as_deref() == Some(wanted) || self.region.as_deref() == Some(wanted)
    }
}

impl Catalog {
    /// The URL of `service`'s endpoint for `interface` in `region` (any region if `None`),
    /// trying the service's catalog types in order of preference.
    pub(crate) fn url(
        &self,
        service: ServiceType,
        interface: Interface,
        region: Option<&str>,
    ) -> Option<&str> {
        service.catalog_types().iter().find_map(|catalog_type| {
            self.0
                .iter()
                .filter(|entry| entry.service_type == *catalog_type)
                .flat_map(|entry| &entry.endpoints)
                .find(|endpoint| {
                    interface.matches(&endpoint.interface) && endpoint.in_region(region)
                })
                .map(|endpoint| endpoint.url.as_str())
        })
    }

    /// Whether the catalog has `service` at all, in any interface or region.
    pub(crate) fn has(&self, service: ServiceType) -> bool {
        self.0.iter().any(|entry| {
            service
                .catalog_types()
                .contains(&entry.service_type.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        serde_json::from_str(
            r#"[
                {"type": "identity", "id": "k", "name": "keystone", "endpoints": [
                    {"interface": "public", "region_id": "R1", "url": "http://h/identity"}]},
                {"type": "volumev3", "endpoints": [
                    {"interface": "public", "region": "R1", "url": "http://r1/volume/v3/p"},
                    {"interface": "internal", "region_id": "R1", "url": "http://int/volume/v3/p"},
                    {"interface": "public", "region_id": "R2", "region": "R2", "url": "http://r2/volume/v3/p"}]},
                {"type": "compute", "endpoints": [
                    {"interface": "publicURL", "region_id": "R1", "url": "http://h/compute/v2.1"}]}
            ]"#,
        )
        .unwrap()
    }

    #[test]
    fn aliases_interface_and_region() {
        let catalog = catalog();
        let block = ServiceType::BlockStorage;
        assert_eq!(
            catalog.url(block, Interface::Public, None),
            Some("http://r1/volume/v3/p")
        );
        assert_eq!(
            catalog.url(block, Interface::Public, Some("R2")),
            Some("http://r2/volume/v3/p")
        );
        assert_eq!(
            catalog.url(block, Interface::Internal, Some("R1")),
            Some("http://int/volume/v3/p")
        );
        assert_eq!(catalog.url(block, Interface::Admin, None), None);
        assert_eq!(catalog.url(block, Interface::Public, Some("R3")), None);
        assert_eq!(
            catalog.url(ServiceType::Compute, Interface::Public, Some("R1")),
            Some("http://h/compute/v2.1")
        );
        assert!(!catalog.has(ServiceType::Network));
        assert!(catalog.has(block));
    }

    #[test]
    fn prefers_block_storage_over_older_aliases() {
        let catalog: Catalog = serde_json::from_str(
            r#"[
                {"type": "volume", "endpoints": [{"interface": "public", "url": "http://old"}]},
                {"type": "block-storage", "endpoints": [{"interface": "public", "url": "http://new"}]},
                {"type": "volumev2", "endpoints": [{"interface": "public", "url": "http://v2"}]}
            ]"#,
        )
        .unwrap();
        assert_eq!(
            catalog.url(ServiceType::BlockStorage, Interface::Public, None),
            Some("http://new")
        );
        let only_v2: Catalog = serde_json::from_str(
            r#"[{"type": "volumev2", "endpoints": [{"interface": "public", "url": "http://v2"}]}]"#,
        )
        .unwrap();
        assert_eq!(
            only_v2.url(ServiceType::BlockStorage, Interface::Public, None),
            None
        );
    }

    #[test]
    fn interface_names() {
        assert_eq!("public".parse(), Ok(Interface::Public));
        assert_eq!("internalURL".parse(), Ok(Interface::Internal));
        assert_eq!("Admin".parse(), Ok(Interface::Admin));
        assert!("private".parse::<Interface>().is_err());
    }
}
