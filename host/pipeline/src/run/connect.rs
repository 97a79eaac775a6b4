//! Logging in to a pipeline's pools, and opening its remotes. How a pool's URL is reached is
//! the embedder's choice: the [`Connector`] a run is given may serve `sim://` URLs from an
//! in-process simulator (the CLI does), or reach only real pools ([`DirectConnector`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lifeboat_xapi::{Client, ConnectOptions};

use lifeboat_remote::{LocalFolder, RemoteUrl, S3Credentials, S3Store};
use lifeboat_runtime::RemoteConnection;

use super::error::{ConnectError, RunError};
use crate::resolved::{ResolvedRemote, ResolvedXapi};

/// A connection attempt in progress.
pub type Connecting<'a> = Pin<Box<dyn Future<Output = Result<Client, ConnectError>> + Send + 'a>>;

/// Logs in to the pool of a connection.
pub trait Connector: Send + Sync {
    /// Connects to `connection` (named `name` in the pipeline, which the caller's error names).
    /// Errors say what failed and never hold a secret.
    fn connect<'a>(&'a self, name: &'a str, connection: &'a ResolvedXapi) -> Connecting<'a>;
}

/// Connects to the URL as written, with the connection's credentials and TLS policy.
pub struct DirectConnector;

impl Connector for DirectConnector {
    fn connect<'a>(&'a self, _name: &'a str, connection: &'a ResolvedXapi) -> Connecting<'a> {
        Box::pin(async move { Ok(Client::connect(options(connection)?).await?) })
    }
}

/// The client's options for a resolved connection.
fn options(connection: &ResolvedXapi) -> Result<ConnectOptions, ConnectError> {
    let (Some(username), Some(password)) = (&connection.username, &connection.password) else {
        return Err(ConnectError::MissingCredentials {
            url: connection.url.to_string(),
        });
    };
    let mut options = ConnectOptions::new(
        connection.url.clone(),
        username.clone(),
        password.expose().to_owned(),
    );
    options.tls = connection.tls.clone();
    Ok(options)
}

/// Opens the remote `name`: a local folder (created if missing, as a first backup needs) or an
/// S3 bucket.
pub(super) fn remote(name: &str, remote: &ResolvedRemote) -> Result<RemoteConnection, RunError> {
    let backend: Arc<dyn lifeboat_remote::Backend> = match &remote.url {
        RemoteUrl::Local(root) => {
            std::fs::create_dir_all(root).map_err(|error| RunError::RemoteFolder {
                name: name.to_owned(),
                path: root.clone(),
                error,
            })?;
            Arc::new(LocalFolder::open(name, root)?)
        }
        RemoteUrl::S3(location) => {
            let credentials = match (&remote.access_key, &location.access_key, &remote.secret_key) {
                (Some(access_key), _, Some(secret_key))
                | (None, Some(access_key), Some(secret_key)) => Some(S3Credentials {
                    access_key: access_key.clone(),
                    secret_key: secret_key.clone(),
                }),
                _ => None,
            };
            Arc::new(S3Store::open(name, location, credentials, &remote.tls)?)
        }
    };
    Ok(RemoteConnection {
        name: name.to_owned(),
        backend,
    })
}
