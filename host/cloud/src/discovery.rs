//! Version discovery, as keystoneauth and openstacksdk do it: which URLs to probe for a
//! service's version document, how to read the document, and how to build the URL requests go
//! to from the document's `self` link.
//!
//! A catalog URL such as `http://H/volume/v3/<project id>` is probed without its project id
//! (`http://H/volume/v3/`), then at the unversioned root (`http://H/volume/`) if that fails.
//! Requests go to the `self` link of the matching version with the project id appended again,
//! so a cloud whose catalog is out of date, or that moved its API, is still reached where it
//! says it is. Only pure functions live here; the requests are in the session.
//!
//! A version document is fetched without a token, and whatever answers it would choose where
//! the password and the tokens go if its `self` link were followed anywhere. So a `self` link
//! is followed only on the origin (scheme, host and port) of the URL probed for it, which came
//! from the configuration or the catalog; a link to another host or port, or from https down to
//! http, is ignored, and requests go to the catalog URL (or the auth URL) itself.

use serde::Deserialize;
use url::Url;

use crate::microversion::{Microversion, VersionRange};

/// The API version a service document describes: where its requests go, and the
/// microversions it accepts (`None` when it has none, as Neutron).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiVersion {
    pub link: SelfLink,
    pub versions: Option<VersionRange>,
}

/// A version's `self` link, resolved against the probed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelfLink {
    /// On the probed URL's origin: requests go there.
    Trusted(Url),
    /// On another origin (host, port or scheme): not followed.
    Foreign(Url),
}

#[cfg(test)]
impl ApiVersion {
    /// The `self` link, if requests may go there.
    pub fn trusted_url(&self) -> Option<&Url> {
        match &self.link {
            SelfLink::Trusted(url) => Some(url),
            SelfLink::Foreign(_) => None,
        }
    }
}

/// A version document in any of the three shapes the services use: `{"version": {...}}` for
/// one version, `{"versions": [...]}` (Nova, Cinder, Neutron) or `{"versions": {"values":
/// [...]}}` (Keystone) for several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    One { version: Entry },
    Many { versions: Entries },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Entries {
    List(Vec<Entry>),
    Values { values: Vec<Entry> },
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    href: String,
}

/// Reads the version document `body`, fetched from `probed`, and picks the newest version of
/// the major version `major`. A relative `self` link is resolved against `probed`; an absolute
/// one on another origin than `probed` is [`SelfLink::Foreign`].
pub(crate) fn read_document(body: &[u8], probed: &Url, major: u32) -> Result<ApiVersion, String> {
    let document: Document =
        serde_json::from_slice(body).map_err(|error| format!("not a version document: {error}"))?;
    let entries = match document {
        Document::One { version } => vec![version],
        Document::Many {
            versions: Entries::List(entries) | Entries::Values { values: entries },
        } => entries,
    };
    let entry = entries
        .into_iter()
        .filter_map(|entry| Some((version_id(&entry.id)?, entry)))
        .filter(|((entry_major, _), _)| *entry_major == major)
        .max_by_key(|(id, _)| *id)
        .map(|(_, entry)| entry)
        .ok_or_else(|| format!("the document lists no v{major} API"))?;
    let href = entry
        .links
        .iter()
        .find(|link| link.rel == "self")
        .map(|link| link.href.as_str())
        .ok_or_else(|| format!("version {} has no self link", entry.id))?;
    let url = probed
        .join(href)
        .map_err(|error| format!("self link {href:?}: {error}"))?;
    let link = if same_origin(&url, probed) {
        SelfLink::Trusted(url)
    } else {
        SelfLink::Foreign(url)
    };
    let max = non_empty(entry.max_version.as_deref()).or(non_empty(entry.version.as_deref()));
    let versions = match max {
        None => None,
        Some(max) => {
            let parse = |text: &str| {
                text.parse::<Microversion>()
                    .map_err(|error| format!("version {}: {error}", entry.id))
            };
            let max = parse(max)?;
            let min = match non_empty(entry.min_version.as_deref()) {
                Some(min) => parse(min)?,
                None => Microversion::new(major, 0),
            };
            Some(VersionRange { min, max })
        }
    };
    Ok(ApiVersion { link, versions })
}

/// Whether `link` has the scheme, host and port of `probed` (a port left out counts as the
/// scheme's default).
fn same_origin(link: &Url, probed: &Url) -> bool {
    link.scheme() == probed.scheme()
        && link.host() == probed.host()
        && link.port_or_known_default() == probed.port_or_known_default()
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.trim().is_empty())
}

