//! The typed errors of the format layer. Every error names the file (or archive entry) it is about
//! and, for malformed input, the structure and field that is wrong, so that a user can act on it.

use std::io;
use std::path::PathBuf;

use crate::xva::XvaError;

/// Result with the format layer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the format layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file ends before a structure that it declares.
    #[error("{}: truncated: {what} needs {needed} bytes but the file has {len}", path.display())]
    Truncated {
        path: PathBuf,
        what: &'static str,
        needed: u64,
        len: u64,
    },

    /// A VHD structure holds a value that breaks the format.
    #[error("{}: invalid VHD {structure}: `{field}` {problem}", path.display())]
    InvalidVhd {
        path: PathBuf,
        structure: &'static str,
        field: &'static str,
        problem: String,
    },

    /// A differencing disk's parent cannot be found or opened.
    #[error("{}: parent {} is missing", child.display(), parent.display())]
    MissingParent { child: PathBuf, parent: PathBuf },

    /// A differencing disk names a parent that is not the one it was made from.
    #[error(
        "{}: header parentUuid {expected} does not match the footer uuid {found} of its parent {}",
        child.display(),
        parent.display()
    )]
    ParentUuidMismatch {
        child: PathBuf,
        parent: PathBuf,
        expected: uuid::Uuid,
        found: uuid::Uuid,
    },

    /// Following parents leads back to a disk already in the chain.
    #[error("{}: parent chain loops back to this file", path.display())]
    ChainCycle { path: PathBuf },

    /// A `parentUnicodeName` that would leave the chain's folder.
    #[error("{}: parentUnicodeName {name:?} points outside the chain's folder", child.display())]
    ParentOutsideFolder { child: PathBuf, name: String },

    /// Two disks that an operation combines do not fit together.
    #[error("{}: {problem}", path.display())]
    Incompatible { path: PathBuf, problem: String },

    /// A merge state file that cannot be used to resume.
    #[error("{}: merge state: {problem}", path.display())]
    MergeState { path: PathBuf, problem: String },

    /// An XVA archive is malformed or its data is corrupt.
    #[error(transparent)]
    Xva(#[from] XvaError),

    /// The caller asked an operation to stop (progress callback), leaving resumable state behind.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Adds the path to an I/O result: `file.read(..).at(path)?`.
pub trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| Error::io(path, source))
    }
}
