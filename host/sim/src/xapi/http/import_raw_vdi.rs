//! `PUT /import_raw_vdi?vdi=<ref|uuid>&format=raw|vhd`: writes an uploaded image into an existing
//! VDI.
//!
//! A VHD writes the sectors whose bitmap bit is set in its allocated blocks and leaves the rest
//! of the disk as it was, so a differencing VHD applied to a clone of its base reproduces the
//! exported disk. A raw image overwrites the disk from its start, except that all-zero blocks
//! where the chain holds nothing are skipped (they already read as zeros).
//!
//! The upload is complete when the VHD's trailing footer arrives (a raw image: when its declared
//! length has arrived), not when the connection closes: Xen Orchestra announces 1 PiB for
//! uploads of unknown length and closes the connection after the data. The blocks are staged
//! ([`Staging`]) and written into the VDI only then, so an upload that breaks fails the task
//! with `VDI_IO_ERROR` and leaves the VDI's data as it was.
//!
//! Also as xapi: an HTTP transfer encoding gets 404 and `INTERNAL_ERROR ["Cannot handle
//! encoding: <encoding>"]`. The task's result is the VDI's reference.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, is_zero};
use lifeboat_formats::vhd::VhdStreamReader;
use lifeboat_formats::xmlrpc::Value;
use lifeboat_formats::{Error, Result};
use tracing::debug;

use super::job::{Job, answer_probe};
use super::raw_vdi_source::Format;
use super::request::{Params, content_length, transfer_encoding};
use super::staging::Staging;
use super::{body_in, body_out, lookup, reply};
use crate::xapi::errors;
use crate::xapi::pool::{Pool, cls};
use crate::xapi::server::Body;
use crate::xapi::storage;

/// How the body is named in errors.
const LABEL: &str = "import_raw_vdi body";

pub async fn handle(pool: Arc<Pool>, host: &str, request: Request<Incoming>) -> Response<Body> {
    let params = Params::of(&request);
    let length = content_length(request.headers());
    if let Some(response) = answer_probe(&pool, &params, length) {
        return response;
    }
    let job = match Job::start(&pool, &params, host, "VDI import") {
        Ok(job) => job,
        Err(response) => return *response,
    };
    if let Some(encoding) = transfer_encoding(request.headers()) {
        let error = errors::internal(format!("Cannot handle encoding: {encoding}"));
        return job.refuse(StatusCode::NOT_FOUND, error);
    }
    let format_name = params.get("format").unwrap_or("raw");
    let Some(format) = Format::parse(format_name) else {
        let error = errors::internal(format!("Unknown format {format_name}"));
        return job.refuse(StatusCode::NOT_FOUND, error);
    };
    let Some(key) = params.get("vdi") else {
        let error = errors::internal("the simulator imports only into an existing VDI (vdi=)");
        return job.refuse(StatusCode::BAD_REQUEST, error);
    };
    let target = pool.read(|db| {
        let vdi = lookup::find(db, cls("VDI"), key)?;
        let file = storage::vdi_file(db, &pool.storage_root, &vdi)
            .ok_or_else(|| errors::handle_invalid("VDI", &vdi))?;
        Ok((vdi, file))
    });
    let (vdi, file) = match target {
        Ok(target) => target,
        Err(error) => return job.refuse(StatusCode::NOT_FOUND, error),
    };

    let (status, body) = body_out::channel(None);
    let cut = pool.faults.take_cut("import_raw_vdi");
    let reader = body_in::reader(request.into_body(), cut.map(|n| (n, status.aborter())));
    let response = reply::streaming(job.task(), None, body);
    tokio::task::spawn_blocking(move || {
        match import(reader, format, length.unwrap_or(0), &file) {
            Ok(allocated) => {
                let used = i64::from(allocated) * i64::from(DEFAULT_BLOCK_SIZE);
                pool.write(|db| db.set(cls("VDI"), &vdi, "physical_utilisation", Value::Int(used)));
                job.finish(Ok(Value::String(vdi)));
            }
            Err(error) => {
                debug!(%error, "import_raw_vdi failed");
                job.finish(Err(errors::vdi_io_error()));
            }
        }
        let _ = status.finish();
    });
    response
}

/// Reads the whole upload, then writes it into the VDI whose leaf is `leaf`; returns the leaf's
/// allocated blocks.
fn import(body: impl Read, format: Format, length: u64, leaf: &Path) -> Result<u32> {
    let mut staging = Staging::new(leaf)?;
    match format {
        Format::Vhd => stage_vhd(body, &mut staging)?,
        Format::Raw => stage_raw(body, length, &mut staging)?,
    }
    staging.commit(leaf)
}

/// Stages the bitmap-set sectors of every allocated block.
fn stage_vhd(body: impl Read, staging: &mut Staging) -> Result<()> {
    let mut stream = VhdStreamReader::new(body, LABEL)?;
    let size = stream.footer().current_size;
    if size > staging.virtual_size() {
        return Err(too_large(size, staging.virtual_size()));
    }
    while let Some(block) = stream.next_block()? {
        for (offset, data) in block.runs() {
            staging.write(offset, data)?;
        }
    }
    Ok(())
}

/// Stages `length` bytes of raw image from the start of the disk.
fn stage_raw(mut body: impl Read, length: u64, staging: &mut Staging) -> Result<()> {
    if length > staging.virtual_size() {
        return Err(too_large(length, staging.virtual_size()));
    }
    let block_size = u64::from(DEFAULT_BLOCK_SIZE);
    let mut buffer = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    let mut offset = 0;
    while offset < length {
        let data = &mut buffer[..(length - offset).min(block_size) as usize];
        body.read_exact(data)
            .map_err(|source| Error::io(PathBuf::from(LABEL), source))?;
        let block = (offset / block_size) as u32;
        if !is_zero(data) || staging.is_allocated(block) {
            staging.write(offset, data)?;
        }
        offset += data.len() as u64;
    }
    Ok(())
}

fn too_large(size: u64, virtual_size: u64) -> Error {
    Error::Incompatible {
        path: PathBuf::from(LABEL),
        problem: format!("{size} bytes do not fit the VDI's {virtual_size}"),
    }
}
