//! What Lifeboat's network clients share, so that the XAPI client, the OpenStack client, the S3
//! remote and the pipeline file mean the same thing by the same words.
//!
//! - [`tls`]: which server certificates a client trusts (one [`TlsPolicy`] for every client).

pub mod tls;

pub use tls::TlsPolicy;
