//! The request executor: the token, the headers every call carries, authentication again
//! when the token expires or is refused, and the mapping of error answers to [`CloudError`].
//!
//! - [`request`]: the calls and answers the typed API builds and reads.
//! - [`endpoint`]: discovery of each service's URL and microversions, once per service.
//! - [`transport`]: one HTTP exchange with a bounded body.

mod endpoint;
pub(crate) mod request;
mod transport;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use lifeboat_formats::secret::Secret;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use url::Url;

use crate::auth::catalog::Catalog;
use crate::auth::keystone::{self, Token};
use crate::auth::{Project, Role, User};
use crate::config::CloudConfig;
use crate::error::{CloudError, ErrorKind, Result};
use crate::fault;
use crate::microversion::{self, Microversion};
use crate::service::ServiceType;
pub(crate) use endpoint::Endpoint;
pub(crate) use request::{Reply, Request};
use transport::{Exchange, exchange};

/// How long before a token's expiry the client asks for a new one (at most half its
/// lifetime), so that a call does not start with a token that dies on the way.
const REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// How long after a failed renewal ahead of expiry the client tries again, going on with the
/// current token meanwhile (it never waits past the token's expiry).
const RENEW_RETRY: Duration = Duration::from_secs(10);

/// How many pages a list follows: beyond this a server is looping.
const MAX_PAGES: usize = 1000;

const AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const API_VERSION: HeaderName = HeaderName::from_static("openstack-api-version");
const NOVA_API_VERSION: HeaderName = HeaderName::from_static("x-openstack-nova-api-version");

/// A connection to one cloud, scoped to one project.
pub(crate) struct Session {
    http: reqwest::Client,
    config: CloudConfig,
    /// Keystone's v3 URL, ending in `/`.
    identity_url: Url,
    project: Project,
    token: Mutex<TokenState>,
    grants: RwLock<Grants>,
    endpoints: [OnceCell<Endpoint>; ServiceType::ALL.len()],
}

struct TokenState {
    value: Secret,
    /// When to authenticate again before using the token; `None` if its lifetime is unknown.
    refresh_at: Option<Instant>,
    /// When the token expires on the client's clock; `None` if its lifetime is unknown.
    expires_at: Option<Instant>,
}

impl TokenState {
    /// After a renewal failed at `now`: if the token is still valid, puts the next renewal
    /// off by [`RENEW_RETRY`] (at most to the expiry) and returns when that is; `None` if the
    /// token has expired or its expiry is unknown.
    fn postpone(&mut self, now: Instant) -> Option<Instant> {
        let expires_at = self.expires_at.filter(|expires_at| now < *expires_at)?;
        let retry_at = (now + RENEW_RETRY).min(expires_at);
        self.refresh_at = Some(retry_at);
        Some(retry_at)
    }
}

/// What the current token grants.
struct Grants {
    user: User,
    roles: Vec<Role>,
    catalog: Arc<Catalog>,
}

