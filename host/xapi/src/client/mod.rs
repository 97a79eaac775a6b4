//! The XAPI client: a logged-in connection to one pool.
//!
//! [`Client::connect`] logs in (JSON-RPC first, XML-RPC if the host does not answer JSON, and
//! following `HOST_IS_SLAVE` to the pool master); [`Client::call`] sends any API call with the
//! session prepended and logs in again, once, if xapi says the session is no longer valid. The
//! submodules add typed calls, async tasks, event subscriptions and the HTTP transfers.

mod calls;
mod events;
mod tasks;
mod transfer;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tracing::debug;
use url::Url;

use crate::Secret;
use crate::Value;
use crate::decode::{self, DecodeError};
use crate::error::{ApiError, Error, Result};
use crate::tls::{self, TlsPolicy};
use crate::wire::{Call, Encoding};
pub use events::{Event, EventSubscription, Operation};
pub use transfer::{Download, ImportSource, PendingTask, RawFormat, VmCompression};
use transport::RpcError;

/// How many times a login follows `HOST_IS_SLAVE` before giving up.
const MAX_MASTER_HOPS: usize = 3;

/// What [`Client::connect`] needs.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `https://host` (or `http://` for a simulator); a path is ignored.
    pub url: Url,
    pub username: String,
    pub password: Secret,
    pub tls: TlsPolicy,
    /// `None` tries JSON-RPC and falls back to XML-RPC.
    pub encoding: Option<Encoding>,
    /// Sent at login; shows in xapi's session list.
    pub originator: String,
    /// Deadline of one ordinary call (event waits and transfers have their own).
    pub call_timeout: Duration,
}

impl ConnectOptions {
    /// Options with the defaults: system roots, automatic encoding, 60 s calls.
    pub fn new(url: Url, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        ConnectOptions {
            url,
            username: username.into(),
            password: password.into(),
            tls: TlsPolicy::SystemRoots,
            encoding: None,
            originator: "lifeboat".into(),
            call_timeout: Duration::from_secs(60),
        }
    }
}

/// A connection to a pool, cheap to clone and shareable between tasks.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    options: ConnectOptions,
    state: Mutex<State>,
}

/// What changes over a connection's life.
#[derive(Clone)]
struct State {
    /// The master's address (may differ from the configured URL after `HOST_IS_SLAVE`).
    base: Url,
    encoding: Encoding,
    session: Secret,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.options.url.as_str())
            .field("username", &self.inner.options.username)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects and logs in.
    pub async fn connect(options: ConnectOptions) -> Result<Client> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .http1_only()
            .connect_timeout(Duration::from_secs(30));
        let http = tls::apply(builder, &options.tls)?
            .build()
            .map_err(|source| Error::Transport {
                what: "building the HTTP client".into(),
                source,
            })?;
        let mut base = options.url.clone();
        base.set_path("/");
        base.set_query(None);
        let state = login(&http, &options, base).await?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                options,
                state: Mutex::new(state),
            }),
        })
    }

    /// The encoding the connection settled on.
    pub async fn encoding(&self) -> Encoding {
        self.inner.state.lock().await.encoding
    }

    /// The master's base URL.
    pub async fn base_url(&self) -> Url {
        self.inner.state.lock().await.base.clone()
    }

    /// The session reference, for HTTP handlers and for passing to other tools. It is a
    /// credential: never log it.
    pub async fn session(&self) -> Secret {
        self.inner.state.lock().await.session.clone()
    }

    /// Calls `method` with the session prepended to `params`.
    pub async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value> {
        self.call_with_timeout(method, params, self.inner.options.call_timeout)
            .await
    }

    /// [`Client::call`] with its own deadline (long polls such as `event.from`).
    pub(crate) async fn call_with_timeout(
        &self,
        method: &str,
        params: Vec<Value>,
        timeout: Duration,
    ) -> Result<Value> {
        let state = self.inner.state.lock().await.clone();
        match self.call_in(&state, method, params.clone(), timeout).await {
            Err(error) if error.is_api("SESSION_INVALID") => {
                let state = self.relogin(&state.session).await?;
                self.call_in(&state, method, params, timeout).await
            }
            outcome => outcome,
        }
    }

    /// Calls `method` and decodes its result as `T`.
    pub async fn call_as<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<T> {
        let value = self.call(method, params).await?;
        decode::from_value(value).map_err(|e| decode_error(method, e))
    }

    /// Calls a method that takes no session (`system.listMethods`, `session.login_with_password`).
    pub async fn call_without_session(&self, method: &str, params: Vec<Value>) -> Result<Value> {
        let state = self.inner.state.lock().await.clone();
        let call = Call {
            method: method.to_owned(),
            params,
        };
        rpc(
            &self.inner.http,
            &state.base,
            state.encoding,
            &call,
            self.inner.options.call_timeout,
        )
        .await
    }

    fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Ends the session. Later calls fail with `SESSION_INVALID`… and log in again.
    pub async fn logout(&self) -> Result<()> {
        self.call("session.logout", Vec::new()).await.map(drop)
    }

    async fn call_in(
        &self,
        state: &State,
        method: &str,
        mut params: Vec<Value>,
        timeout: Duration,
    ) -> Result<Value> {
        params.insert(0, Value::string(state.session.expose()));
        let call = Call {
            method: method.to_owned(),
            params,
        };
        rpc(
            &self.inner.http,
            &state.base,
            state.encoding,
            &call,
            timeout,
        )
        .await
        .map_err(|error| redact_session(error, &state.session))
    }

    /// Logs in again unless another task already replaced the session `stale`.
    async fn relogin(&self, stale: &Secret) -> Result<State> {
        let mut state = self.inner.state.lock().await;
        if state.session == *stale {
            debug!(url = %self.inner.options.url, "session expired; logging in again");
            *state = login(&self.inner.http, &self.inner.options, state.base.clone()).await?;
        }
        Ok(state.clone())
    }
}

