//! One RPC round trip over HTTP in either encoding.
//!
//! JSON-RPC goes to `POST /jsonrpc`, XML-RPC to `POST /`. xapi answers API failures with HTTP 200
//! and the failure in the body; any other status, or a body of the wrong content type, means the
//! host does not speak that encoding (or is not xapi at all), which [`RpcError::Unsupported`]
//! reports so that the login can fall back from JSON-RPC to XML-RPC.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use url::Url;

use crate::wire::{self, Call, Encoding, Outcome, WireError};

/// Why a round trip produced no outcome.
#[derive(Debug)]
pub(crate) enum RpcError {
    /// No connection, or it broke.
    Transport(reqwest::Error),
    /// The host does not answer this encoding: wrong status or content type.
    Unsupported { status: u16, content_type: String },
    /// An answer that is not a valid message.
    Wire(WireError),
}

/// Sends `call` to `base` and decodes the outcome.
pub(crate) async fn round_trip(
    http: &reqwest::Client,
    base: &Url,
    encoding: Encoding,
    call: &Call,
    timeout: Duration,
) -> Result<Outcome, RpcError> {
    let (path, body, content_type) = match encoding {
        Encoding::Json => {
            let request = wire::json::Request {
                version: wire::json::Version::V2,
                id: serde_json::Value::from(0),
                call: call.clone(),
            };
            ("jsonrpc", request.to_json(), "application/json")
        }
        Encoding::Xml => ("", wire::xml::encode_call(call), "text/xml"),
    };
    let url = base.join(path).map_err(|e| {
        RpcError::Wire(WireError {
            encoding,
            problem: format!("cannot build the request URL: {e}"),
        })
    })?;
    let response = http
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(RpcError::Transport)?;
    let status = response.status().as_u16();
    let received_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let expected_type = match encoding {
        Encoding::Json => received_type.starts_with("application/json"),
        Encoding::Xml => {
            received_type.starts_with("text/xml") || received_type.starts_with("application/xml")
        }
    };
    if status != 200 || !expected_type {
        return Err(RpcError::Unsupported {
            status,
            content_type: received_type,
        });
    }
    let body = response.bytes().await.map_err(RpcError::Transport)?;
    match encoding {
        Encoding::Json => wire::json::decode_response(&body),
        Encoding::Xml => wire::xml::decode_response(&body),
    }
    .map_err(RpcError::Wire)
}