impl Session {
    /// Finds Keystone's v3 API and authenticates.
    pub async fn connect(config: CloudConfig) -> Result<Session> {
        let tls = lifeboat_net::tls::client_config(&config.tls)
            .map_err(|error| CloudError::new("connect", ErrorKind::Config(error.to_string())))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| {
                CloudError::new(
                    "connect",
                    ErrorKind::Config(format!("HTTP client: {error}")),
                )
            })?;
        let identity_url = endpoint::identity_url(&http, &config).await?;
        let token = authenticate(&http, &config, &identity_url).await?;
        let project = token.project.clone().ok_or_else(|| {
            CloudError::new(
                "authenticate",
                ErrorKind::Config("the token is not scoped to a project".into()),
            )
        })?;
        info!(
            auth_url = %config.auth_url, project = %project.id, user = %token.user.id,
            "authenticated to OpenStack"
        );
        let (token, grants) = split(token);
        Ok(Session {
            http,
            config,
            identity_url,
            project,
            token: Mutex::new(token),
            grants: RwLock::new(grants),
            endpoints: Default::default(),
        })
    }

    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn user(&self) -> User {
        self.grants().user.clone()
    }

    pub fn roles(&self) -> Vec<Role> {
        self.grants().roles.clone()
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.grants().catalog.clone()
    }

    fn grants(&self) -> std::sync::RwLockReadGuard<'_, Grants> {
        // A panic elsewhere cannot leave the grants half-written: they are replaced whole.
        self.grants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The token to send, renewed first if it is about to expire. If Keystone cannot renew
    /// it while it is still valid, the current token is used, and renewal is tried again
    /// [`RENEW_RETRY`] later (or at the expiry, if sooner); past its expiry, the failure is
    /// the call's.
    async fn token(&self, call: &'static str) -> Result<Secret> {
        let mut state = self.token.lock().await;
        if state.refresh_at.is_some_and(|at| Instant::now() >= at) {
            debug!(call, "token about to expire: authenticating again");
            if let Err(error) = self.renew(&mut state).await {
                let now = Instant::now();
                let Some(retry_at) = state.postpone(now) else {
                    return Err(error);
                };
                warn!(
                    call, %error, retry_in = ?(retry_at - now),
                    "cannot renew the token ahead of its expiry: going on with the current one"
                );
            }
        }
        Ok(state.value.clone())
    }

    /// A token to replace `refused`, which a service answered 401 to. Several calls may see
    /// the same token refused: only the first authenticates again.
    async fn replace_token(&self, refused: &Secret, call: &'static str) -> Result<Secret> {
        let mut state = self.token.lock().await;
        if state.value == *refused {
            debug!(call, "token refused: authenticating again");
            self.renew(&mut state).await?;
        }
        Ok(state.value.clone())
    }

    async fn renew(&self, state: &mut TokenState) -> Result<()> {
        let token = authenticate(&self.http, &self.config, &self.identity_url).await?;
        let (token, grants) = split(token);
        *state = token;
        *self
            .grants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = grants;
        Ok(())
    }

    /// Sends `request` to its service and returns the successful answer.
    pub async fn send(&self, request: &Request) -> Result<Reply> {
        let endpoint = self.endpoint(request.service, request.name).await?;
        let microversion = match request.wanted {
            None => None,
            Some(wanted) => microversion::negotiate(
                wanted,
                endpoint.versions,
                request.service.base_microversion(),
            )
            .map_err(|mismatch| {
                CloudError::new(request.name, ErrorKind::Unsupported(mismatch.to_string()))
            })?,
        };
        self.send_to(request, request.url(&endpoint.url), microversion)
            .await
    }

    /// Sends `request` and the requests for the next pages of its answer, and returns the
    /// items of all pages, found under `key`.
    pub async fn list<T: serde::de::DeserializeOwned>(
        &self,
        request: &Request,
        key: &str,
    ) -> Result<Vec<T>> {
        let mut reply = self.send(request).await?;
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let (page, next) = reply.page(key)?;
            items.extend(page);
            let Some(next) = next else {
                return Ok(items);
            };
            let url = next_page(&reply.url, &next)
                .map_err(|problem| CloudError::new(request.name, ErrorKind::Decode(problem)))?;
            if !seen.insert(url.clone()) || seen.len() > MAX_PAGES {
                return Err(CloudError::new(
                    request.name,
                    ErrorKind::Decode(format!("the pages do not end (next: {url})")),
                ));
            }
            reply = self.send_to(request, url, reply.microversion).await?;
        }
    }

    /// Sends `request` to `url` with the token, once more with a new token if it is refused.
    async fn send_to(
        &self,
        request: &Request,
        url: Url,
        microversion: Option<Microversion>,
    ) -> Result<Reply> {
        let mut token = self.token(request.name).await?;
        let mut renewed = false;
        loop {
            let headers = headers(&token, request, microversion);
            debug!(call = request.name, method = %request.method, %url, ?microversion, "request");
            let answer = exchange(
                &self.http,
                request.method.clone(),
                url.clone(),
                headers,
                request.body.clone(),
                self.config.request_timeout,
            )
            .await
            .map_err(|kind| CloudError::new(request.name, kind))?;
            debug!(call = request.name, status = answer.status, "answer");
            if answer.status == 401 && !renewed {
                token = self.replace_token(&token, request.name).await?;
                renewed = true;
                continue;
            }
            if !(200..300).contains(&answer.status) {
                return Err(self.error(request, &answer, &token));
            }
            return Ok(Reply {
                name: request.name,
                url,
                microversion,
                body: answer.body,
            });
        }
    }

    /// The error of an unsuccessful answer, without `token` or any secret the request held.
    fn error(&self, request: &Request, answer: &Exchange, token: &Secret) -> CloudError {
        let secrets: Vec<&str> = [token, self.config.credentials.secret()]
            .into_iter()
            .chain(&request.secrets)
            .map(Secret::expose)
            .collect();
        let message = fault::message(&answer.body, &secrets);
        CloudError {
            call: request.name.into(),
            kind: fault::kind(answer.status, message),
            request_id: answer.request_id(),
        }
    }
}

