//! Typed errors of the XVA reader and writer.
//!
//! Every variant names the archive entry it is about (`ova.xml`, a chunk such as `Ref:3/00000012`,
//! or a disk such as `Ref:3`) so that a user can find the broken part of a multi-gigabyte archive.

use std::io;

/// An XVA archive that is malformed or corrupt, or that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum XvaError {
    /// A chunk's content does not match its checksum entry.
    #[error("{entry}: checksum mismatch: archive says {expected}, data hashes to {actual}")]
    ChecksumMismatch {
        entry: String,
        expected: String,
        actual: String,
    },

    /// A checksum entry whose content is not a checksum (16 hex digits for `.xxhash`, 40 for
    /// `.checksum`).
    #[error("{entry}: invalid checksum entry: {problem}")]
    InvalidChecksum { entry: String, problem: String },

    /// A chunk is not followed by its checksum entry although `ova.xml` promises inline checksums.
    #[error(
        "{entry}: expected its checksum entry (export_vsn {export_vsn} promises one) but found {found}"
    )]
    MissingChecksum {
        entry: String,
        found: String,
        export_vsn: u64,
    },

    /// The archive does not start with `ova.xml`.
    #[error("{entry}: the first entry of an XVA archive must be ova.xml")]
    FirstEntryNotOvaXml { entry: String },

    /// The archive ends before what it declares is complete.
    #[error("{entry}: archive is truncated: {detail}")]
    Truncated { entry: String, detail: String },

    /// Reading (or decompressing) the archive failed.
    #[error("{entry}: read failed: {source}")]
    Read {
        entry: String,
        #[source]
        source: io::Error,
    },

    /// Writing (or compressing) the archive failed.
    #[error("{entry}: write failed: {source}")]
    Write {
        entry: String,
        #[source]
        source: io::Error,
    },

    /// A tar header that cannot be decoded.
    #[error("{entry}: invalid tar header: `{field}` {problem}")]
    InvalidTarHeader {
        entry: String,
        field: &'static str,
        problem: String,
    },

    /// A tar entry that is not a regular file (XVA archives hold nothing else).
    #[error(
        "{entry}: unsupported tar entry type {type_flag:?}; XVA archives hold only regular files"
    )]
    UnsupportedEntryType { entry: String, type_flag: char },

    /// An entry declares more bytes than an entry of its kind may hold.
    #[error("{entry}: declares {size} bytes, more than the {limit} bytes such an entry may hold")]
    EntryTooLarge {
        entry: String,
        size: u64,
        limit: u64,
    },

    /// XML that is not a well-formed XML-RPC value.
    #[error("{entry}: {source}")]
    MalformedXml {
        entry: String,
        #[source]
        source: crate::xmlrpc::XmlRpcError,
    },

    /// Well-formed XML whose content is not what an XVA's `ova.xml` must hold.
    #[error("{entry}: invalid `{field}`: {problem}")]
    InvalidOvaXml {
        entry: String,
        field: String,
        problem: String,
    },

    /// An entry that does not belong where it is (unknown disk, another disk's chunk, trailing
    /// entries).
    #[error("{entry}: unexpected entry, expected {expected}")]
    UnexpectedEntry { entry: String, expected: String },

    /// A chunk number that is not greater than the previous one of the same disk.
    #[error("{entry}: chunk number {number} does not follow the previous chunk {previous}")]
    ChunkOutOfOrder {
        entry: String,
        number: u64,
        previous: u64,
    },

    /// A chunk that would end past the disk's virtual size.
    #[error(
        "{entry}: chunk of {len} bytes at offset {offset} ends past the disk's virtual size {virtual_size}"
    )]
    ChunkPastEnd {
        entry: String,
        offset: u64,
        len: u64,
        virtual_size: u64,
    },

    /// The disks handed to the writer do not match the disks that `ova.xml` declares.
    #[error("{entry}: {problem}")]
    DiskMismatch { entry: String, problem: String },
}
