//! The object model the simulated pool serves: classes, their fields, field types and defaults.
//!
//! xapi sends every field of a class in `get_record`, `get_all_records` and events, and clients
//! with typed records break on missing fields; so each class lists its fields as xapi's datamodel
//! has them (names and types are facts of the public API). Fields that Lifeboat's workflows never
//! touch still appear, with xapi's defaults.
//!
//! Derived fields (`VM.VBDs`, `VDI.snapshots`, `SR.VDIs`, …) are not stored: they are the objects
//! of another class whose reference field points here, and are computed when a record is read.

mod classes;
mod types;

pub use classes::{CLASSES, class};
pub use types::{ClassDef, EPOCH, NULL, Ty};
