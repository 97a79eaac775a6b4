//! XAPI's HTTP data handlers (`/export`, `/export_raw_vdi`, `/import`, `/import_raw_vdi`).

use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;

use super::pool::Pool;
use super::server::{Body, plain};

/// Routes a GET or PUT to its handler.
pub async fn handle(_pool: Arc<Pool>, _host: &str, request: Request<Incoming>) -> Response<Body> {
    plain(
        StatusCode::NOT_FOUND,
        &format!("no handler for {}", request.uri().path()),
    )
}
