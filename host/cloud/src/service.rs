//! The services the client speaks to, and what each one is called in the catalog, in the
//! version documents and in the microversion header.

use crate::microversion::Microversion;

/// A service of the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceType {
    /// Cinder v3.
    BlockStorage,
    /// Nova v2.1.
    Compute,
    /// Neutron v2.0.
    Network,
}

impl ServiceType {
    pub(crate) const ALL: [ServiceType; 3] = [
        ServiceType::BlockStorage,
        ServiceType::Compute,
        ServiceType::Network,
    ];

    /// The official service type.
    pub fn name(self) -> &'static str {
        match self {
            ServiceType::BlockStorage => "block-storage",
            ServiceType::Compute => "compute",
            ServiceType::Network => "network",
        }
    }

    /// The catalog types that name this service, most preferred first. Clouds still register
    /// Cinder v3 under the historical `volumev3` and `volume`; `volumev2` is left out because
    /// it names the v2 API, which is gone.
    pub(crate) fn catalog_types(self) -> &'static [&'static str] {
        match self {
            ServiceType::BlockStorage => &["block-storage", "volumev3", "volume"],
            ServiceType::Compute => &["compute"],
            ServiceType::Network => &["network"],
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            ServiceType::BlockStorage => 0,
            ServiceType::Compute => 1,
            ServiceType::Network => 2,
        }
    }

    /// The major API version the client speaks.
    pub(crate) fn major_version(self) -> u32 {
        match self {
            ServiceType::BlockStorage => 3,
            ServiceType::Compute | ServiceType::Network => 2,
        }
    }

    /// The version a request without a microversion header gets.
    pub(crate) fn base_microversion(self) -> Microversion {
        match self {
            ServiceType::BlockStorage => Microversion::new(3, 0),
            ServiceType::Compute => Microversion::new(2, 1),
            ServiceType::Network => Microversion::new(2, 0),
        }
    }

    /// The service's name in `OpenStack-API-Version` (Cinder's is `volume`, whatever its
    /// catalog type), or `None` for a service without microversions.
    pub(crate) fn microversion_name(self) -> Option<&'static str> {
        match self {
            ServiceType::BlockStorage => Some("volume"),
            ServiceType::Compute => Some("compute"),
            ServiceType::Network => None,
        }
    }

    /// The path segment of the API version, appended to an unversioned catalog URL when the
    /// service's version document cannot be read. Neutron registers its unversioned root and
    /// serves its API under `v2.0`; the others register versioned URLs.
    pub(crate) fn default_version_segment(self) -> Option<&'static str> {
        match self {
            ServiceType::Network => Some("v2.0"),
            ServiceType::BlockStorage | ServiceType::Compute => None,
        }
    }
}
