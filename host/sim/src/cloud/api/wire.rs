//! What every OpenStack endpoint of the simulator shares: bounded request bodies, JSON parsing
//! that answers 400 in OpenStack's shape, token checks, microversions, and responses with the
//! headers real services send (`x-openstack-request-id`, the microversion echoed, `Vary`).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::cloud::microversion::{Microversion, VersionRange};
use crate::cloud::state::{Caller, Fail};
use crate::listener::Body;
use crate::xapi::server::full;

/// The largest API request body, as Cinder's and Nova's `max_request_body_size` default
/// (112 KiB).
pub const MAX_API_BODY: usize = 114_688;

/// A request, read whole.
pub struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Incoming {
    /// The value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON of type `T`; a malformed body is Cinder's and Nova's 400.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Fail::BadRequest(format!("Invalid request body: {e}")))
    }

    pub fn token(&self) -> Option<&str> {
        self.headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
    }
}

/// The service a response comes from: it decides the envelope of errors and the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Identity,
    Volume,
    Compute,
    Network,
    Control,
}

/// A response before it is rendered.
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    /// Bytes sent as `application/octet-stream` instead of a JSON body.
    pub raw: Option<Vec<u8>>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            raw: None,
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Reply {
        Reply::json(StatusCode::OK, body)
    }

    pub fn accepted(body: Value) -> Reply {
        Reply::json(StatusCode::ACCEPTED, body)
    }

    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: None,
            raw: None,
            headers: Vec::new(),
        }
    }

    pub fn bytes(data: Vec<u8>) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: None,
            raw: Some(data),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// The envelope key and status of a refusal.
fn envelope(fail: &Fail) -> (StatusCode, &'static str, &str) {
    match fail {
        Fail::BadRequest(m) => (StatusCode::BAD_REQUEST, "badRequest", m),
        Fail::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m),
        Fail::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
        Fail::NotFound(m) => (StatusCode::NOT_FOUND, "itemNotFound", m),
        Fail::OverLimit(m) => (StatusCode::PAYLOAD_TOO_LARGE, "overLimit", m),
        Fail::NotAcceptable(m) => (StatusCode::NOT_ACCEPTABLE, "notAcceptable", m),
        Fail::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "serviceUnavailable", m),
    }
}

/// OpenStack's error body: `{"badRequest": {"code": 400, "message": "…"}}`; Keystone (and the
/// token check in front of every service) answers `{"error": {"code", "title", "message"}}`.
pub fn failure(service: Service, fail: &Fail) -> Reply {
    let (status, key, message) = envelope(fail);
    let body = if service == Service::Identity || status == StatusCode::UNAUTHORIZED {
        json!({"error": {
            "code": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "message": message,
        }})
    } else {
        json!({key: {"code": status.as_u16(), "message": message}})
    };
    Reply::json(status, body)
}

/// Renders a reply with the headers of `service`, echoing `version` when there is one.
pub fn render(
    service: Service,
    version: Option<(VersionRange, Microversion)>,
    reply: Reply,
) -> Response<Body> {
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    let mut builder = Response::builder()
        .status(reply.status)
        .header("x-openstack-request-id", &request_id);
    if service == Service::Compute {
        builder = builder.header("x-compute-request-id", &request_id);
    }
    if let Some((range, version)) = version {
        builder = builder
            .header(
                "OpenStack-API-Version",
                format!("{} {version}", range.service),
            )
            .header(header::VARY, "OpenStack-API-Version");
        if range.service == "compute" {
            builder = builder
                .header("X-OpenStack-Nova-API-Version", version.to_string())
                .header(header::VARY, "X-OpenStack-Nova-API-Version");
        }
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            builder = builder.header(name, value);
        }
    }
    let bytes = match (reply.body, reply.raw) {
        (Some(body), _) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            body.to_string().into_bytes()
        }
        (None, Some(raw)) => {
            builder = builder.header(header::CONTENT_TYPE, "application/octet-stream");
            raw
        }
        (None, None) => Vec::new(),
    };
    builder
        .body(full(bytes))
        .expect("a response with checked headers is valid")
}

/// The caller behind the request's token.
pub fn caller_of(
    request: &Incoming,
    state: &crate::cloud::state::CloudState,
) -> Result<Caller, Fail> {
    let token = request.token().ok_or_else(|| {
        Fail::Unauthorized("The request you have made requires authentication.".into())
    })?;
    state.identity.validate(token, state.clock.now()).cloned()
}

/// The 404 of a path no service knows, or of a resource that has no such action.
pub fn no_route(request: &Incoming) -> Fail {
    Fail::NotFound(format!(
        "The resource could not be found: {} {}",
        request.method, request.path
    ))
}

/// The 405 of a known path asked with the wrong method, in OpenStack's envelope.
pub fn wrong_method(request: &Incoming) -> Reply {
    Reply::json(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"badMethod": {"code": 405, "message": format!(
            "The method {} is not allowed for {}.", request.method, request.path)}}),
    )
}
