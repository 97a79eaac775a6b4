//! XAPI client of Lifeboat: speaks XCP-ng / XenServer's management protocol.
//!
//! - [`wire`]: the JSON-RPC and XML-RPC encodings exactly as xapi reads and writes them (shared
//!   with the simulator).
//! - [`error`]: API failures ([`ApiError`]) and client errors ([`Error`]).
//! - [`tls`]: how the client checks a host's certificate (the policy every Lifeboat client shares).
//! - [`records`]: typed records and references of the classes Lifeboat uses.
//! - [`decode`]: typed views of dynamic values, whichever encoding they came in.
//! - [`Client`]: a logged-in connection: calls, async tasks, events, HTTP transfers.

mod client;
pub mod decode;
pub mod error;
pub mod records;
pub mod wire;

pub use lifeboat_net::tls;

pub use client::{
    Client, ConnectOptions, Download, Event, EventSubscription, ImportSource, Operation,
    PendingTask, RawFormat, VmCompression,
};
pub use error::{ApiError, Error, Result};
pub use lifeboat_formats::secret::Secret;
pub use lifeboat_formats::xmlrpc::Value;
