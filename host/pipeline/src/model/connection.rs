//! Connections, checked: a pool reached through XAPI, a remote (a backup repository in a
//! local folder or an S3 bucket), or a project of an OpenStack cloud.

use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

pub use lifeboat_net::TlsPolicy;
pub use lifeboat_remote::RemoteUrl;

/// A pool, a remote or a cloud that steps may be granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    Xapi(XapiConnection),
    Remote(RemoteConnection),
    Openstack(OpenstackConnection),
}

/// What a connection reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// A pool of XCP-ng or XenServer hosts, reached through XAPI.
    Xapi,
    /// A remote: a backup repository in a local folder (or a mounted NFS or SMB share) or in
    /// an S3 bucket.
    Remote,
    /// The older name of `remote` for a local folder; still accepted.
    Fs,
    /// A project of an OpenStack cloud, reached through Keystone, Cinder, Nova and Neutron.
    Openstack,
}

impl Connection {
    pub fn kind(&self) -> ConnectionKind {
        match self {
            Connection::Xapi(_) => ConnectionKind::Xapi,
            Connection::Remote(_) => ConnectionKind::Remote,
            Connection::Openstack(_) => ConnectionKind::Openstack,
        }
    }
}

impl ConnectionKind {
    /// The kind as the file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Xapi => "xapi",
            ConnectionKind::Remote => "remote",
            ConnectionKind::Fs => "fs",
            ConnectionKind::Openstack => "openstack",
        }
    }

    /// The key of a step's `allow` that grants connections of this kind.
    pub fn allow_key(self) -> &'static str {
        match self.canonical() {
            ConnectionKind::Xapi => "allow.xapi",
            ConnectionKind::Remote | ConnectionKind::Fs => "allow.remotes",
            ConnectionKind::Openstack => "allow.clouds",
        }
    }

    /// The kind this one is a name of: `fs` is `remote`.
    pub fn canonical(self) -> ConnectionKind {
        match self {
            ConnectionKind::Fs => ConnectionKind::Remote,
            kind => kind,
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

/// A remote: where it is, and the credentials and TLS policy of an S3 remote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteConnection {
    /// A local folder (`path`, resolved against the pipeline file's directory by
    /// [`crate::Pipeline::load`], or `file:///PATH`), or an S3 location.
    pub url: RemoteUrl,
    /// S3: the access key, when not written in the URL.
    pub access_key: Option<Username>,
    /// S3: the name of the secret holding the secret key.
    pub secret_key_secret: Option<String>,
    pub tls: TlsPolicy,
}

/// A project of an OpenStack cloud: Keystone's URL, who to be, where to work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenstackConnection {
    /// Keystone's URL (`https://keystone.example:5000/v3`).
    pub auth_url: Url,
    pub credentials: OpenstackCredentials,
    /// The project to work in, by name; `None` for application credentials (bound to theirs)
    /// or the user's default project.
    pub project: Option<String>,
    /// The domain of the user and the project.
    pub domain: String,
    /// Only endpoints of this region.
    pub region: Option<String>,
    pub tls: TlsPolicy,
}

/// How an OpenStack connection authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenstackCredentials {
    /// A user and the name of the secret holding the password.
    Password {
        username: Username,
        password_secret: String,
    },
    /// An application credential's id and the name of the secret holding its secret.
    ApplicationCredential {
        id: String,
        credential_secret: String,
    },
}