/// Asks Keystone for a token.
async fn authenticate(
    http: &reqwest::Client,
    config: &CloudConfig,
    identity_url: &Url,
) -> Result<Token> {
    const CALL: &str = "authenticate";
    let url = identity_url.join("auth/tokens").map_err(|error| {
        CloudError::new(CALL, ErrorKind::Config(format!("{identity_url}: {error}")))
    })?;
    let body = keystone::token_request(&config.credentials, config.project.as_ref());
    let body = Bytes::from(body.to_string());
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, user_agent());
    let answer = exchange(
        http,
        Method::POST,
        url,
        headers,
        Some(body),
        config.request_timeout,
    )
    .await
    .map_err(|kind| CloudError::new(CALL, kind))?;
    if !(200..300).contains(&answer.status) {
        let message = fault::message(&answer.body, &[config.credentials.secret().expose()]);
        return Err(CloudError {
            call: CALL.into(),
            kind: fault::kind(answer.status, message),
            request_id: answer.request_id(),
        });
    }
    Token::parse(answer.header("x-subject-token"), &answer.body).map_err(|problem| CloudError {
        call: CALL.into(),
        kind: ErrorKind::Decode(problem),
        request_id: answer.request_id(),
    })
}

/// The token state and the grants of a new token.
fn split(token: Token) -> (TokenState, Grants) {
    let now = Instant::now();
    let lifetime = token.lifetime();
    let state = TokenState {
        value: token.value,
        refresh_at: lifetime.map(|lifetime| now + refresh_after(lifetime)),
        expires_at: lifetime.map(|lifetime| now + lifetime),
    };
    let grants = Grants {
        user: token.user,
        roles: token.roles,
        catalog: Arc::new(token.catalog),
    };
    (state, grants)
}

/// How long a token of `lifetime` is used before the client asks for a new one.
fn refresh_after(lifetime: Duration) -> Duration {
    lifetime - REFRESH_MARGIN.min(lifetime / 2)
}

fn user_agent() -> HeaderValue {
    HeaderValue::from_static(concat!("lifeboat-cloud/", env!("CARGO_PKG_VERSION")))
}

/// The headers of a service request.
fn headers(token: &Secret, request: &Request, microversion: Option<Microversion>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, user_agent());
    if request.body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    // A token is printable ASCII; one that is not cannot be sent, and the service's 401 says so.
    if let Ok(mut value) = HeaderValue::from_str(token.expose()) {
        value.set_sensitive(true);
        headers.insert(AUTH_TOKEN, value);
    }
    if let (Some(version), Some(name)) = (microversion, request.service.microversion_name()) {
        let value = |text: String| HeaderValue::from_str(&text).expect("digits and a dot");
        headers.insert(API_VERSION, value(format!("{name} {version}")));
        if request.service == ServiceType::Compute {
            headers.insert(NOVA_API_VERSION, value(version.to_string()));
        }
    }
    headers
}

