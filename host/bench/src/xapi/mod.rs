//! XAPI benchmarks against the simulator, run as a separate `lifeboat sim serve` process:
//!
//! - [`transfer`]: `export_raw_vdi` and `import_raw_vdi` of a large VDI through Lifeboat's client,
//!   against `curl` moving the same bytes from and to the same simulator;
//! - [`scale`]: a pool of 5,000 VMs and 20,000 VDIs: `VM.get_all_records`, a full `event.from`
//!   dump, and the simulator's memory per VM.

pub mod client;
pub mod scale;
pub mod sim;
pub mod transfer;
