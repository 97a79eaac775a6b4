//! Lifeboat's remotes: the backup repositories that backups write to and restores read from.
//!
//! A remote is storage behind one [`Backend`] trait, whatever holds it:
//!
//! - [`LocalFolder`]: a folder of this machine, opened through `cap-std`, so that no path,
//!   symbolic links included, can lead outside its root. NFS and SMB shares are local folders
//!   once the host has mounted them (as Xen Orchestra uses them too).
//! - [`S3Store`]: an S3 bucket (or an S3-compatible store) through `object_store`, under a
//!   prefix, with path-style addressing, multipart uploads and retries.
//!
//! Paths are [`RemotePath`]s: `/`-separated names relative to the remote's root, never
//! absolute and never holding `..`. [`RemoteUrl`] reads Xen Orchestra's remote URLs
//! (`file:///path`, `s3://KEY@host/bucket/prefix`). Xen Orchestra's layout (the backup folders,
//! metadata and merges) is built on top of this crate, not in it.

mod backend;
mod error;
mod local;
mod lock;
mod path;
mod s3;
mod url;

pub use backend::{Backend, Committed, Entry, EntryKind, Opened, ReadStream, Upload};
pub use error::{RemoteError, RemoteErrorKind, Result};
pub use local::LocalFolder;
pub use lock::FolderLock;
pub use path::RemotePath;
pub use s3::{S3Credentials, S3Store};
pub use url::{RemoteUrl, S3Location};
