//! XAPI's XVA format: a tar of `ova.xml` followed by each disk as checksummed 1 MiB chunks.

mod error;

pub use error::XvaError;
