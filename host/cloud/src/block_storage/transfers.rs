//! Volume transfers: handing a volume to another project. The giving project creates the
//! transfer and gets an auth key; a client scoped to the receiving project accepts it with the
//! id and key.
//!
//! Cinder serves transfers at `/volume-transfers` from microversion 3.55 and at
//! `/os-volume-transfer` before; the client uses the newer where it can.

use chrono::{DateTime, Utc};
use lifeboat_formats::secret::Secret;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{BlockStorage, SERVICE, VOLUMES};
use crate::error::Result;
use crate::microversion::{Microversion, Wanted};
use crate::session::Request;
use crate::wire;

/// A transfer offered by the volume's project. `Debug` does not show the auth key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeTransfer {
    pub id: String,
    pub name: Option<String>,
    pub volume_id: String,
    /// What the receiving project proves it was offered the volume with.
    pub auth_key: Secret,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Offered {
    id: String,
    #[serde(default)]
    name: Option<String>,
    volume_id: String,
    auth_key: String,
    #[serde(default, deserialize_with = "wire::timestamp")]
    created_at: Option<DateTime<Utc>>,
}

impl From<Offered> for VolumeTransfer {
    fn from(offered: Offered) -> Self {
        VolumeTransfer {
            id: offered.id,
            name: offered.name,
            volume_id: offered.volume_id,
            auth_key: Secret::new(offered.auth_key),
            created_at: offered.created_at,
        }
    }
}

/// An accepted transfer: the volume now belongs to the accepting project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AcceptedTransfer {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub volume_id: String,
}

/// The `/volume-transfers` API.
const TRANSFERS: Microversion = Microversion::new(3, 55);

impl BlockStorage {
    /// Offers an `available` volume to another project; it is `awaiting-transfer` until the
    /// transfer is accepted or deleted.
    pub async fn create_volume_transfer(
        &self,
        volume_id: &str,
        name: Option<&str>,
    ) -> Result<VolumeTransfer> {
        let (collection, wanted) = self.transfer_api("create volume transfer").await?;
        let mut transfer = json!({"volume_id": volume_id});
        if let Some(name) = name {
            transfer["name"] = name.into();
        }
        let request = Request::new(
            "create volume transfer",
            SERVICE,
            Method::POST,
            &[collection],
        )
        .microversion(wanted)
        .json(&json!({"transfer": transfer}))?;
        let offered: Offered = self.session.send(&request).await?.member("transfer")?;
        Ok(offered.into())
    }

    /// Accepts a transfer offered to this client's project.
    pub async fn accept_volume_transfer(
        &self,
        id: &str,
        auth_key: &Secret,
    ) -> Result<AcceptedTransfer> {
        let (collection, wanted) = self.transfer_api("accept volume transfer").await?;
        let request = Request::new(
            "accept volume transfer",
            SERVICE,
            Method::POST,
            &[collection, id, "accept"],
        )
        .microversion(wanted)
        .json(&json!({"accept": {"auth_key": auth_key.expose()}}))?
        .sensitive(auth_key);
        self.session.send(&request).await?.member("transfer")
    }

    /// Withdraws a transfer that was not accepted; the volume is `available` again.
    pub async fn delete_volume_transfer(&self, id: &str) -> Result<()> {
        let (collection, wanted) = self.transfer_api("delete volume transfer").await?;
        let request = Request::new(
            "delete volume transfer",
            SERVICE,
            Method::DELETE,
            &[collection, id],
        )
        .microversion(wanted);
        self.session.send(&request).await.map(drop)
    }

    /// The collection of transfers, and the microversions to use it with.
    async fn transfer_api(&self, call: &'static str) -> Result<(&'static str, Wanted)> {
        let versions = self.session.versions(SERVICE, call).await?;
        Ok(if versions.is_some_and(|range| range.max >= TRANSFERS) {
            ("volume-transfers", VOLUMES.at_least(TRANSFERS))
        } else {
            ("os-volume-transfer", VOLUMES)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_key_is_never_shown() {
        let offered: Offered = serde_json::from_str(
            r#"{"id": "t1", "name": null, "volume_id": "v1", "auth_key": "f1e2d3c4b5a69788",
                "created_at": "2024-05-01T10:00:00.000000", "links": []}"#,
        )
        .unwrap();
        let transfer = VolumeTransfer::from(offered);
        assert_eq!(transfer.auth_key.expose(), "f1e2d3c4b5a69788");
        let shown = format!("{transfer:?} {transfer:#?}");
        assert!(!shown.contains("f1e2d3c4b5a69788"), "{shown}");
        assert!(shown.contains("t1"));
    }
}
