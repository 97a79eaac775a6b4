//! Runs Lifeboat's WebAssembly components.
//!
//! A [`Runtime`] holds the wasmtime engine, the linkers and the cache of compiled components.
//! Operations ([`OperationComponent`]) run once per item in a fresh store: an empty WASI
//! context, a memory cap and a deadline ([`Limits`]), the connections their step is granted
//! ([`Grants`]) and a task in the run's log ([`TaskLog`]). The host side of every interface
//! lives in [`host`]; destructive XAPI calls pass the guards of DESIGN.md principle 2, and a
//! retention policy's answer is checked before an operation sees it. Bulk data moves in the
//! host ([`transfer`]), never through a component.

mod bindings;
pub mod cache;
mod clock;
mod context;
mod engine;
pub mod error;
pub mod grants;
pub mod host;
pub mod limits;
mod operation;
pub mod policy;
mod sandbox;
mod state;
pub mod task_log;
pub mod transfer;
mod trap;

pub use bindings::retention::Candidate;
pub use cache::{CacheOutcome, ComponentCache};
pub use clock::Clock;
pub use context::RunContext;
pub use engine::{Runtime, RuntimeOptions};
pub use error::{OperationError, RuntimeError};
pub use grants::{CloudConnection, Grants, PoolConnection, RemoteConnection, RunObjects};
pub use limits::Limits;
pub use operation::{Description, OperationComponent};
pub use policy::PolicyComponent;
pub use state::StepEnv;
pub use task_log::{Event, EventSink, Task, TaskLog, TaskStatus};
