//! Typed records of the XAPI classes that Lifeboat works with.
//!
//! Each record lists the fields Lifeboat reads; xapi sends more (a VM has about ninety), and
//! those are ignored. Every field has a default, so records from older or newer xapi versions
//! that lack a field still decode. Field names follow the API (`name_label`, `SR`, `VBDs`, …),
//! renamed to Rust's case where they differ.

mod objects;
mod reference;

pub use objects::*;
pub use reference::{Class, NULL_REF, Ref};
