//! `GET /export_raw_vdi?vdi=<ref|uuid>&format=raw|vhd[&base=<ref|uuid>]`: one disk as a raw
//! image or a VHD, whole or as the blocks changed since `base` ([`RawVdiSource`]).
//!
//! The chains are opened and the blocks chosen before answering, so a missing VDI or a damaged
//! file gets an error status; the data then streams from a blocking thread. An unknown format
//! gets 404 and fails the task with `INTERNAL_ERROR ["Unknown format <f>"]`.

use std::io::Write;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;
use tracing::debug;

use super::body_out;
use super::job::Job;
use super::lookup;
use super::raw_vdi_source::{Format, RawVdiSource};
use super::reply;
use super::request::Params;
use crate::xapi::errors;
use crate::xapi::pool::{Pool, cls};
use crate::xapi::server::Body;
use crate::xapi::storage;

pub async fn handle(pool: Arc<Pool>, host: &str, request: Request<Incoming>) -> Response<Body> {
    let params = Params::of(&request);
    let job = match Job::start(&pool, &params, host, "VDI export") {
        Ok(job) => job,
        Err(response) => return *response,
    };
    let format_name = params.get("format").unwrap_or("raw");
    let Some(format) = Format::parse(format_name) else {
        let error = errors::internal(format!("Unknown format {format_name}"));
        return job.refuse(StatusCode::NOT_FOUND, error);
    };
    let files = pool.read(|db| {
        let locate = |key: &str| -> Result<_, ApiError> {
            let vdi = lookup::find(db, cls("VDI"), key)?;
            let file = storage::vdi_file(db, &pool.storage_root, &vdi)
                .ok_or_else(|| errors::handle_invalid("VDI", &vdi))?;
            Ok((file, db.get_str(cls("VDI"), &vdi, "uuid").to_owned()))
        };
        let (file, uuid) = locate(params.get("vdi").unwrap_or_default())?;
        let base_file = params.get("base").map(locate).transpose()?;
        Ok((file, base_file.map(|(base_file, _)| base_file), uuid))
    });
    let (file, base_file, uuid) = match files {
        Ok(files) => files,
        Err(error) => return job.refuse(StatusCode::NOT_FOUND, error),
    };
    let opened = tokio::task::spawn_blocking(move || {
        RawVdiSource::open(&file, base_file.as_deref(), format)
    })
    .await;
    let source = match opened {
        Ok(Ok(source)) => source,
        Ok(Err(error)) => {
            debug!(%error, "export_raw_vdi cannot read the disk");
            return job.refuse(StatusCode::INTERNAL_SERVER_ERROR, errors::vdi_io_error());
        }
        Err(error) => {
            let error = errors::internal(format!("export failed: {error}"));
            return job.refuse(StatusCode::INTERNAL_SERVER_ERROR, error);
        }
    };
    let (mut writer, body) = body_out::channel(pool.faults.take_cut("export_raw_vdi"));
    let content = (
        format.content_type(),
        format!("{uuid}.{}", format.extension()),
    );
    let response = reply::streaming(job.task(), Some(content), body);
    tokio::task::spawn_blocking(move || {
        let written = source.write_to(&mut writer).and_then(|()| writer.flush());
        match written {
            Ok(()) => {
                job.finish(Ok(Value::string("")));
                let _ = writer.finish();
            }
            Err(error) => {
                debug!(%error, "export_raw_vdi stopped");
                job.finish(Err(errors::internal(error.to_string())));
                writer.abort();
            }
        }
    });
    response
}
