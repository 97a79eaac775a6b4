//! The host side of every WIT interface, one module per interface.

pub mod clock;
pub mod errors;
pub mod policy;
pub mod storage;
pub mod tasks;
pub mod transfers;
pub mod xapi;

pub use xapi::destroy_vm_with_disks;
