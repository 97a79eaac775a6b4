//! The HTTP face of a simulated host: XAPI's RPC endpoints and data handlers on one listener.
//!
//! Routing follows xapi's longest-prefix rule: `POST /jsonrpc` is JSON-RPC, every other POST
//! path (`/`, `/RPC2`, `/xmlrpc`, …) is XML-RPC; `/export`, `/export_raw_vdi`, `/import` and
//! `/import_raw_vdi` (with or without a trailing slash or query) are the data handlers. API
//! failures travel in the body with HTTP 200; a body that is not a valid call gets xapi's
//! HTTP 500 page and the connection is closed. RPC bodies are bounded.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use lifeboat_xapi::wire::{self, Encoding};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::dispatch::{Reply, dispatch};
use super::pool::Pool;
use crate::listener::serve_connections;

/// Largest RPC request body accepted. Real calls are kilobytes; records passed to `create`
/// stay far below this.
pub const MAX_RPC_BODY: usize = 16 * 1024 * 1024;

pub use crate::listener::Body;

/// Serves `pool` as host `host` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    pool: Arc<Pool>,
    host: String,
    shutdown: watch::Receiver<bool>,
) {
    let host: Arc<str> = host.into();
    serve_connections(listener, shutdown, move |request| {
        let pool = pool.clone();
        let host = host.clone();
        async move { handle(pool, &host, request).await }
    })
    .await;
}

async fn handle(pool: Arc<Pool>, host: &str, request: Request<Incoming>) -> Response<Body> {
    while pool.faults.unresponsive() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let path = request.uri().path().to_owned();
    match *request.method() {
        Method::POST => rpc(pool, host, request, &path).await,
        Method::OPTIONS => cors(Response::builder().status(StatusCode::OK))
            .body(empty())
            .expect("a static response is valid"),
        Method::GET | Method::PUT => super::http::handle(pool, host, request).await,
        _ => plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    }
}

async fn rpc(
    pool: Arc<Pool>,
    host: &str,
    request: Request<Incoming>,
    path: &str,
) -> Response<Body> {
    let encoding = if path.starts_with("/jsonrpc") {
        Encoding::Json
    } else {
        Encoding::Xml
    };
    let body = match Limited::new(request.into_body(), MAX_RPC_BODY)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        Err(_) => return internal_error_page(),
    };
    match encoding {
        Encoding::Json => {
            let Ok(request) = wire::json::Request::parse(&body) else {
                return internal_error_page();
            };
            let outcome = match dispatch(&pool, host, request.call).await {
                Reply::Outcome(outcome) => outcome,
                Reply::Unwrapped(value) => Ok(value),
            };
            let body = wire::json::encode_response(request.version, &request.id, &outcome);
            rpc_response("application/json", body)
        }
        Encoding::Xml => {
            let Ok(call) = wire::xml::decode_call(&body) else {
                return internal_error_page();
            };
            let body = match dispatch(&pool, host, call).await {
                Reply::Outcome(outcome) => wire::xml::encode_response(&outcome),
                Reply::Unwrapped(value) => wire::xml::encode_unwrapped(&value),
            };
            rpc_response("text/xml", body)
        }
    }
}

fn cors(builder: http::response::Builder) -> http::response::Builder {
    builder
        .header("Access-Control-Allow-Origin", "*")
        .header("Access-Control-Allow-Headers", "X-Requested-With")
}

fn rpc_response(content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    cors(Response::builder().status(StatusCode::OK))
        .header(header::CONTENT_TYPE, HeaderValue::from_static(content_type))
        .body(full(body))
        .expect("a response with static headers is valid")
}

/// xapi's answer to a request it cannot parse.
pub fn internal_error_page() -> Response<Body> {
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .header(header::CONNECTION, "close")
        .header(header::CONTENT_TYPE, "text/html")
        .body(full(
            b"<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; \
              please wait a while and try again. If the problem persists, please contact your \
              support representative.</body></html>"
                .to_vec(),
        ))
        .expect("a static response is valid")
}

/// A short plain-text response.
pub fn plain(status: StatusCode, text: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(full(text.as_bytes().to_vec()))
        .expect("a static response is valid")
}

pub fn full(bytes: Vec<u8>) -> Body {
    Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> Body {
    full(Vec::new())
}
