//! Connections with their secrets filled in: what the executor logs in with.

use std::collections::BTreeMap;

use url::Url;

use crate::model::{Connection, OpenstackCredentials, Pipeline, RemoteUrl, TlsPolicy, Username};
use crate::secrets::{Secret, Secrets};

/// A connection ready to use.
#[derive(Clone, Debug)]
pub enum ResolvedConnection {
    Xapi(ResolvedXapi),
    Remote(ResolvedRemote),
    Openstack(ResolvedOpenstack),
}

/// A project of a cloud ready to log in to. `Debug` shows the password or secret as `***`.
#[derive(Clone, Debug)]
pub struct ResolvedOpenstack {
    pub auth_url: Url,
    pub login: OpenstackLogin,
    pub project: Option<String>,
    pub domain: String,
    pub region: Option<String>,
    pub tls: TlsPolicy,
}

/// Who an OpenStack connection logs in as, with the secret.
#[derive(Clone, Debug)]
pub enum OpenstackLogin {
    Password { username: String, password: Secret },
    ApplicationCredential { id: String, secret: Secret },
}

/// A remote ready to open. `Debug` shows the secret key as `***`.
#[derive(Clone, Debug)]
pub struct ResolvedRemote {
    pub url: RemoteUrl,
    /// S3: the access key (from the connection, else from the URL).
    pub access_key: Option<String>,
    /// S3: the secret key.
    pub secret_key: Option<Secret>,
    pub tls: TlsPolicy,
}

/// A pool ready to log in to. `Debug` shows the password as `***`.
#[derive(Clone, Debug)]
pub struct ResolvedXapi {
    pub url: Url,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: TlsPolicy,
}

/// A secret that a connection uses is missing from the [`Secrets`] given (they were resolved
/// for another pipeline).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("connection `{connection}` uses secret `{secret}`, which was not resolved")]
pub struct MissingSecret {
    pub connection: String,
    pub secret: String,
}

/// Every connection of `pipeline`, its credentials taken from `secrets`.
pub fn resolve_connections(
    pipeline: &Pipeline,
    secrets: &Secrets,
) -> Result<BTreeMap<String, ResolvedConnection>, MissingSecret> {
    pipeline
        .connections
        .iter()
        .map(|(name, connection)| {
            let secret = |secret: &str| {
                secrets.get(secret).cloned().ok_or_else(|| MissingSecret {
                    connection: name.clone(),
                    secret: secret.to_owned(),
                })
            };
            let username = |username: &Username| match username {
                Username::Literal(username) => Ok(username.clone()),
                Username::Secret(name) => Ok(secret(name)?.expose().to_owned()),
            };
            let resolved = match connection {
                Connection::Remote(remote) => ResolvedConnection::Remote(ResolvedRemote {
                    url: remote.url.clone(),
                    access_key: remote.access_key.as_ref().map(username).transpose()?,
                    secret_key: remote
                        .secret_key_secret
                        .as_deref()
                        .map(secret)
                        .transpose()?,
                    tls: remote.tls.clone(),
                }),
                Connection::Xapi(xapi) => ResolvedConnection::Xapi(ResolvedXapi {
                    url: xapi.url.clone(),
                    username: xapi.username.as_ref().map(username).transpose()?,
                    password: xapi.password_secret.as_deref().map(secret).transpose()?,
                    tls: xapi.tls.clone(),
                }),
                Connection::Openstack(cloud) => ResolvedConnection::Openstack(ResolvedOpenstack {
                    auth_url: cloud.auth_url.clone(),
                    login: match &cloud.credentials {
                        OpenstackCredentials::Password {
                            username: user,
                            password_secret,
                        } => OpenstackLogin::Password {
                            username: username(user)?,
                            password: secret(password_secret)?,
                        },
                        OpenstackCredentials::ApplicationCredential {
                            id,
                            credential_secret,
                        } => OpenstackLogin::ApplicationCredential {
                            id: id.clone(),
                            secret: secret(credential_secret)?,
                        },
                    },
                    project: cloud.project.clone(),
                    domain: cloud.domain.clone(),
                    region: cloud.region.clone(),
                    tls: cloud.tls.clone(),
                }),
            };
            Ok((name.clone(), resolved))
        })
        .collect()
}