/// The (major, minor) of a version id such as `v3.14` or `v2`.
fn version_id(id: &str) -> Option<(u32, u32)> {
    let digits = id.strip_prefix('v').or_else(|| id.strip_prefix('V'))?;
    let (major, minor) = digits.split_once('.').unwrap_or((digits, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Whether a path segment names an API version: `v3`, `v2.1`, `v2.0`.
fn is_version_segment(segment: &str) -> bool {
    segment.starts_with('v') && version_id(segment).is_some()
}

/// Where to look for a service's version document, from its catalog URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probes {
    /// The catalog URL without its project id.
    pub versioned: Url,
    /// The service's root, when the catalog URL names a version.
    pub unversioned: Option<Url>,
    /// The project id taken off the catalog URL, to put back on the service URL.
    pub project: Option<String>,
}

/// The probes for the catalog URL `catalog` of a token scoped to `project_id`.
///
/// The last segment is taken as a project id when it is `project_id`, or when the segment
/// before it names a version (`/v3/<some tenant id>`: the catalog was written for the project
/// of whoever registered it).
pub(crate) fn probes(catalog: &Url, project_id: &str) -> Probes {
    let mut versioned = bare(catalog);
    let path = catalog.path().trim_end_matches('/');
    let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
    let before_last = parent.rsplit('/').next().unwrap_or("");
    let project = (!last.is_empty() && (last == project_id || is_version_segment(before_last)))
        .then(|| last.to_owned());
    if project.is_some() {
        versioned.set_path(&format!("{parent}/"));
    }
    let versioned_path = versioned.path().trim_end_matches('/');
    let unversioned = versioned_path
        .rsplit_once('/')
        .filter(|(_, last)| is_version_segment(last))
        .map(|(root, _)| {
            let mut url = versioned.clone();
            url.set_path(&format!("{root}/"));
            url
        });
    Probes {
        versioned,
        unversioned,
        project,
    }
}

/// The URL requests go to: the document's `self` link with the project id appended, ending in
/// `/` so that request paths join onto it.
pub(crate) fn service_url(self_link: &Url, project: Option<&str>) -> Url {
    let mut url = bare(self_link);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
        if let Some(project) = project {
            segments.push(project);
        }
        segments.push("");
    }
    url
}

/// The URL requests go to when the service has no readable version document: the catalog URL
/// itself, with `default_segment` appended if it names no version.
pub(crate) fn fallback_url(catalog: &Url, project_id: &str, default_segment: Option<&str>) -> Url {
    let probes = probes(catalog, project_id);
    let base = service_url(catalog, None);
    match default_segment {
        Some(segment) if probes.unversioned.is_none() && probes.project.is_none() => {
            service_url(&base, Some(segment))
        }
        _ => base,
    }
}

/// The identity URL to use when the auth URL's version document cannot be read: the auth URL
/// itself if its path ends in `/v3`, as keystoneauth guesses.
pub(crate) fn identity_fallback(auth_url: &Url) -> Option<Url> {
    auth_url
        .path()
        .trim_end_matches('/')
        .ends_with("/v3")
        .then(|| service_url(auth_url, None))
}

/// The identity URL when the auth URL's version document names a `self` link on another
/// origin: the auth URL itself if its path ends in `/v3`, else the auth URL with `v3/` appended
/// (where Keystone serves v3 below its root).
pub(crate) fn identity_on_auth_url(auth_url: &Url) -> Url {
    identity_fallback(auth_url).unwrap_or_else(|| service_url(auth_url, Some("v3")))
}

/// `url` without query or fragment.
fn bare(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: &str = "0f5b7ac1e3a04b36b3f5a3d4c52d9a21";

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn cinder_catalog_url_with_project_id() {
        let catalog = url(&format!("http://h/volume/v3/{PID}"));
        let probes = probes(&catalog, PID);
        assert_eq!(probes.versioned.as_str(), "http://h/volume/v3/");
        assert_eq!(probes.unversioned.unwrap().as_str(), "http://h/volume/");
        assert_eq!(probes.project.as_deref(), Some(PID));
        let with_slash = super::probes(&url(&format!("http://h/volume/v3/{PID}/")), PID);
        assert_eq!(with_slash.versioned.as_str(), "http://h/volume/v3/");
        assert_eq!(with_slash.project.as_deref(), Some(PID));
    }

    #[test]
    fn nova_catalog_url_without_project_id() {
        let probes = probes(&url("http://h/compute/v2.1"), PID);
        assert_eq!(probes.versioned.as_str(), "http://h/compute/v2.1");
        assert_eq!(probes.unversioned.unwrap().as_str(), "http://h/compute/");
        assert_eq!(probes.project, None);
    }

    #[test]
    fn project_id_of_another_project_after_a_version() {
        let probes = probes(&url("http://h:8776/v3/0123456789abcdef"), PID);
        assert_eq!(probes.versioned.as_str(), "http://h:8776/v3/");
        assert_eq!(probes.unversioned.unwrap().as_str(), "http://h:8776/");
        assert_eq!(probes.project.as_deref(), Some("0123456789abcdef"));
    }

    #[test]
    fn unversioned_catalog_url() {
        let probes = probes(&url("http://h:9696/"), PID);
        assert_eq!(probes.versioned.as_str(), "http://h:9696/");
        assert_eq!(probes.unversioned, None);
        assert_eq!(probes.project, None);
        let probes = super::probes(&url("http://h/networking"), PID);
        assert_eq!(probes.versioned.as_str(), "http://h/networking");
        assert_eq!(probes.unversioned, None);
        assert_eq!(probes.project, None);
    }

    #[test]
    fn cinder_document_and_service_url() {
        let probed = url("http://h/volume/v3/");
        let body = br#"{"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.71",
            "min_version": "3.0", "updated": "2023-01-01T00:00:00Z",
            "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": "http://h/volume/v3/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}]}]}"#;
        let version = read_document(body, &probed, 3).unwrap();
        let url = version.trusted_url().unwrap();
        assert_eq!(url.as_str(), "http://h/volume/v3/");
        assert_eq!(
            version.versions,
            Some(VersionRange {
                min: Microversion::new(3, 0),
                max: Microversion::new(3, 71)
            })
        );
        assert_eq!(
            service_url(url, Some(PID)).as_str(),
            format!("http://h/volume/v3/{PID}/")
        );
    }

    #[test]
    fn nova_single_version_document() {
        let probed = url("http://h/compute/v2.1");
        let body = br#"{"version": {"id": "v2.1", "status": "CURRENT", "version": "2.96",
            "min_version": "2.1", "links": [{"rel": "self", "href": "http://h/compute/v2.1/"}]}}"#;
        let version = read_document(body, &probed, 2).unwrap();
        assert_eq!(
            service_url(version.trusted_url().unwrap(), None).as_str(),
            "http://h/compute/v2.1/"
        );
        assert_eq!(version.versions.unwrap().max, Microversion::new(2, 96));
    }

    #[test]
    fn nova_root_document_prefers_v2_1_over_v2_0() {
        let probed = url("http://h/compute/");
        let body = br#"{"versions": [
            {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
             "links": [{"rel": "self", "href": "http://h/compute/v2/"}]},
            {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
             "links": [{"rel": "self", "href": "http://h/compute/v2.1/"}]}]}"#;
        let version = read_document(body, &probed, 2).unwrap();
        assert_eq!(
            version.link,
            SelfLink::Trusted(url("http://h/compute/v2.1/"))
        );
        assert_eq!(
            version.versions,
            Some(VersionRange {
                min: Microversion::new(2, 1),
                max: Microversion::new(2, 96)
            })
        );
    }

    #[test]
    fn keystone_multiple_choices_document() {
        let probed = url("http://h/identity");
        let body = br#"{"versions": {"values": [{"id": "v3.14", "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": "http://h/identity/v3/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}]}}"#;
        let version = read_document(body, &probed, 3).unwrap();
        assert_eq!(
            version.link,
            SelfLink::Trusted(url("http://h/identity/v3/"))
        );
        assert_eq!(version.versions, None);
        assert!(read_document(body, &probed, 2).is_err());
    }

    #[test]
    fn relative_self_links() {
        let body = br#"{"versions": [{"id": "v3.0", "version": "3.71", "min_version": "3.0",
            "links": [{"rel": "self", "href": "v3/"}]}]}"#;
        let version = read_document(body, &url("http://h/volume/"), 3).unwrap();
        let trusted = version.trusted_url().unwrap();
        assert_eq!(trusted.as_str(), "http://h/volume/v3/");
        assert_eq!(
            service_url(trusted, Some(PID)).as_str(),
            format!("http://h/volume/v3/{PID}/")
        );
        let rooted =
            br#"{"version": {"id": "v3.0", "links": [{"rel": "self", "href": "/block/v3"}]}}"#;
        let version = read_document(rooted, &url("http://h:8776/volume/v3/"), 3).unwrap();
        assert_eq!(
            service_url(version.trusted_url().unwrap(), Some(PID)).as_str(),
            format!("http://h:8776/block/v3/{PID}/")
        );
    }

    /// A document fetched without a token must not send the token elsewhere: a `self` link on
    /// another host or port is not followed, though the versions are still read.
    #[test]
    fn self_links_to_another_host_or_port_are_not_followed() {
        let body = br#"{"version": {"id": "v2.1", "version": "2.96", "min_version": "2.1",
            "links": [{"rel": "self", "href": "https://api.example:8774/v2.1/"}]}}"#;
        let version = read_document(body, &url("https://h/compute/v2.1"), 2).unwrap();
        assert_eq!(
            version.link,
            SelfLink::Foreign(url("https://api.example:8774/v2.1/"))
        );
        assert_eq!(version.trusted_url(), None);
        assert_eq!(version.versions.unwrap().max, Microversion::new(2, 96));

        let other_port = br#"{"version": {"id": "v3.0",
            "links": [{"rel": "self", "href": "https://h:8443/volume/v3/"}]}}"#;
        let version = read_document(other_port, &url("https://h/volume/v3/"), 3).unwrap();
        assert_eq!(version.trusted_url(), None);
        let protocol_relative = br#"{"version": {"id": "v3.0",
            "links": [{"rel": "self", "href": "//evil.example/volume/v3/"}]}}"#;
        let version = read_document(protocol_relative, &url("https://h/volume/v3/"), 3).unwrap();
        assert_eq!(version.trusted_url(), None);

        // The default port written out is the same origin.
        let explicit_port = br#"{"version": {"id": "v3.0",
            "links": [{"rel": "self", "href": "https://h:443/volume/v3/"}]}}"#;
        let version = read_document(explicit_port, &url("https://h/volume/v3/"), 3).unwrap();
        assert_eq!(
            version.trusted_url().map(Url::as_str),
            Some("https://h/volume/v3/")
        );
    }

    /// A `self` link that would take an https endpoint down to http (same host and path) is
    /// not followed: the token would travel in clear.
    #[test]
    fn self_links_that_downgrade_to_http_are_not_followed() {
        let body = br#"{"version": {"id": "v3.14", "status": "stable",
            "links": [{"rel": "self", "href": "http://h/identity/v3/"}]}}"#;
        let version = read_document(body, &url("https://h/identity/v3"), 3).unwrap();
        assert_eq!(
            version.link,
            SelfLink::Foreign(url("http://h/identity/v3/"))
        );
        assert_eq!(version.trusted_url(), None);
        let on_443 = br#"{"version": {"id": "v3.14",
            "links": [{"rel": "self", "href": "http://h:443/identity/v3/"}]}}"#;
        let version = read_document(on_443, &url("https://h/identity/v3"), 3).unwrap();
        assert_eq!(version.trusted_url(), None);
        assert_eq!(
            identity_on_auth_url(&url("https://h/identity/v3")).as_str(),
            "https://h/identity/v3/"
        );
        assert_eq!(
            identity_on_auth_url(&url("https://h/identity")).as_str(),
            "https://h/identity/v3/"
        );
        assert_eq!(
            identity_on_auth_url(&url("https://h:5000/")).as_str(),
            "https://h:5000/v3/"
        );
    }

    #[test]
    fn documents_that_do_not_fit() {
        let probed = url("http://h/");
        assert!(read_document(b"<html>", &probed, 3).is_err());
        assert!(read_document(br#"{"versions": []}"#, &probed, 3).is_err());
        let no_self = br#"{"version": {"id": "v3.0", "links": []}}"#;
        assert!(read_document(no_self, &probed, 3).is_err());
        let bad_version = br#"{"version": {"id": "v3.0", "version": "3.x",
            "links": [{"rel": "self", "href": "/v3/"}]}}"#;
        assert!(read_document(bad_version, &probed, 3).is_err());
    }

    #[test]
    fn fallbacks() {
        let cinder = url(&format!("http://h/volume/v3/{PID}"));
        assert_eq!(
            fallback_url(&cinder, PID, None).as_str(),
            format!("http://h/volume/v3/{PID}/")
        );
        assert_eq!(
            fallback_url(&url("http://h/compute/v2.1"), PID, None).as_str(),
            "http://h/compute/v2.1/"
        );
        assert_eq!(
            fallback_url(&url("http://h:9696"), PID, Some("v2.0")).as_str(),
            "http://h:9696/v2.0/"
        );
        assert_eq!(
            fallback_url(&url("http://h/networking"), PID, Some("v2.0")).as_str(),
            "http://h/networking/v2.0/"
        );
        assert_eq!(
            fallback_url(&url("http://h/networking/v2.0"), PID, Some("v2.0")).as_str(),
            "http://h/networking/v2.0/"
        );
        assert_eq!(
            identity_fallback(&url("http://h/identity/v3"))
                .unwrap()
                .as_str(),
            "http://h/identity/v3/"
        );
        assert_eq!(identity_fallback(&url("http://h/identity")), None);
    }

    #[test]
    fn version_segments() {
        for yes in ["v3", "v2.1", "v2.0", "v10"] {
            assert!(is_version_segment(yes), "{yes}");
        }
        for no in ["", "v", "volume", "3", "v3a", "vx.1", "V3"] {
            assert!(!is_version_segment(no), "{no}");
        }
    }
}
