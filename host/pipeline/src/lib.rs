//! Lifeboat's pipeline files (format version 1): what a job connects to, which components it
//! runs with which grants, over which VMs, and when.
//!
//! - [`Pipeline::load`] / [`Pipeline::parse`]: YAML in, a checked [`Pipeline`] out, or an
//!   [`InvalidPipeline`] listing every problem at its `file:line:column`.
//! - [`model`]: the checked pipeline that the executor runs.
//! - [`schema()`]: the JSON Schema of the file, generated from the same types that read it.
//! - [`secrets`]: reading secrets at run time, and masking them out of everything emitted.
//! - [`resolve_connections`]: connections with their credentials filled in.
//! - [`Params::substitute`]: a step's `with`, its `${{ … }}` references replaced, as JSON.
//! - [`ids`]: the stable default ids of jobs and schedules.
//!
//! Running a pipeline is `lifeboat-executor`'s: this crate only reads, checks and describes the
//! file, so that reading one needs neither wasmtime nor the built-in components.
//!
//! Hostile input is bounded: files over [`MAX_FILE_BYTES`] are refused, and YAML nesting,
//! aliases and node counts are capped, so a bad file ends in an error, never a hang.

mod diagnostic;
mod digest;
mod document;
pub mod ids;
mod load;
mod location;
pub mod model;
mod read;
mod resolved;
mod schema;
pub mod secrets;
mod template;
mod validate;

pub use diagnostic::{Diagnostic, InvalidPipeline, LoadError};
pub use digest::{NotADigest, Sha256Digest};
pub use location::Location;
pub use model::{Params, Pipeline};
pub use read::MAX_FILE_BYTES;
pub use resolved::{
    MissingSecret, OpenstackLogin, ResolvedConnection, ResolvedOpenstack, ResolvedRemote,
    ResolvedXapi, resolve_connections,
};
pub use schema::{schema, schema_text};
pub use secrets::{Masker, Secret, Secrets, resolve_secrets};
