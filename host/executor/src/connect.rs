//! Logging in to a pipeline's pools (the xapi capability's connector). How a pool's URL is
//! reached is the embedder's choice: the [`Connector`] a run is given may serve `sim://` URLs
//! from an in-process simulator (the CLI does), or reach only real pools ([`DirectConnector`]).

use std::future::Future;
use std::pin::Pin;

use lifeboat_xapi::{Client, ConnectOptions};

use super::error::ConnectError;
use lifeboat_pipeline::ResolvedXapi;

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
