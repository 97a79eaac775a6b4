//! `PUT /import[?sr_id=<ref>|sr_uuid=<uuid>][&restore=true]`: creates VMs from an XVA archive.
//!
//! As xapi: the SR defaults to the pool's `default_SR` (`DEFAULT_SR_NOT_FOUND` when that is not
//! valid), an ISO SR gets 400 and `SR_OPERATION_NOT_SUPPORTED`, an HTTP transfer encoding 403
//! and `IMPORT_ERROR_CANNOT_HANDLE_CHUNKED`; otherwise the answer comes before the body is read.
//! The archive (plain, gzip or zstd) is read with the formats crate's reader: once `ova.xml` has
//! arrived the objects are created ([`import_records`](super::import_records)) and each disk's
//! data goes into its new VDI ([`DiskWriter`]). The import ends with the archive's end marker,
//! not with the connection. On any failure everything created is destroyed, files included;
//! on success the VMs leave their `import` operation and the task's result is the set of new
//! VMs (the snapshots only if the archive holds nothing else).
//!
//! `force` is not needed: the simulator's reader always verifies checksums, and a mismatch
//! fails the import with `IMPORT_ERROR_SOME_CHECKSUMS_FAILED`.

use std::io::Read;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use lifeboat_formats::xmlrpc::Value;
use lifeboat_formats::xva::{OVA_XML, OvaXml, XvaDisk, XvaError, XvaSink, read_xva};
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;
use tracing::debug;

use super::import_disks::DiskWriter;
use super::import_records::{self, Imported, Target};
use super::job::{Job, answer_probe};
use super::ova_export::xapi_version;
use super::request::{Params, content_length, transfer_encoding};
use super::{body_in, body_out, lookup, reply};
use crate::xapi::db::Database;
use crate::xapi::errors;
use crate::xapi::messages::vm::destroy_records;
use crate::xapi::pool::{Pool, cls};
use crate::xapi::records::map_without;
use crate::xapi::server::Body;
use crate::xapi::{chain, storage, vdi_ops};

pub async fn handle(pool: Arc<Pool>, host: &str, request: Request<Incoming>) -> Response<Body> {
    let params = Params::of(&request);
    if let Some(response) = answer_probe(&pool, &params, content_length(request.headers())) {
        return response;
    }
    let job = match Job::start(&pool, &params, host, "VM import") {
        Ok(job) => job,
        Err(response) => return *response,
    };
    if transfer_encoding(request.headers()).is_some() {
        let error = errors::import_failure("IMPORT_ERROR_CANNOT_HANDLE_CHUNKED");
        return job.refuse(StatusCode::FORBIDDEN, error);
    }
    let pool_ref = pool.pool_ref();
    let sr = match pool.read(|db| target_sr(db, &params, &pool_ref)) {
        Ok(sr) => sr,
        Err((status, error)) => return job.refuse(status, error),
    };
    let restore = params.flag("restore");
    let (status, body) = body_out::channel(None);
    let cut = pool.faults.take_cut("import");
    let reader = body_in::reader(request.into_body(), cut.map(|n| (n, status.aborter())));
    let response = reply::streaming(job.task(), None, body);
    tokio::task::spawn_blocking(move || {
        let target = Target {
            sr: &sr,
            restore,
            task: job.task(),
        };
        let outcome = import(&pool, reader, &target);
        job.finish(outcome);
        let _ = status.finish();
    });
    response
}

/// The SR the VDIs go to, or the status and error that refuse the import.
fn target_sr(
    db: &Database,
    params: &Params,
    pool_ref: &str,
) -> Result<String, (StatusCode, ApiError)> {
    let class = cls("SR");
    let not_found = |error| (StatusCode::NOT_FOUND, error);
    let sr = match (params.get("sr_id"), params.get("sr_uuid")) {
        (Some(key), _) | (None, Some(key)) => lookup::find(db, class, key).map_err(not_found)?,
        (None, None) => {
            let default = db.get_str(cls("pool"), pool_ref, "default_SR");
            if !db.exists(class, default) {
                return Err(not_found(errors::default_sr_not_found(default)));
            }
            default.to_owned()
        }
    };
    if db.get_str(class, &sr, "content_type") == "iso" {
        return Err((
            StatusCode::BAD_REQUEST,
            errors::sr_operation_not_supported(&sr),
        ));
    }
    Ok(sr)
}

/// Reads the archive into new objects; removes them all if anything fails.
fn import(pool: &Pool, body: impl Read, target: &Target) -> Outcome {
    let mut sink = ImportSink {
        pool,
        target,
        imported: Imported::default(),
        disk: None,
        refusal: None,
    };
    match read_xva(body, &mut sink) {
        Ok(_) => Ok(sink.finish()),
        Err(error) => {
            debug!(%error, "import failed");
            let refusal = sink.refusal.take();
            sink.remove_all();
            Err(refusal.unwrap_or_else(|| api_error(&error)))
        }
    }
}

