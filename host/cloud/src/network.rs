//! Neutron, read only: the networks and security groups a restored server can be put on.
//! Optional: calls fail as unsupported when the catalog has no network service.

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;

use crate::error::Result;
use crate::service::ServiceType;
use crate::session::{Request, Session};
use crate::wire;

const SERVICE: ServiceType = ServiceType::Network;

/// A network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Network {
    pub id: String,
    #[serde(default, deserialize_with = "wire::nullable")]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default, deserialize_with = "wire::nullable")]
    pub shared: bool,
    /// Whether it is an external (provider) network, where floating IPs come from.
    #[serde(
        rename = "router:external",
        default,
        deserialize_with = "wire::nullable"
    )]
    pub external: bool,
    /// Subnet ids.
    #[serde(default, deserialize_with = "wire::nullable")]
    pub subnets: Vec<String>,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
}

/// The network service of a [`Cloud`](crate::Cloud); cheap to clone.
#[derive(Clone)]
pub struct NetworkService {
    session: Arc<Session>,
}

impl NetworkService {
    pub(crate) fn new(session: Arc<Session>) -> Self {
        NetworkService { session }
    }

    /// The networks the project sees (its own, shared and external ones), or those named
    /// `name`, all pages.
    pub async fn list_networks(&self, name: Option<&str>) -> Result<Vec<Network>> {
        let request =
            Request::new("list networks", SERVICE, Method::GET, &["networks"]).query("name", name);
        self.session.list(&request, "networks").await
    }

    /// The project's security groups, or those named `name`, all pages.
    pub async fn list_security_groups(&self, name: Option<&str>) -> Result<Vec<SecurityGroup>> {
        let request = Request::new(
            "list security groups",
            SERVICE,
            Method::GET,
            &["security-groups"],
        )
        .query("name", name);
        self.session.list(&request, "security_groups").await
    }
}

impl std::fmt::Debug for NetworkService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkService")
            .field("project", &self.session.project().id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_and_group_from_neutron() {
        let network: Network = serde_json::from_str(
            r#"{"id": "n1", "name": "public", "status": "ACTIVE", "project_id": "admin",
                "shared": false, "router:external": true, "subnets": ["sn1"], "mtu": 1500,
                "admin_state_up": true}"#,
        )
        .unwrap();
        assert!(network.external);
        assert_eq!(network.subnets, ["sn1"]);
        let group: SecurityGroup = serde_json::from_str(
            r#"{"id": "g1", "name": "default", "description": "Default security group",
                "project_id": "p1", "security_group_rules": []}"#,
        )
        .unwrap();
        assert_eq!(group.name, "default");
    }
}
