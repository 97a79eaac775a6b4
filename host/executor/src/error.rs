//! Why a run could not start, or a step could not be prepared: typed, for embedders that
//! answer each case differently, with messages that name the connection, component or schedule.

use std::path::PathBuf;
use std::time::Duration;

use lifeboat_pipeline::MissingSecret;

/// Why a run could not start ([`crate::Runner::run`]) or a step could not be prepared
/// (reported as the step's error).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the pipeline has no schedule {name:?} (it has: {known})")]
    UnknownSchedule { name: String, known: String },
    #[error(transparent)]
    MissingSecret(#[from] MissingSecret),
    #[error("connection {name:?}: {error}")]
    Connect {
        name: String,
        error: Box<ConnectError>,
    },
    #[error("connection {name:?}: no answer within {timeout:?}")]
    ConnectTimeout { name: String, timeout: Duration },
    #[error("connection {name:?} is not a {expected}")]
    WrongKind {
        name: String,
        expected: &'static str,
    },
    #[error("remote {name:?}: cannot create {}: {error}", path.display())]
    RemoteFolder {
        name: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Remote(Box<lifeboat_remote::RemoteError>),
    #[error("connection {name:?}: {error}")]
    Cloud {
        name: String,
        error: Box<lifeboat_cloud::CloudError>,
    },
    #[error(transparent)]
    Component(Box<ComponentError>),
    #[error("cannot list the VMs of {pool}: {error}")]
    ListVms {
        pool: String,
        error: Box<lifeboat_xapi::Error>,
    },
    #[error("the pool {pool} has no VM {}", vms.join(", "))]
    MissingVms { pool: String, vms: Vec<String> },
}

impl From<lifeboat_remote::RemoteError> for RunError {
    fn from(error: lifeboat_remote::RemoteError) -> Self {
        RunError::Remote(Box::new(error))
    }
}

impl From<ComponentError> for RunError {
    fn from(error: ComponentError) -> Self {
        RunError::Component(Box::new(error))
    }
}

/// Why logging in to a pool failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Client(#[from] lifeboat_xapi::Error),
    #[error("{url} needs a username and a password")]
    MissingCredentials { url: String },
    /// A failure of the embedder's own connector (say, a simulator that cannot start).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    #[error("{name:?} is not a built-in component")]
    NotBuiltin { name: String },
    #[error("component {name:?} is not declared")]
    Undeclared { name: String },
    #[error("component {name:?}: cannot read {}: {error}", path.display())]
    Read {
        name: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "component {name:?}: {} has digest sha256:{actual}, not the sha256:{pinned} the pipeline pins; refusing to run it",
        path.display()
    )]
    DigestMismatch {
        name: String,
        path: PathBuf,
        actual: String,
        pinned: String,
    },
    #[error(transparent)]
    Load(#[from] lifeboat_runtime::RuntimeError),
}
