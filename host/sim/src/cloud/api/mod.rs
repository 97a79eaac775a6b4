//! The HTTP face of a simulated cloud, one listener per cloud with devstack's layout: Keystone
//! under `/identity`, Cinder under `/volume`, Nova under `/compute`, Neutron under `/network`,
//! and the simulator's own control plane under `/_sim`. Version documents answer without a token
//! at every root; everything else needs one. Cinder's and Nova's URLs work with and without the
//! project id after the version.

mod backups;
mod compute;
mod control;
pub use control::state_json as control_state;
mod discovery;
mod identity;
mod network;
mod views;
mod volumes;
pub mod wire;

use std::sync::Arc;

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming as IncomingBody;
use serde_json::json;

use super::Cloud;
use super::microversion::{Microversion, VersionRange};
use super::state::{Caller, CloudState, Fail};
use crate::listener::Body;
use wire::{Incoming, Reply, Service, failure, no_route, render};

/// The largest body the control plane takes (a write of volume contents).
pub const MAX_CONTROL_BODY: usize = 64 << 20;

/// Answers one request.
pub async fn handle(cloud: Arc<Cloud>, request: Request<IncomingBody>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let limit = if path.starts_with("/_sim/") {
        MAX_CONTROL_BODY
    } else {
        wire::MAX_API_BODY
    };
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            let fail = Fail::OverLimit(format!("Request is too large (over {limit} bytes)."));
            return render(Service::Control, None, failure(Service::Control, &fail));
        }
        Err(_) => {
            let fail = Fail::BadRequest("The request body could not be read.".into());
            return render(Service::Control, None, failure(Service::Control, &fail));
        }
    };
    answer(&cloud, parts.method, &parts.uri, parts.headers, body)
}

/// Answers a request whose body has been read.
pub fn answer(
    cloud: &Cloud,
    method: http::Method,
    uri: &http::Uri,
    headers: http::HeaderMap,
    body: bytes::Bytes,
) -> Response<Body> {
    let query = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let request = Incoming {
        method,
        path: uri.path().to_owned(),
        query,
        headers,
        body,
    };
    let path = request.path.clone();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    route(cloud, &request, &segments)
}

fn route(cloud: &Cloud, request: &Incoming, segments: &[&str]) -> Response<Body> {
    let base = cloud.base_url.as_str();
    match segments {
        ["identity", rest @ ..] => identity::handle(cloud, request, rest),
        ["volume"] => plain(
            Service::Volume,
            discovery::volume_root(base, &cloud.with(|s| s.volume_max)),
        ),
        ["volume", "v3"] => plain(
            Service::Volume,
            discovery::volume_v3(base, &cloud.with(|s| s.volume_max)),
        ),
        ["volume", "v3", rest @ ..] => {
            service(cloud, Service::Volume, request, rest, volumes::handle)
        }
        ["compute"] => plain(
            Service::Compute,
            discovery::compute_root(base, &cloud.with(|s| s.compute_max)),
        ),
        ["compute", "v2.1"] => plain(
            Service::Compute,
            discovery::compute_v21(base, &cloud.with(|s| s.compute_max)),
        ),
        ["compute", "v2.1", rest @ ..] => {
            service(cloud, Service::Compute, request, rest, compute::handle)
        }
        ["network"] => plain(Service::Network, discovery::network_root(base)),
        ["network", "v2.0", rest @ ..] => {
            service(cloud, Service::Network, request, rest, network::handle)
        }
        ["_sim", rest @ ..] => render(
            Service::Control,
            None,
            control::handle(cloud, request, rest),
        ),
        _ => render(
            Service::Control,
            None,
            failure(Service::Control, &no_route(request)),
        ),
    }
}

fn plain(service: Service, reply: Reply) -> Response<Body> {
    render(service, None, reply)
}

/// What a service's handler gets: the state (settled), the caller, the microversion asked for,
/// and the path after the version and the optional project id.
pub struct Call<'a> {
    pub state: &'a mut CloudState,
    pub caller: &'a Caller,
    pub version: Microversion,
    pub request: &'a Incoming,
    /// The cloud's address, for absolute links.
    pub base: &'a str,
}

