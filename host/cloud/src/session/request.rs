//! A call to a service as the typed API builds it ([`Request`]), and its successful answer
//! ([`Reply`]) with the decoding helpers every call uses.

use bytes::Bytes;
use lifeboat_formats::secret::Secret;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::error::{CloudError, ErrorKind, Result};
use crate::microversion::{Microversion, Wanted};
use crate::service::ServiceType;

/// A call: what it is named in errors, where it goes, and what it sends. `Debug` shows the
/// body's length only: a body can hold a secret (a transfer's auth key, user data).
#[derive(Clone)]
pub(crate) struct Request {
    /// The call's name in errors, such as `create backup`.
    pub name: &'static str,
    pub service: ServiceType,
    pub method: Method,
    /// Path segments below the service URL, escaped when the URL is built.
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    /// `None` sends no microversion header.
    pub wanted: Option<Wanted>,
    pub body: Option<Bytes>,
    /// Secrets the body holds besides the credentials, to scrub from error messages.
    pub secrets: Vec<Secret>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("name", &self.name)
            .field("service", &self.service)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("wanted", &self.wanted)
            .field("body", &BodyLength(self.body.as_ref()))
            .field("secrets", &self.secrets)
            .finish()
    }
}

/// A body as its length: `Some(<42 bytes>)`.
struct BodyLength<'a>(Option<&'a Bytes>);

impl std::fmt::Debug for BodyLength<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(body) => write!(f, "Some(<{} bytes>)", body.len()),
            None => f.write_str("None"),
        }
    }
}

impl Request {
    pub fn new(name: &'static str, service: ServiceType, method: Method, path: &[&str]) -> Self {
        Request {
            name,
            service,
            method,
            path: path.iter().map(|segment| (*segment).to_owned()).collect(),
            query: Vec::new(),
            wanted: None,
            body: None,
            secrets: Vec::new(),
        }
    }

    pub fn microversion(mut self, wanted: Wanted) -> Self {
        self.wanted = Some(wanted);
        self
    }

    /// Adds `key=value` to the query if there is a value.
    pub fn query(mut self, key: &'static str, value: Option<impl Into<String>>) -> Self {
        if let Some(value) = value {
            self.query.push((key, value.into()));
        }
        self
    }

    /// Sends `body` as JSON.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|error| {
            CloudError::new(
                self.name,
                ErrorKind::Config(format!("cannot encode the request: {error}")),
            )
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Marks `secret`, which the body holds, to be scrubbed from error messages: services
    /// quote invalid input in them.
    pub fn sensitive(mut self, secret: &Secret) -> Self {
        self.secrets.push(secret.clone());
        self
    }

    /// The request's URL below the service URL `base` (which ends in `/`).
    pub fn url(&self, base: &Url) -> Url {
        let mut url = base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(&self.path);
        }
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        url
    }
}

/// A successful answer. `Debug` shows the body's length only: an answer can hold a secret (a
/// new transfer's auth key).
pub(crate) struct Reply {
    pub name: &'static str,
    /// Where the request went, to resolve the links of the answer against.
    pub url: Url,
    /// The microversion the request was sent with.
    pub microversion: Option<Microversion>,
    pub body: Bytes,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("microversion", &self.microversion)
            .field("body", &BodyLength(Some(&self.body)))
            .finish()
    }
}