/// What xapi reports for an archive that cannot be imported.
fn api_error(error: &lifeboat_formats::Error) -> ApiError {
    match error {
        lifeboat_formats::Error::Xva(xva) => match xva {
            XvaError::ChecksumMismatch { .. } => {
                errors::import_failure("IMPORT_ERROR_SOME_CHECKSUMS_FAILED")
            }
            XvaError::Truncated { .. } | XvaError::Read { .. } => {
                errors::import_failure("IMPORT_ERROR_PREMATURE_EOF")
            }
            XvaError::FirstEntryNotOvaXml { .. } => {
                errors::import_failure("IMPORT_ERROR_UNEXPECTED_FILE")
            }
            other => errors::import_error(other.to_string()),
        },
        other => errors::import_error(other.to_string()),
    }
}

/// Receives the archive: creates the objects, then writes each disk.
struct ImportSink<'a> {
    pool: &'a Pool,
    target: &'a Target<'a>,
    imported: Imported,
    disk: Option<DiskWriter>,
    /// The API error that stopped the import, when it was not the archive's fault.
    refusal: Option<ApiError>,
}

impl ImportSink<'_> {
    /// Ends the import: the VMs leave their `import` operation. Returns the task's result.
    fn finish(self) -> Value {
        let task = self.target.task;
        self.pool.write(|db| {
            for (vm, _) in &self.imported.vms {
                let running = db.get(cls("VM"), vm, "current_operations").cloned();
                let left = map_without(&running.unwrap_or(Value::Struct(Vec::new())), &[task]);
                db.set(cls("VM"), vm, "current_operations", left);
            }
        });
        let vms = &self.imported.vms;
        let plain: Vec<&String> = vms.iter().filter(|(_, s)| !s).map(|(vm, _)| vm).collect();
        let chosen = if plain.is_empty() {
            vms.iter().map(|(vm, _)| vm).collect()
        } else {
            plain
        };
        Value::Array(chosen.into_iter().map(Value::string).collect())
    }

    /// Destroys every object created and its files.
    fn remove_all(mut self) {
        self.disk = None;
        self.pool.write(|db| {
            for (vm, _) in &self.imported.vms {
                destroy_records(db, vm);
            }
            for vdi in self.imported.disks.values() {
                if vdi_ops::destroy(self.pool, db, vdi).is_err() {
                    // The record goes even if its file resists, so nothing looks imported.
                    db.destroy(cls("VDI"), vdi);
                }
            }
        });
    }

    /// Stops the import with an API error of the simulator's own (the reader only passes on
    /// format errors).
    fn refuse(&mut self, error: ApiError) -> lifeboat_formats::Error {
        let problem = error.to_string();
        self.refusal = Some(error);
        lifeboat_formats::Error::Incompatible {
            path: OVA_XML.into(),
            problem,
        }
    }
}

impl XvaSink for ImportSink<'_> {
    fn begin_archive(&mut self, ova: &OvaXml) -> lifeboat_formats::Result<()> {
        let ours = self.pool.master_ref();
        let too_new = self.pool.read(|db| newer_than_host(db, ova, &ours));
        if too_new {
            return Err(self.refuse(errors::import_failure("IMPORT_INCOMPATIBLE_VERSION")));
        }
        let (pool, target) = (self.pool, self.target);
        let imported = &mut self.imported;
        let created = pool.write(|db| import_records::create(pool, db, ova, target, imported));
        created.map_err(|error| self.refuse(error))
    }

    fn begin_disk(&mut self, disk: &XvaDisk) -> lifeboat_formats::Result<()> {
        let vdi = &self.imported.disks[&disk.id];
        let (file, size) = self.pool.read(|db| {
            let file = storage::vdi_file(db, &self.pool.storage_root, vdi);
            (file, db.get_int(cls("VDI"), vdi, "virtual_size"))
        });
        let Some(file) = file else {
            return Err(self.refuse(errors::handle_invalid("VDI", vdi)));
        };
        self.disk = Some(DiskWriter::create(&file, size as u64)?);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> lifeboat_formats::Result<()> {
        match &mut self.disk {
            Some(disk) => disk.write_at(offset, data),
            None => Ok(()),
        }
    }

    fn end_disk(&mut self, disk: &XvaDisk) -> lifeboat_formats::Result<()> {
        if let Some(writer) = self.disk.take() {
            writer.finish()?;
        }
        let vdi = &self.imported.disks[&disk.id];
        self.pool.write(|db| {
            let sr = db.get_str(cls("VDI"), vdi, "SR");
            let dir = storage::sr_dir(&self.pool.storage_root, db.get_str(cls("SR"), sr, "uuid"));
            let used = chain::utilisation(&dir, db.get_str(cls("VDI"), vdi, "uuid"));
            db.set(
                cls("VDI"),
                vdi,
                "physical_utilisation",
                Value::Int(used as i64),
            );
        });
        Ok(())
    }
}

/// Whether the archive comes from a newer xapi than the importing host's.
fn newer_than_host(db: &Database, ova: &OvaXml, host: &str) -> bool {
    (ova.version.xapi_major, ova.version.xapi_minor) > xapi_version(db, host)
}
