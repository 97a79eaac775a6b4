//! `GET /export?ref=<vm>|uuid=<vm>[&use_compression=true|gzip|zstd]`: a VM as an XVA archive.
//!
//! The export is a VM operation: `blocked_operations["export"]` fails it with
//! `OPERATION_BLOCKED`, a VM that is not halted or suspended with `VM_BAD_POWER_STATE`, and while
//! it runs the VM lists it in `current_operations`. Those checks and the opening of the disks
//! happen before the answer, so a refusal gets an error status (xapi's handler answers 500 for
//! the errors its checks raise). The archive ([`ova_export`](super::ova_export) plus the disks'
//! chunks, through the formats crate's [`XvaWriter`]) then streams from a blocking thread and
//! ends with the connection; the task's result is empty.

use std::collections::HashMap;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::vhd::VhdChain;
use lifeboat_formats::xmlrpc::Value;
use lifeboat_formats::xva::{Compression, OvaXml, XvaWriter};
use lifeboat_xapi::ApiError;
use tokio::sync::oneshot;
use tracing::debug;

use super::body_out::{self, BodyWriter};
use super::job::Job;
use super::request::Params;
use super::{lookup, ova_export, reply};
use crate::xapi::errors;
use crate::xapi::operations;
use crate::xapi::pool::{Pool, cls};
use crate::xapi::server::Body;
use crate::xapi::storage;

pub async fn handle(pool: Arc<Pool>, host: &str, request: Request<Incoming>) -> Response<Body> {
    let params = Params::of(&request);
    let job = match Job::start(&pool, &params, host, "VM export") {
        Ok(job) => job,
        Err(response) => return *response,
    };
    // xapi takes anything else (`false` included) as no compression.
    let compression = match params.get("use_compression") {
        Some("true" | "gzip") => Compression::Gzip,
        Some("zstd") => Compression::Zstd,
        _ => Compression::None,
    };
    let key = params.get("ref").or(params.get("uuid")).unwrap_or_default();
    let vm = match pool.read(|db| lookup::find(db, cls("VM"), key)) {
        Ok(vm) => vm,
        Err(error) => return job.refuse(StatusCode::NOT_FOUND, error),
    };
    let task = job.task().to_owned();
    let (writer, body) = body_out::channel(pool.faults.take_cut("export"));
    let (ready, started) = oneshot::channel();
    tokio::task::spawn_blocking(move || export(&pool, &vm, compression, job, writer, ready));
    match started.await {
        Ok(true) => {
            let content = ("application/octet-stream", "export.xva".to_owned());
            reply::streaming(&task, Some(content), body)
        }
        _ => reply::status(StatusCode::INTERNAL_SERVER_ERROR, Some(&task)),
    }
}

/// Runs the export on a blocking thread; `ready` says whether the data follows.
fn export(
    pool: &Pool,
    vm: &str,
    compression: Compression,
    job: Job,
    writer: BodyWriter,
    ready: oneshot::Sender<bool>,
) {
    let prepared = operations::begin(pool, vm, "export", Some(job.task()))
        .and_then(|running| Ok((running, prepare(pool, vm)?)));
    let (running, (ova, mut disks)) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            job.finish(Err(error));
            let _ = ready.send(false);
            return;
        }
    };
    let _ = ready.send(true);
    let aborter = writer.aborter();
    let mut refs: Vec<&mut dyn DiskRead> =
        disks.iter_mut().map(|d| d as &mut dyn DiskRead).collect();
    let written = XvaWriter::new(writer, compression)
        .and_then(|xva| xva.write(&ova, &mut refs, &mut |_, _| {}));
    drop(running);
    match written {
        Ok((writer, _)) => {
            job.finish(Ok(Value::string("")));
            let _ = writer.finish();
        }
        Err(error) => {
            debug!(%error, "export stopped");
            job.finish(Err(errors::internal(error.to_string())));
            aborter.abort();
        }
    }
}

/// The archive's metadata and the chains of the disks it carries, in archive order.
fn prepare(pool: &Pool, vm: &str) -> Result<(OvaXml, Vec<VhdChain>), ApiError> {
    let master = pool.master_ref();
    let (ova, files) = pool.read(|db| {
        let (ova, vdis) = ova_export::build(db, vm, &master);
        let files: HashMap<String, _> = vdis
            .into_iter()
            .filter_map(|(id, vdi)| Some((id, storage::vdi_file(db, &pool.storage_root, &vdi)?)))
            .collect();
        (ova, files)
    });
    let disks = ova.disks().map_err(|e| errors::internal(e.to_string()))?;
    let chains = disks
        .iter()
        .map(|disk| {
            let file = files
                .get(&disk.id)
                .ok_or_else(|| errors::internal(format!("no file for disk {}", disk.id)))?;
            VhdChain::open(file).map_err(|error| {
                debug!(%error, "export cannot read a disk");
                errors::vdi_io_error()
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((ova, chains))
}