/// Logs in at `base`, detecting the encoding and following `HOST_IS_SLAVE` to the master.
async fn login(http: &reqwest::Client, options: &ConnectOptions, mut base: Url) -> Result<State> {
    let call = Call {
        method: "session.login_with_password".into(),
        params: vec![
            Value::string(options.username.as_str()),
            Value::string(options.password.expose()),
            Value::string("1.1"),
            Value::string(options.originator.as_str()),
        ],
    };
    for _ in 0..=MAX_MASTER_HOPS {
        let mut encoding = options.encoding.unwrap_or(Encoding::Json);
        let mut outcome =
            transport::round_trip(http, &base, encoding, &call, options.call_timeout).await;
        if options.encoding.is_none() && matches!(outcome, Err(RpcError::Unsupported { .. })) {
            debug!(url = %base, "no JSON-RPC; falling back to XML-RPC");
            encoding = Encoding::Xml;
            outcome =
                transport::round_trip(http, &base, encoding, &call, options.call_timeout).await;
        }
        let outcome = outcome.map_err(|error| rpc_error(&call.method, &base, error))?;
        match outcome {
            Ok(session) => {
                let session = session.as_str().ok_or_else(|| Error::Decode {
                    what: call.method.clone(),
                    problem: "the session reference is not a string".into(),
                })?;
                return Ok(State {
                    base,
                    encoding,
                    session: Secret::new(session),
                });
            }
            Err(error) if error.is("HOST_IS_SLAVE") => {
                let master = error.params.first().cloned().unwrap_or_default();
                base = master_url(&base, &master)?;
                debug!(master = %base, "host is a pool member; logging in to the master");
            }
            Err(source) => {
                return Err(Error::Api {
                    method: call.method,
                    source,
                });
            }
        }
    }
    Err(Error::Config(format!(
        "login followed HOST_IS_SLAVE {MAX_MASTER_HOPS} times without reaching a master"
    )))
}

/// The URL of the master named by `HOST_IS_SLAVE`: its address, with the original scheme, and
/// the original port unless the address carries one.
fn master_url(base: &Url, address: &str) -> Result<Url> {
    let bad = || {
        Error::Config(format!(
            "HOST_IS_SLAVE names an unusable master {address:?}"
        ))
    };
    if address.is_empty() {
        return Err(bad());
    }
    let host = if address.contains(':') && !address.starts_with('[') && !has_port(address) {
        format!("[{address}]")
    } else {
        address.to_owned()
    };
    let authority = match base.port() {
        Some(port) if !has_port(&host) => format!("{host}:{port}"),
        _ => host,
    };
    Url::parse(&format!("{}://{authority}/", base.scheme())).map_err(|_| bad())
}

fn has_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => {
            port.chars().all(|c| c.is_ascii_digit()) && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    }
}

async fn rpc(
    http: &reqwest::Client,
    base: &Url,
    encoding: Encoding,
    call: &Call,
    timeout: Duration,
) -> Result<Value> {
    debug!(method = %call.method, %encoding, "call");
    match transport::round_trip(http, base, encoding, call, timeout).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(Error::Api {
            method: call.method.clone(),
            source,
        }),
        Err(error) => Err(rpc_error(&call.method, base, error)),
    }
}

fn rpc_error(method: &str, base: &Url, error: RpcError) -> Error {
    let what = format!("{method} at {base}");
    match error {
        RpcError::Transport(source) => Error::Transport {
            what,
            source: source.without_url(),
        },
        RpcError::Unsupported {
            status,
            content_type,
        } => Error::Http {
            what,
            status,
            detail: format!("not an XAPI answer (content type {content_type:?})"),
        },
        RpcError::Wire(source) => Error::Wire { what, source },
    }
}

/// Replaces the session reference wherever xapi echoes it in an error (`SESSION_INVALID`).
fn redact_session(error: Error, session: &Secret) -> Error {
    match error {
        Error::Api { method, source } => Error::Api {
            method,
            source: ApiError {
                code: source.code,
                params: source
                    .params
                    .into_iter()
                    .map(|p| {
                        if p == session.expose() {
                            "(session)".to_owned()
                        } else {
                            p
                        }
                    })
                    .collect(),
            },
        },
        other => other,
    }
}

pub(crate) fn decode_error(what: &str, error: DecodeError) -> Error {
    Error::Decode {
        what: what.to_owned(),
        problem: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_url_keeps_scheme_and_port() {
        let base = Url::parse("http://127.0.0.1:8080/").expect("valid");
        assert_eq!(
            master_url(&base, "10.0.0.2").expect("valid").as_str(),
            "http://10.0.0.2:8080/"
        );
        assert_eq!(
            master_url(&base, "127.0.0.1:9000").expect("valid").as_str(),
            "http://127.0.0.1:9000/"
        );
        assert_eq!(
            master_url(&base, "[::1]:9000").expect("valid").as_str(),
            "http://[::1]:9000/"
        );
        let https = Url::parse("https://pool.example").expect("valid");
        assert_eq!(
            master_url(&https, "10.0.0.2").expect("valid").as_str(),
            "https://10.0.0.2/"
        );
        assert_eq!(
            master_url(&base, "fe80::2").expect("valid").as_str(),
            "http://[fe80::2]:8080/"
        );
        assert!(master_url(&base, "").is_err());
    }
}
