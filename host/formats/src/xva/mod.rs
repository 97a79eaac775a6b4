//! XAPI's XVA format: a tar of `ova.xml` followed by each disk as checksummed 1 MiB chunks.
//!
//! An XVA is what xapi's `/export` produces and `/import` consumes: a tar stream (optionally
//! gzip- or zstd-compressed) whose first entry, `ova.xml`, is an XML-RPC value describing the VM
//! and its objects, followed for each disk by entries `Ref:<n>/<8-digit chunk number>` of up to
//! 1 MiB, each followed by a `.xxhash` (or older `.checksum`) entry.
//!
//! - [`OvaXml`] decodes and encodes `ova.xml` (its data model is XML-RPC's [`Value`]);
//!   [`OvaXml::for_vm`] builds one for a fresh export and [`OvaXml::disks`] lists the disks.
//! - [`XvaWriter`] streams an archive from [`DiskRead`](crate::disk::DiskRead) disks.
//! - [`OvaXmlEditor`] rewrites `ova.xml` in an archive as it streams past.
//! - [`read_xva`] streams an archive into an [`XvaSink`], verifying checksums;
//!   [`check_xva`] only verifies. [`fuzz_read`] is the fuzzing entry point.
//!
//! Errors are [`XvaError`]s (wrapped in [`crate::Error::Xva`]) naming the entry at fault.

mod chunk;
mod compression;
mod error;
mod head_edit;
mod ova;
mod ova_build;
mod reader;
mod tar_read;
mod tar_write;
mod writer;

pub use crate::xmlrpc::{MAX_VALUE_DEPTH, Value};
pub use chunk::CHUNK_SIZE;
pub use compression::Compression;
pub use error::XvaError;
pub use head_edit::{OvaXmlEditor, Pushed};
pub use ova::{ExportVersion, MAX_OVA_XML_SIZE, OVA_XML, OvaObject, OvaXml, XvaDisk};
pub use ova_build::EXPORT_VSN;
pub use reader::{XvaSink, XvaSummary, check_xva, fuzz_read, read_xva};
pub use writer::{XvaWriteSummary, XvaWriter};