impl Reply {
    /// The whole body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|error| self.decode_error(error))
    }

    /// The member `key` of the body: most answers wrap their resource, as in
    /// `{"volume": {...}}`.
    pub fn member<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let mut body: Value = self.json()?;
        let member = body.get_mut(key).map(Value::take).ok_or_else(|| {
            CloudError::new(
                self.name,
                ErrorKind::Decode(format!("no {key:?} in the answer")),
            )
        })?;
        T::deserialize(member).map_err(|error| self.decode_error(format!("{key}: {error}")))
    }

    /// The items of a list answer and the link to its next page, if any.
    pub fn page<T: DeserializeOwned>(&self, key: &str) -> Result<(Vec<T>, Option<String>)> {
        let mut body: Value = self.json()?;
        let links: Vec<Link> = body
            .get_mut(format!("{key}_links"))
            .map(Value::take)
            .map(serde_json::from_value)
            .transpose()
            .map_err(|error| self.decode_error(format!("{key}_links: {error}")))?
            .unwrap_or_default();
        let items = body.get_mut(key).map(Value::take).ok_or_else(|| {
            CloudError::new(
                self.name,
                ErrorKind::Decode(format!("no {key:?} in the answer")),
            )
        })?;
        let items = Vec::<T>::deserialize(items)
            .map_err(|error| self.decode_error(format!("{key}: {error}")))?;
        let next = links
            .into_iter()
            .find(|link| link.rel == "next")
            .map(|link| link.href);
        Ok((items, next))
    }

    fn decode_error(&self, error: impl std::fmt::Display) -> CloudError {
        CloudError::new(self.name, ErrorKind::Decode(error.to_string()))
    }
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    href: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_below_the_service_url() {
        let base = Url::parse("http://h/volume/v3/p1/").unwrap();
        let request = Request::new(
            "get",
            ServiceType::BlockStorage,
            Method::GET,
            &["volumes", "a b/c"],
        )
        .query("name", Some("x&y"))
        .query("status", None::<String>);
        assert_eq!(
            request.url(&base).as_str(),
            "http://h/volume/v3/p1/volumes/a%20b%2Fc?name=x%26y"
        );
    }

    /// The body of an accept-transfer request holds the auth key; `Debug` shows neither.
    #[test]
    fn debug_shows_no_body() {
        let key = Secret::new("f1e2d3c4b5a69788");
        let request = Request::new(
            "accept volume transfer",
            ServiceType::BlockStorage,
            Method::POST,
            &["volume-transfers", "t1", "accept"],
        )
        .json(&serde_json::json!({"accept": {"auth_key": key.expose()}}))
        .unwrap()
        .sensitive(&key);
        let shown = format!("{request:?} {request:#?}");
        assert!(!shown.contains("f1e2d3c4b5a69788"), "{shown}");
        assert!(!shown.contains("auth_key"), "{shown}");
        let length = request.body.as_ref().unwrap().len();
        assert!(shown.contains(&format!("<{length} bytes>")), "{shown}");
        assert!(shown.contains("accept volume transfer") && shown.contains("\"t1\""));
        let empty = Request::new("get", ServiceType::Compute, Method::GET, &["servers"]);
        assert!(format!("{empty:?}").contains("body: None"));
        let offered = reply(r#"{"transfer": {"id": "t1", "auth_key": "f1e2d3c4b5a69788"}}"#);
        let shown = format!("{offered:?}");
        assert!(!shown.contains("f1e2d3c4b5a69788"), "{shown}");
    }

    fn reply(body: &str) -> Reply {
        Reply {
            name: "list volumes",
            url: Url::parse("http://h/").unwrap(),
            microversion: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn members_and_pages() {
        let one = reply(r#"{"volume": {"id": "v1"}}"#);
        let value: Value = one.member("volume").unwrap();
        assert_eq!(value["id"], "v1");
        let error = one.member::<Value>("backup").unwrap_err();
        assert!(matches!(error.kind, ErrorKind::Decode(_)));

        let page = reply(
            r#"{"volumes": [1, 2], "volumes_links": [{"rel": "next", "href": "http://h/v?marker=2"}]}"#,
        );
        let (items, next) = page.page::<u32>("volumes").unwrap();
        assert_eq!(items, [1, 2]);
        assert_eq!(next.as_deref(), Some("http://h/v?marker=2"));
        let (items, next) = reply(r#"{"volumes": []}"#).page::<u32>("volumes").unwrap();
        assert!(items.is_empty() && next.is_none());
    }
}
