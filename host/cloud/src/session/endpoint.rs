//! Finding where each API is: Keystone's v3 URL from the auth URL, and each service's URL and
//! microversions from its catalog URL and version documents (the rules are in
//! [`discovery`](crate::discovery)).
//!
//! Version documents are fetched without a token, as the services serve them to anyone.
//! A service is discovered on its first use and remembered; a failure is not remembered, so a
//! later call tries again.

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT};
use tracing::{debug, warn};
use url::Url;

use super::transport::exchange;
use super::{Session, user_agent};
use crate::config::CloudConfig;
use crate::discovery::{self, ApiVersion};
use crate::error::{CloudError, ErrorKind, Result};
use crate::microversion::VersionRange;
use crate::service::ServiceType;

/// Where a service's requests go, and the microversions it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Ends in `/`.
    pub url: Url,
    pub versions: Option<VersionRange>,
}

/// Why a version document could not be had.
enum ProbeError {
    /// The server answered, but not with a usable document: try elsewhere.
    Unusable(String),
    /// The server could not be reached: trying elsewhere on it is pointless.
    Failed(ErrorKind),
}

/// Fetches and reads the version document at `url`.
async fn probe(
    http: &reqwest::Client,
    config: &CloudConfig,
    url: &Url,
    major: u32,
) -> Result<ApiVersion, ProbeError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, user_agent());
    let answer = exchange(
        http,
        Method::GET,
        url.clone(),
        headers,
        None,
        config.request_timeout,
    )
    .await
    .map_err(ProbeError::Failed)?;
    // A versioned URL answers 200, an unversioned one 300 Multiple Choices (or 200).
    if !matches!(answer.status, 200 | 300) {
        return Err(ProbeError::Unusable(format!("HTTP {}", answer.status)));
    }
    discovery::read_document(&answer.body, url, major).map_err(ProbeError::Unusable)
}

/// Keystone's v3 URL: the `self` link of the v3 version at the auth URL, or the auth URL
/// itself if it ends in `/v3` and its document cannot be read.
pub(super) async fn identity_url(http: &reqwest::Client, config: &CloudConfig) -> Result<Url> {
    const CALL: &str = "discover identity API";
    let auth_url = &config.auth_url;
    match probe(http, config, auth_url, 3).await {
        Ok(version) => Ok(discovery::service_url(&version.url, None)),
        Err(ProbeError::Failed(kind)) => Err(CloudError::new(CALL, kind)),
        Err(ProbeError::Unusable(problem)) => {
            discovery::identity_fallback(auth_url).ok_or_else(|| {
                CloudError::new(
                    CALL,
                    ErrorKind::Unsupported(format!("no Keystone v3 at {auth_url}: {problem}")),
                )
            })
        }
    }
}

impl Session {
    /// The endpoint of `service`, discovered on first use; `call` names the call that needs it.
    pub(super) async fn endpoint(
        &self,
        service: ServiceType,
        call: &'static str,
    ) -> Result<&Endpoint> {
        self.endpoints[service.index()]
            .get_or_try_init(|| self.discover(service, call))
            .await
    }

    /// The microversions `service` accepts.
    pub(crate) async fn versions(
        &self,
        service: ServiceType,
        call: &'static str,
    ) -> Result<Option<VersionRange>> {
        Ok(self.endpoint(service, call).await?.versions)
    }

    async fn discover(&self, service: ServiceType, call: &'static str) -> Result<Endpoint> {
        let config = self.config();
        let catalog = self.catalog();
        let listed = catalog
            .url(service, config.interface, config.region.as_deref())
            .ok_or_else(|| {
                let region = config.region.as_deref().unwrap_or("any region");
                CloudError::new(
                    call,
                    ErrorKind::Unsupported(format!(
                        "no {} endpoint ({} interface, {region}) in the catalog",
                        service.name(),
                        config.interface
                    )),
                )
            })?;
        let catalog_url = Url::parse(listed).map_err(|error| {
            CloudError::new(
                call,
                ErrorKind::Decode(format!(
                    "catalog URL {listed:?} of {}: {error}",
                    service.name()
                )),
            )
        })?;
        let project_id = &self.project().id;
        let probes = discovery::probes(&catalog_url, project_id);
        let mut problems = Vec::new();
        for url in std::iter::once(&probes.versioned).chain(&probes.unversioned) {
            match probe(&self.http, config, url, service.major_version()).await {
                Ok(version) => {
                    let endpoint = Endpoint {
                        url: discovery::service_url(&version.url, probes.project.as_deref()),
                        versions: version.versions,
                    };
                    debug!(service = service.name(), url = %endpoint.url, versions = ?endpoint.versions, "discovered");
                    return Ok(endpoint);
                }
                Err(ProbeError::Failed(kind)) => return Err(CloudError::new(call, kind)),
                Err(ProbeError::Unusable(problem)) => problems.push(format!("{url}: {problem}")),
            }
        }
        let url =
            discovery::fallback_url(&catalog_url, project_id, service.default_version_segment());
        warn!(
            service = service.name(), %url, problems = %problems.join("; "),
            "no version document: using the catalog URL without microversions"
        );
        Ok(Endpoint {
            url,
            versions: None,
        })
    }
}
