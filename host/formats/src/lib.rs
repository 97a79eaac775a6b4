//! Disk formats of Lifeboat: everything that reads or writes disk bytes on a remote or on the wire.
//!
//! - [`disk`]: the [`DiskRead`](disk::DiskRead) trait, a virtual disk that can be read at any offset and
//!   that knows where its data may be, implemented by raw images, VHD files, VHD directories and chains.
//! - [`blocks`]: walks over a disk's data blocks, or over the blocks where two disks differ.
//! - [`raw`]: raw (possibly sparse) disk images.
//! - [`vhd`]: Microsoft VHD dynamic and differencing disks with Xen Orchestra's conventions: files,
//!   the VHD directory format, chains, deltas, streaming output and resumable merges.
//! - [`xva`]: XAPI's XVA export format (a tar of `ova.xml` and checksummed 1 MiB chunks).
//! - [`xmlrpc`]: the XML-RPC value model and codec shared by `ova.xml` and XAPI's wire protocol.
//! - [`secret`]: a string that is never shown (passwords, tokens), shared by the clients.
//!
//! Pure format code: no network, no async, nothing of Lifeboat's other crates.

pub mod atomic;
pub mod blocks;
pub mod disk;
pub mod error;
pub mod fileio;
pub mod fuzzing;
pub mod raw;
pub mod secret;
pub mod vhd;
pub mod xmlrpc;
pub mod xva;

pub use error::{Error, Result};