type Handler = fn(&mut Call<'_>, &[&str]) -> Result<Reply, Fail>;

/// Runs an authenticated service call: token, microversion, project id in the path.
fn service(
    cloud: &Cloud,
    service: Service,
    request: &Incoming,
    rest: &[&str],
    handler: Handler,
) -> Response<Body> {
    cloud.with(|state| {
        let range = match service {
            Service::Volume => Some(VersionRange {
                service: "volume",
                min: Microversion::new(3, 0),
                max: state.volume_max,
            }),
            Service::Compute => Some(VersionRange {
                service: "compute",
                min: Microversion::new(2, 1),
                max: state.compute_max,
            }),
            _ => None,
        };
        let caller = match wire::caller_of(request, state) {
            Ok(caller) => caller,
            Err(fail) => {
                let reply = failure(service, &fail).with_header(
                    "WWW-Authenticate",
                    format!("Keystone uri=\"{}/identity\"", cloud.base_url),
                );
                return render(service, None, reply);
            }
        };
        let version = match range.map(|r| r.requested(&request.headers)) {
            Some(Ok(version)) => Some(version),
            Some(Err(message)) => {
                return render(
                    service,
                    None,
                    failure(service, &Fail::NotAcceptable(message)),
                );
            }
            None => None,
        };
        let rest = match rest.split_first() {
            Some((first, after)) if state.identity.project(first).is_some() => {
                if *first != caller.project_id {
                    let fail = Fail::BadRequest("Malformed request url".into());
                    return render(service, None, failure(service, &fail));
                }
                after
            }
            _ => rest,
        };
        let mut call = Call {
            state,
            caller: &caller,
            // Neutron has no microversions: its handlers see its API version, 2.0.
            version: version.unwrap_or(Microversion::new(2, 0)),
            request,
            base: &cloud.base_url,
        };
        let reply = handler(&mut call, rest).unwrap_or_else(|fail| failure(service, &fail));
        render(service, range.zip(version), reply)
    })
}

/// A JSON body's field, or the 400 that names it.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, Fail> {
    value
        .ok_or_else(|| Fail::BadRequest(format!("Invalid input: '{field}' is a required property")))
}

/// The body's object under `key` (`{"volume": {…}}`), as `T`; a missing key or a malformed
/// object is the 400 that says so.
pub fn wrapped<T: serde::de::DeserializeOwned>(request: &Incoming, key: &str) -> Result<T, Fail> {
    let mut body: serde_json::Map<String, serde_json::Value> = request.json()?;
    let inner = body.remove(key).ok_or_else(|| {
        Fail::BadRequest(format!("Missing required element '{key}' in request body."))
    })?;
    serde_json::from_value(inner)
        .map_err(|e| Fail::BadRequest(format!("Invalid input for field/attribute {key}: {e}")))
}

/// The one action of an `…/action` body (`{"os-set_bootable": {…}}`): its name and argument.
pub fn one_action(request: &Incoming) -> Result<(String, serde_json::Value), Fail> {
    let body: serde_json::Map<String, serde_json::Value> = request.json()?;
    let mut actions = body.into_iter();
    match (actions.next(), actions.next()) {
        (Some(action), None) => Ok(action),
        _ => Err(Fail::BadRequest(
            "There is no such action: expected exactly one action.".into(),
        )),
    }
}

/// The `links` of a resource: its `self` and `bookmark` URLs.
pub fn links(href: String) -> serde_json::Value {
    json!([{"rel": "self", "href": href}, {"rel": "bookmark", "href": href}])
}

/// Whether the caller asked for every project's resources (`?all_tenants=1`) and, being an
/// administrator, may have them.
pub fn all_tenants(call: &Call<'_>) -> bool {
    call.request
        .query("all_tenants")
        .is_some_and(|v| v != "0" && v != "false")
        && call.caller.is_admin()
}

/// 202 with no body, as Cinder's deletes and actions answer.
pub fn accepted_empty() -> Reply {
    Reply::empty(StatusCode::ACCEPTED)
}
