//! Finding where each API is: Keystone's v3 URL from the auth URL, and each service's URL and
//! microversions from its catalog URL and version documents (the rules are in
//! [`discovery`](crate::discovery)).
//!
//! Version documents are fetched without a token, as the services serve them to anyone.
//! A service is discovered on its first use and remembered; a failure is not remembered, so a
//! later call tries again. A failure is an answer that may change soon: no answer at all, a
//! 5xx, 429 (rate limited) or 408. An answer that says there is no document at a URL (404,
//! another refusal, or a body that is not a version document) is not a failure: the next URL
//! is probed, and when none has a document the catalog URL is used without microversions,
//! which is remembered as any discovery is.
//!
//! A `self` link is followed only on the probed URL's origin (see
//! [`discovery`](crate::discovery)); otherwise requests go to the catalog URL or the auth URL.

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT};
use tracing::{debug, warn};
use url::Url;

use super::transport::exchange;
use super::{Session, user_agent};
use crate::config::CloudConfig;
use crate::discovery::{self, ApiVersion, SelfLink};
use crate::error::{CloudError, ErrorKind, Result};
use crate::fault;
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
    /// The server answered that there is no usable document at the URL: try elsewhere.
    Unusable(String),
    /// The server could not be reached, or failed for now (5xx, 429, 408): trying elsewhere
    /// on it is pointless, and the discovery fails without being remembered.
    Failed(ErrorKind),
}

/// Whether an answer of `status` to a version probe is a failure that may pass, rather than
/// the absence of a document at the URL.
fn is_transient(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
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
    if is_transient(answer.status) {
        let message = fault::message(&answer.body, &[]);
        return Err(ProbeError::Failed(fault::kind(answer.status, message)));
    }
    // A versioned URL answers 200, an unversioned one 300 Multiple Choices (or 200).
    if !matches!(answer.status, 200 | 300) {
        return Err(ProbeError::Unusable(format!("HTTP {}", answer.status)));
    }
    discovery::read_document(&answer.body, url, major).map_err(ProbeError::Unusable)
}

/// Keystone's v3 URL: the `self` link of the v3 version at the auth URL, or the auth URL
/// itself if it ends in `/v3` and its document cannot be read. A `self` link on another
/// origin than the auth URL is not followed (the password would go there): the auth URL is
/// used, with `v3/` appended if it names no version.
pub(super) async fn identity_url(http: &reqwest::Client, config: &CloudConfig) -> Result<Url> {
    const CALL: &str = "discover identity API";
    let auth_url = &config.auth_url;
    match probe(http, config, auth_url, 3).await {
        Ok(ApiVersion {
            link: SelfLink::Trusted(url),
            ..
        }) => Ok(discovery::service_url(&url, None)),
        Ok(ApiVersion {
            link: SelfLink::Foreign(link),
            ..
        }) => {
            let url = discovery::identity_on_auth_url(auth_url);
            warn!(
                %auth_url, self_link = %link, %url,
                "Keystone's version document links to another origin: staying on the auth URL"
            );
            Ok(url)
        }
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
        for probed in std::iter::once(&probes.versioned).chain(&probes.unversioned) {
            match probe(&self.http, config, probed, service.major_version()).await {
                Ok(version) => {
                    let url = match &version.link {
                        SelfLink::Trusted(link) => {
                            discovery::service_url(link, probes.project.as_deref())
                        }
                        SelfLink::Foreign(link) => {
                            let url = discovery::fallback_url(
                                &catalog_url,
                                project_id,
                                service.default_version_segment(),
                            );
                            warn!(
                                service = service.name(), %probed, self_link = %link, %url,
                                "the version document links to another origin: staying on the catalog URL"
                            );
                            url
                        }
                    };
                    let endpoint = Endpoint {
                        url,
                        versions: version.versions,
                    };
                    debug!(service = service.name(), url = %endpoint.url, versions = ?endpoint.versions, "discovered");
                    return Ok(endpoint);
                }
                Err(ProbeError::Failed(kind)) => return Err(CloudError::new(call, kind)),
                Err(ProbeError::Unusable(problem)) => problems.push(format!("{probed}: {problem}")),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers that may change soon fail the discovery (not remembered); the others say the
    /// document is not at the URL, and the next URL is probed.
    #[test]
    fn transient_answers_are_failures() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient(status), "{status}");
        }
        for status in [200, 300, 301, 400, 401, 403, 404, 405, 406, 410] {
            assert!(!is_transient(status), "{status}");
        }
    }
}
