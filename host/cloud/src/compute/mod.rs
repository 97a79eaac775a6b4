//! Nova v2.1: flavors, and servers booted from volumes.
//!
//! The microversions follow openstacksdk: flavor calls up to 2.61 (flavors carry their extra
//! specs), server calls up to 2.100 (servers embed their flavor from 2.47). Calls that need a
//! newer feature raise their minimum, as tags at creation need 2.52.

mod flavors;
mod servers;

use std::sync::Arc;

use crate::error::Result;
use crate::microversion::{Microversion, VersionRange, Wanted};
use crate::service::ServiceType;
use crate::session::Session;
pub use flavors::Flavor;
pub use servers::{
    AttachedVolume, BlockDevice, EmbeddedFlavor, NetworkRequest, Networks, Server, ServerAddress,
    ServerFault, ServerFilter, ServerFlavor, ServerSpec, ServerStatus, ServerVolume,
};

const SERVICE: ServiceType = ServiceType::Compute;
const BASE: Microversion = Microversion::new(2, 1);
const FLAVORS: Wanted = Wanted::new(BASE, Microversion::new(2, 61));
const SERVERS: Wanted = Wanted::new(BASE, Microversion::new(2, 100));

/// The compute service of a [`Cloud`](crate::Cloud); cheap to clone.
#[derive(Clone)]
pub struct Compute {
    session: Arc<Session>,
}

impl Compute {
    pub(crate) fn new(session: Arc<Session>) -> Self {
        Compute { session }
    }

    /// The microversions the service accepts (`None` if it advertises none).
    pub async fn versions(&self) -> Result<Option<VersionRange>> {
        self.session.versions(SERVICE, "discover compute API").await
    }
}

impl std::fmt::Debug for Compute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compute")
            .field("project", &self.session.project().id)
            .finish_non_exhaustive()
    }
}
