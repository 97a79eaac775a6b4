//! The guest SDK of Lifeboat: everything a WebAssembly component needs to be an operation (a
//! step of a pipeline) or a retention policy, over the `lifeboat:plugin` WIT package.
//!
//! Features choose the world: `operation` (the default) for a step, which imports every host
//! interface, and `policy` for a retention policy, which imports only the task log. Build the
//! component with `cargo build --target wasm32-wasip2 --release` as a `cdylib`.
//!
//! An operation (feature `operation`) implements `Operation` and exports it with
//! `export_operation!`; the documentation of `Operation` shows one.
//!
//! A retention policy (feature `policy`) implements `retention::RetentionPolicy` and exports it
//! with `export_policy!`: see `components/keep-last` and
//! `examples/retention-policies/keep-daily`.
//!
//! Helpers: [`params`] and [`output`] for JSON with errors that name the field, [`tasks::run`]
//! for tasks that end themselves, `clock` for the current time (the run's own clocks stand
//! still at its start), [`dates`] for Xen Orchestra's date forms, [`settings`] for
//! layered job settings and [`string_map::get`] for XAPI's maps.

#![deny(missing_docs)]

#[cfg(not(any(feature = "operation", feature = "policy")))]
compile_error!("lifeboat-sdk needs the `operation` feature, the `policy` feature, or both");

// The generated export macros name this crate by its path, also from inside it.
extern crate self as lifeboat_sdk;

/// The wit-bindgen runtime that the generated code and the export macros use.
pub use wit_bindgen;

// Generated code: its docs are the WIT's, and its shape is wit-bindgen's.
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings;
#[cfg(feature = "operation")]
mod changes;
mod civil;
pub mod dates;
mod description;
mod error;
mod json;
mod json_path;
#[cfg(feature = "policy")]
pub mod retention;
pub mod settings;
pub mod string_map;
pub mod tasks;

pub use bindings::types;
pub use json::{output, params};

/// The trait an operation implements: `describe` and `run`. For example:
///
/// ```no_run
/// use lifeboat_sdk::types::{Description, Error, RunContext};
/// use serde_json::json;
///
/// struct PoolName;
///
/// #[derive(serde::Deserialize)]
/// struct Params {
///     pool: String,
/// }
///
/// impl lifeboat_sdk::Operation for PoolName {
///     fn describe() -> Description {
///         Description::new(
///             "pool-name",
///             env!("CARGO_PKG_VERSION"),
///             "Reads the name of a pool.",
///             json!({ "type": "object", "required": ["pool"] }),
///             json!({ "type": "object" }),
///         )
///     }
///
///     fn run(context: RunContext, params: String) -> Result<String, Error> {
///         let params: Params = lifeboat_sdk::params(&params)?;
///         let pool = lifeboat_sdk::xapi::Pool::connect(&params.pool)?;
///         let name = lifeboat_sdk::tasks::run("read the pool", None, |_task| {
///             Ok(pool.pool_record()?.name_label)
///         })?;
///         let at = lifeboat_sdk::dates::filename_date(context.now_ms);
///         lifeboat_sdk::output(&json!({ "name": name, "at": at }))
///     }
/// }
///
/// lifeboat_sdk::export_operation!(PoolName);
/// ```
#[cfg(feature = "operation")]
#[doc(inline)]
pub use bindings::operation::Guest as Operation;
#[cfg(feature = "operation")]
pub use bindings::operation::export_operation;
#[cfg(feature = "operation")]
pub use bindings::operation::lifeboat::plugin::{clock, cloud, policy, storage, transfers, xapi};
#[cfg(feature = "policy")]
pub use bindings::policy::export_policy;
