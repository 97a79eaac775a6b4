//! The one trait every remote's storage implements.

use std::ops::Range;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::error::Result;
use crate::lock::FolderLock;
use crate::path::RemotePath;

/// Whether an entry is a file or a folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// One entry of a folder, or what [`Backend::stat`] finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    /// Bytes, for a file; 0 for a folder.
    pub size: u64,
    /// When it was last written, where the storage says (S3 folders have no such time).
    pub modified: Option<SystemTime>,
}

/// Bytes read from a remote as they arrive.
pub type ReadStream = Pin<Box<dyn AsyncRead + Send>>;

/// A file opened for reading: its bytes, and how many the stream yields.
pub struct Opened {
    pub stream: ReadStream,
    pub size: u64,
}

/// What a committed upload wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    pub size: u64,
    /// How many parts it was sent in: 1 for a local file or a single S3 request.
    pub parts: u32,
}

/// The storage of a remote. Every path is relative to the remote's root and stays inside it.
///
/// Writes are all-or-nothing: [`write`](Backend::write) and a committed [`Upload`] make a file
/// appear whole under its name or not at all, even when the process is killed half-way.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The remote's name, as errors name it.
    fn name(&self) -> &str;

    /// Where the remote is (a folder, or an S3 URL without credentials), for messages.
    fn location(&self) -> String;

    /// The entries of a folder, sorted by name; an absent folder has none.
    async fn list(&self, dir: &RemotePath) -> Result<Vec<Entry>>;

    /// What is at `path`, or [`RemoteError::NotFound`](crate::RemoteError::NotFound).
    async fn stat(&self, path: &RemotePath) -> Result<Entry>;

    /// A whole file of at most `limit` bytes.
    async fn read(&self, path: &RemotePath, limit: u64) -> Result<Bytes>;

    /// Writes a whole file atomically, creating its folder: written under a temporary name,
    /// made durable, then renamed over `path`.
    async fn write(&self, path: &RemotePath, data: Bytes) -> Result<()>;

    /// Renames a file or a folder, replacing a file at `to`.
    async fn rename(&self, from: &RemotePath, to: &RemotePath) -> Result<()>;

    /// Deletes a file, or a folder with everything in it; nothing to delete is not an error.
    async fn delete(&self, path: &RemotePath) -> Result<()>;

    /// Opens a file for reading, whole or the bytes of `range`.
    async fn open(&self, path: &RemotePath, range: Option<Range<u64>>) -> Result<Opened>;

    /// Starts writing a file of any size that appears under `path` only when committed.
    async fn create(&self, path: &RemotePath) -> Result<Box<dyn Upload>>;

    /// Takes the lock on a folder (Xen Orchestra's `<dir>.lock`), held with a lease of `lease`
    /// that the returned lock renews until it is released or dropped. A lock whose lease ran
    /// out (its holder died) is taken over.
    async fn lock(&self, dir: &RemotePath, lease: Duration) -> Result<FolderLock>;
}

/// A file being written. Dropping it without [`commit`](Upload::commit) aborts it.
#[async_trait]
pub trait Upload: Send {
    /// Appends `data`; waits while the storage is behind (backpressure).
    async fn write(&mut self, data: Bytes) -> Result<()>;

    /// Makes the file appear, whole, under its name.
    async fn commit(self: Box<Self>) -> Result<Committed>;

    /// Drops what was written; nothing appears under the file's name.
    async fn abort(self: Box<Self>) -> Result<()>;
}
