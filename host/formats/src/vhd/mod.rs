//! Microsoft VHD dynamic and differencing disks, with Xen Orchestra's conventions.
//!
//! - [`Footer`], [`Header`]: the on-disk structures, validated field by field.
//! - [`VhdFile`], [`VhdDirectory`]: stored disks, both behind the [`Vhd`] trait.
//! - [`VhdChain`]: a differencing disk and its ancestors read as one [`DiskRead`](crate::disk::DiskRead).
//! - [`VhdFileWriter`], [`VhdDirectoryWriter`], [`VhdStream`]: new disks as files, directories or a
//!   byte stream of known length; [`write_dynamic`] and [`write_delta`] fill them.
//! - [`VhdStreamReader`]: a VHD read front to back from a stream that cannot seek (an upload).
//! - [`merge_chain`], [`merge_into_root`]: resumable merges.
//!
//! Conventions followed (Xen Orchestra's, so that its remotes and Lifeboat's are interchangeable):
//! 2 MiB blocks, blocks written whole with an all-ones sector bitmap (unchanged sectors of a
//! differencing block filled from the parent), the BAT at offset 1536, parents found through
//! `parentUnicodeName` relative to the child's folder and checked by uuid.

mod chain;
mod directory;
mod fields;
mod file;
mod footer;
mod geometry;
mod header;
mod image;
mod merge;
mod open;
mod select;
mod stream;
mod stream_read;
pub mod timestamp;
mod writer;

pub use chain::{VhdChain, open_layers, parent_path};
pub use directory::{ALIAS_SUFFIX, ChunkFilter, VhdDirectory, VhdDirectoryWriter, resolve_alias};
pub use file::VhdFile;
pub use footer::{CREATOR_APP, DiskType, FOOTER_SIZE, Footer, MAX_VIRTUAL_SIZE};
pub use geometry::Geometry;
pub use header::{DEFAULT_TABLE_OFFSET, HEADER_SIZE, Header, bitmap_size};
pub use image::{Vhd, VhdWrite, block_count};
pub use merge::{
    MergeControl, MergeEvent, MergeOptions, MergeSummary, interrupted_merges, merge_chain,
    merge_into_root, state_path,
};
pub use open::{is_alias, open_vhd, open_vhd_for_write};
pub use select::{WriteSummary, parent_link, write_delta, write_dynamic};
pub use stream::VhdStream;
pub use stream_read::{MAX_STREAM_BLOCK_SIZE, StreamBlock, VhdStreamReader};
pub use writer::{NewVhd, ParentLink, VhdFileWriter, VhdSink};
