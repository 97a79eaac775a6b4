//! Connections, checked: a pool reached through XAPI, or a remote in a local directory.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

pub use lifeboat_net::TlsPolicy;

/// A pool or a remote that steps may be granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    Xapi(XapiConnection),
    Fs(FsConnection),
}

/// What a connection reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// A pool of XCP-ng or XenServer hosts, reached through XAPI.
    Xapi,
    /// A backup remote in a local directory.
    Fs,
}

impl Connection {
    pub fn kind(&self) -> ConnectionKind {
        match self {
            Connection::Xapi(_) => ConnectionKind::Xapi,
            Connection::Fs(_) => ConnectionKind::Fs,
        }
    }
}

impl ConnectionKind {
    /// The kind as the file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Xapi => "xapi",
            ConnectionKind::Fs => "fs",
        }
    }
}

/// A pool reached through XAPI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XapiConnection {
    /// `https://…`, `http://…` or `sim://NAME` (a pool of the embedded simulator).
    pub url: Url,
    /// Set for http(s) URLs; a `sim://` pool may have none.
    pub username: Option<Username>,
    /// The name of the secret holding the password; set whenever `username` is.
    pub password_secret: Option<String>,
    pub tls: TlsPolicy,
}

/// A user name: written in the file, or read from a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Username {
    Literal(String),
    Secret(String),
}

/// A backup remote in a local directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsConnection {
    /// Resolved against the pipeline file's directory by [`crate::Pipeline::load`].
    pub path: PathBuf,
}
