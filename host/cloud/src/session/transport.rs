//! One HTTP exchange: send a request, read the answer's body up to a bound.
//!
//! Bodies are read chunk by chunk and refused past [`MAX_BODY`], so a hostile or broken server
//! cannot make the client hold an unbounded answer in memory.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::Method;
use reqwest::header::HeaderMap;
use url::Url;

use crate::error::ErrorKind;

/// The largest answer the client reads. Lists of a few thousand volumes or servers are a few
/// MiB; no answer of the APIs used comes close to this.
pub(crate) const MAX_BODY: usize = 16 << 20;

/// An answer, whatever its status.
pub(crate) struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Exchange {
    /// The value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The id the cloud logged the request under.
    pub fn request_id(&self) -> Option<String> {
        self.header("x-openstack-request-id")
            .or_else(|| self.header("x-compute-request-id"))
            .map(str::to_owned)
    }
}

/// Sends one request and reads its answer.
pub(crate) async fn exchange(
    http: &reqwest::Client,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Exchange, ErrorKind> {
    let mut request = http.request(method, url).headers(headers).timeout(timeout);
    if let Some(body) = body {
        request = request.body(body);
    }
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ErrorKind::Decode(format!(
                "the answer (HTTP {status}) is larger than {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Exchange {
        status,
        headers,
        body: body.freeze(),
    })
}

/// A transport failure with its causes, which reqwest keeps out of its own message.
fn transport(error: reqwest::Error) -> ErrorKind {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ErrorKind::Transport(message)
}
