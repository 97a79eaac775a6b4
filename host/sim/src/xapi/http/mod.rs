//! XAPI's HTTP data handlers: `GET /export_raw_vdi` and `PUT /import_raw_vdi` move one disk as
//! raw bytes or a VHD, `GET /export` and `PUT /import` move a whole VM as an XVA.
//!
//! Every handler authenticates and binds its work to a task first ([`job`]), checks what it can
//! before answering (so that refusals carry an HTTP status), then moves the data on a blocking
//! thread. Request and response bodies reach that thread through bounded channels
//! ([`body_in`], [`body_out`]), so memory stays bounded whatever the size of the disk.

mod body_in;
mod body_out;
mod export;
mod export_raw_vdi;
mod import;
mod import_disks;
mod import_raw_vdi;
mod import_records;
mod job;
mod lookup;
mod ova_export;
mod raw_vdi_source;
mod reply;
mod request;
mod staging;

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::pool::Pool;
use super::server::{Body, plain};

/// Routes a GET or PUT to its handler (with or without a trailing slash, as xapi accepts).
pub async fn handle(pool: Arc<Pool>, host: &str, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path();
    let path = path.strip_suffix('/').unwrap_or(path).to_owned();
    match (request.method(), path.as_str()) {
        (&Method::GET, "/export_raw_vdi") => export_raw_vdi::handle(pool, host, request).await,
        (&Method::PUT, "/import_raw_vdi") => import_raw_vdi::handle(pool, host, request).await,
        (&Method::GET, "/export") => export::handle(pool, host, request).await,
        (&Method::PUT, "/import") => import::handle(pool, host, request).await,
        _ => plain(
            StatusCode::NOT_FOUND,
            &format!("no handler for {} {path}", request.method()),
        ),
    }
}
