//! Simulators of Lifeboat, served over loopback HTTP with the real protocols so that the same
//! client code runs against them and against real systems.
//!
//! - [`xapi`]: XCP-ng / XenServer pools (XAPI's JSON-RPC and XML-RPC, tasks, events, VHD-backed
//!   storage), described by YAML fixtures.

pub mod xapi;
