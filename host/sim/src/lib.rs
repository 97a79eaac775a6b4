//! Simulators of Lifeboat, served over loopback HTTP with the real protocols so that the same
//! client code runs against them and against real systems.
//!
//! - [`xapi`]: XCP-ng / XenServer pools (XAPI's JSON-RPC and XML-RPC, tasks, events, VHD-backed
//!   storage), described by YAML fixtures, with a control endpoint for faults and state, and
//!   optional persistence across restarts.
//! - [`cloud`]: OpenStack clouds (Keystone, Cinder with backups, Nova, a little Neutron) faithful
//!   enough for `openstacksdk`, several of them sharing backup stores, with simulated time,
//!   block contents and a control endpoint for faults and state.
//! - [`s3`]: a real S3 server (s3s-fs) on loopback, for remotes in S3 in tests and the demo.
//! - [`resolve_url`]: `sim://NAME` connection URLs, which start a fixture's pool in-process.

pub mod cloud;
mod fixture_file;
mod listener;
pub mod s3;
mod seeded;
pub mod xapi;

pub use xapi::{SimConnection, SimUrlError, resolve_url};
