//! A recording HTTP proxy in front of a simulated cloud, to see what the client sends and where,
//! and to answer some requests in the simulator's place (a service down, a version document
//! naming another host, an error body that echoes a secret).
//!
//! Every URL of the cloud in the answers it forwards (the catalog, the version documents'
//! `self` links) is rewritten to the proxy's own address, so a client given the proxy's auth URL
//! sends everything through it. Each connection carries one request (`Connection: close`).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A request the proxy received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The path with its query.
    pub target: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path() == path
    }
}

/// An answer the proxy gives in the cloud's place.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: serde_json::Value) -> Canned {
        Canned {
            status,
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Canned {
        Canned {
            status,
            content_type: "text/plain",
            body: body.into(),
        }
    }
}

type Hook = Arc<dyn Fn(&Seen) -> Option<Canned> + Send + Sync>;

#[derive(Default)]
struct Shared {
    seen: Vec<Seen>,
    hook: Option<Hook>,
}

/// A running proxy; dropping it stops it.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`, a simulated cloud's base URL).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(Shared::default()));
        let forward = Forward {
            http: plain_http_client(),
            upstream: upstream.to_owned(),
            base_url: base_url.clone(),
            shared: shared.clone(),
        };
        let forward = Arc::new(forward);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let forward = forward.clone();
                tokio::spawn(async move {
                    let _ = forward.serve(stream).await;
                });
            }
        });
        Proxy {
            base_url,
            shared,
            task,
        }
    }

    /// Keystone's v3 URL through the proxy.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base_url)
    }

    /// Answers the requests `hook` returns an answer for in the cloud's place; replaces any
    /// earlier hook.
    pub fn intercept(&self, hook: impl Fn(&Seen) -> Option<Canned> + Send + Sync + 'static) {
        self.shared.lock().unwrap().hook = Some(Arc::new(hook));
    }

    /// Forwards every request again.
    pub fn clear(&self) {
        self.shared.lock().unwrap().hook = None;
    }

    /// The requests received so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }

    /// The requests received so far that are `method` on `path` (without query).
    pub fn seen_at(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| seen.is(method, path))
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Forward {
    http: reqwest::Client,
    upstream: String,
    base_url: String,
    shared: Arc<Mutex<Shared>>,
}

impl Forward {
    async fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let Some(seen) = read_request(&mut stream).await? else {
            return Ok(());
        };
        let hook = {
            let mut shared = self.shared.lock().unwrap();
            shared.seen.push(seen.clone());
            shared.hook.clone()
        };
        let canned = hook.and_then(|hook| hook(&seen));
        let (status, headers, body) = match canned {
            Some(canned) => (
                canned.status,
                vec![("content-type".to_owned(), canned.content_type.to_owned())],
                canned.body.into_bytes(),
            ),
            None => self.forward(&seen).await,
        };
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("Unknown");
        let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in &headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        ));
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    }

    /// Sends `seen` to the cloud and returns its answer, the cloud's URLs made the proxy's.
    async fn forward(&self, seen: &Seen) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let method = reqwest::Method::from_bytes(seen.method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{}", self.upstream, seen.target));
        for (name, value) in &seen.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                request = request.header(name, value);
            }
        }
        if !seen.body.is_empty() {
            request = request.body(seen.body.clone());
        }
        let response = request.send().await.expect("the simulated cloud answers");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
            .map(|(name, value)| {
                let value = value.to_str().unwrap_or_default();
                (name.as_str().to_owned(), self.rewrite(value))
            })
            .collect();
        let body = response.bytes().await.expect("the cloud's body");
        let body = match std::str::from_utf8(&body) {
            Ok(text) => self.rewrite(text).into_bytes(),
            Err(_) => body.to_vec(),
        };
        (status, headers, body)
    }

    fn rewrite(&self, text: &str) -> String {
        text.replace(&self.upstream, &self.base_url)
    }
}

const HOP_BY_HOP: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
];

/// Reads one request: its head up to the blank line, then `Content-Length` bytes of body.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Seen>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);
    Ok(Some(Seen {
        method,
        target,
        headers,
        body,
    }))
}

/// A client for plain HTTP; reqwest still wants a TLS configuration, and the client's crate
/// installs no process-wide crypto provider.
pub fn plain_http_client() -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
