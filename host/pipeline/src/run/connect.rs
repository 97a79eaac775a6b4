//! Logging in to a pipeline's pools. How a URL is reached is the embedder's choice: the
//! [`Connector`] a run is given may serve `sim://` URLs from an in-process simulator (the CLI
//! does), or reach only real pools ([`DirectConnector`]).

use std::future::Future;
use std::pin::Pin;

use lifeboat_xapi::{Client, ConnectOptions};

use crate::resolved::ResolvedXapi;

/// A connection attempt in progress.
pub type Connecting<'a> = Pin<Box<dyn Future<Output = Result<Client, String>> + Send + 'a>>;

/// Logs in to the pool of a connection.
pub trait Connector: Send + Sync {
    /// Connects to `connection` (named `name` in the pipeline). Errors say what failed and
    /// never hold a secret.
    fn connect<'a>(&'a self, name: &'a str, connection: &'a ResolvedXapi) -> Connecting<'a>;
}

/// Connects to the URL as written, with the connection's credentials and TLS policy.
pub struct DirectConnector;

impl Connector for DirectConnector {
    fn connect<'a>(&'a self, name: &'a str, connection: &'a ResolvedXapi) -> Connecting<'a> {
        Box::pin(async move {
            let options = options(name, connection)?;
            Client::connect(options)
                .await
                .map_err(|error| format!("connection {name:?}: {error}"))
        })
    }
}

/// The client's options for a resolved connection.
fn options(name: &str, connection: &ResolvedXapi) -> Result<ConnectOptions, String> {
    let (Some(username), Some(password)) = (&connection.username, &connection.password) else {
        return Err(format!(
            "connection {name:?}: {} needs a username and a password",
            connection.url
        ));
    };
    let mut options = ConnectOptions::new(
        connection.url.clone(),
        username.clone(),
        password.expose().to_owned(),
    );
    options.tls = connection.tls.clone();
    Ok(options)
}
