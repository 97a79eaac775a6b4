//! Typed errors of the XVA reader and writer.

/// An XVA archive that is malformed or corrupt.
#[derive(Debug, thiserror::Error)]
pub enum XvaError {
    /// A chunk's content does not match its checksum entry.
    #[error("{entry}: checksum mismatch: archive says {expected}, data hashes to {actual}")]
    ChecksumMismatch {
        entry: String,
        expected: String,
        actual: String,
    },
}