/// The URL of the next page: the page's own URL with the query of the `next` link. The link
/// names the same collection, but services build it from their own idea of their address,
/// which behind a proxy is often an internal one; and the token must not go anywhere else.
fn next_page(page: &Url, next: &str) -> Result<Url, String> {
    let link = page
        .join(next)
        .map_err(|error| format!("next link {next:?}: {error}"))?;
    let mut url = page.clone();
    url.set_query(link.query());
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::Wanted;

    #[test]
    fn microversion_headers() {
        let token = Secret::new("tok");
        let wanted = Wanted::new(Microversion::new(2, 1), Microversion::new(2, 100));
        let compute = Request::new(
            "get server",
            ServiceType::Compute,
            Method::GET,
            &["servers"],
        )
        .microversion(wanted);
        let headers = headers(&token, &compute, Some(Microversion::new(2, 96)));
        assert_eq!(headers["openstack-api-version"], "compute 2.96");
        assert_eq!(headers["x-openstack-nova-api-version"], "2.96");
        assert_eq!(headers["x-auth-token"], "tok");
        assert!(headers["x-auth-token"].is_sensitive());
        assert!(!format!("{headers:?}").contains("tok\""));
        assert!(headers.get(CONTENT_TYPE).is_none());

        let volume = Request::new("get volume", ServiceType::BlockStorage, Method::GET, &[]);
        let headers = super::headers(&token, &volume, Some(Microversion::new(3, 64)));
        assert_eq!(headers["openstack-api-version"], "volume 3.64");
        assert!(headers.get(NOVA_API_VERSION).is_none());
        let headers = super::headers(&token, &volume, None);
        assert!(headers.get(API_VERSION).is_none());
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let hour = Duration::from_secs(3600);
        assert_eq!(refresh_after(hour), hour - REFRESH_MARGIN);
        assert_eq!(
            refresh_after(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn failed_renewals_are_put_off_until_the_expiry() {
        let now = Instant::now();
        let hour = Duration::from_secs(3600);
        let mut state = TokenState {
            value: Secret::new("tok"),
            refresh_at: Some(now),
            expires_at: Some(now + Duration::from_secs(120)),
        };
        assert_eq!(state.postpone(now), Some(now + RENEW_RETRY));
        assert_eq!(state.refresh_at, Some(now + RENEW_RETRY));
        let late = now + Duration::from_secs(115);
        let expiry = now + Duration::from_secs(120);
        assert_eq!(state.postpone(late), Some(expiry), "never past the expiry");
        assert_eq!(state.postpone(expiry), None, "an expired token is not used");
        assert_eq!(state.postpone(now + hour), None);
        let mut unknown = TokenState {
            value: Secret::new("tok"),
            refresh_at: None,
            expires_at: None,
        };
        assert_eq!(unknown.postpone(now), None);
    }

    #[test]
    fn next_pages_stay_on_the_service() {
        let page = Url::parse("https://cloud.example/volume/v3/p1/volumes/detail?name=x").unwrap();
        let next = next_page(
            &page,
            "http://10.0.0.5:8776/v3/p1/volumes/detail?name=x&limit=2&marker=v2",
        )
        .unwrap();
        assert_eq!(
            next.as_str(),
            "https://cloud.example/volume/v3/p1/volumes/detail?name=x&limit=2&marker=v2"
        );
        let relative = next_page(&page, "detail?marker=v4").unwrap();
        assert_eq!(
            relative.as_str(),
            "https://cloud.example/volume/v3/p1/volumes/detail?marker=v4"
        );
    }
}
