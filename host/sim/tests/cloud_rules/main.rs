//! The cloud simulator's rules, checked on the wire: each test speaks raw HTTP to a simulated
//! cloud and asserts the statuses, bodies and headers that reference/openstack.md §2 records for
//! the real services. Time is driven by [`settle`], which moves the simulated clock on.

mod backups;
mod compute;
mod identity;
mod records;
mod restore;
mod volumes;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use lifeboat_sim::cloud::{Cloud, CloudFixture, CloudSimulator};
use reqwest::Method;
use serde_json::{Value, json};

/// The example clouds (examples/openstack-clouds.yaml), started afresh.
pub async fn example() -> CloudSimulator {
    start(&CloudFixture::builtin()).await
}

pub async fn start(fixture: &CloudFixture) -> CloudSimulator {
    CloudSimulator::start(fixture, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the clouds start")
}

/// Completes whatever is under way: ten seconds of simulated time, far more than any default
/// transition and far less than a token's life.
pub fn settle(cloud: &Cloud) {
    cloud.advance(Duration::from_secs(10));
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// An answer: status, headers and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an OpenStack error envelope (`{"badRequest": {"code": 400, "message": …}}`) and
    /// returns its message.
    #[track_caller]
    pub fn error(&self, status: u16, key: &str) -> &str {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body[key]["code"], status, "{self:?}");
        self.body[key]["message"].as_str().expect("a message")
    }
}

/// Sends a request with optional token, microversion header and JSON body.
pub async fn send(
    method: Method,
    url: &str,
    token: Option<&str>,
    version: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = http().request(method, url);
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    if let Some(version) = version {
        request = request.header("OpenStack-API-Version", version);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// A logged-in user of one project of one cloud.
pub struct Session {
    pub cloud: Arc<Cloud>,
    pub token: String,
    pub project_id: String,
}

impl Session {
    pub async fn login(cloud: &Arc<Cloud>, user: &str, password: &str, project: &str) -> Session {
        let answer = send(
            Method::POST,
            &format!("{}/auth/tokens", cloud.auth_url()),
            None,
            None,
            Some(password_auth(user, password, project)),
        )
        .await;
        assert_eq!(answer.status, 201, "{answer:?}");
        Session {
            cloud: cloud.clone(),
            token: answer
                .header("x-subject-token")
                .expect("a token")
                .to_owned(),
            project_id: answer.body["token"]["project"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// `east`'s administrator, in `production`.
    pub async fn east_admin(sim: &CloudSimulator) -> Session {
        Session::login(
            sim.cloud("east").unwrap(),
            "admin",
            "east-admin-secret",
            "production",
        )
        .await
    }

    /// A Cinder call: `path` follows `/volume/v3/{project}`.
    pub async fn volume(
        &self,
        method: Method,
        path: &str,
        version: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!(
            "{}/volume/v3/{}{path}",
            self.cloud.base_url, self.project_id
        );
        send(
            method,
            &url,
            Some(&self.token),
            Some(&format!("volume {version}")),
            body,
        )
        .await
    }

    /// A Nova call: `path` follows `/compute/v2.1`.
    pub async fn compute(
        &self,
        method: Method,
        path: &str,
        version: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}/compute/v2.1{path}", self.cloud.base_url);
        send(
            method,
            &url,
            Some(&self.token),
            Some(&format!("compute {version}")),
            body,
        )
        .await
    }

    /// GET of a volume's JSON, after settling.
    pub async fn get_volume(&self, id: &str) -> Value {
        let answer = self
            .volume(Method::GET, &format!("/volumes/{id}"), "3.71", None)
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.body["volume"].clone()
    }

    pub async fn get_backup(&self, id: &str) -> Value {
        let answer = self
            .volume(Method::GET, &format!("/backups/{id}"), "3.64", None)
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.body["backup"].clone()
    }

    /// Starts a backup and returns its id.
    pub async fn backup(&self, fields: Value) -> String {
        let answer = self
            .volume(
                Method::POST,
                "/backups",
                "3.64",
                Some(json!({"backup": fields})),
            )
            .await;
        assert_eq!(answer.status, 202, "{answer:?}");
        answer.body["backup"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a blank volume and waits for it.
    pub async fn blank_volume(&self, name: &str, size: u64) -> String {
        let body = json!({"volume": {"size": size, "name": name}});
        let answer = self
            .volume(Method::POST, "/volumes", "3.71", Some(body))
            .await;
        assert_eq!(answer.status, 202, "{answer:?}");
        settle(&self.cloud);
        answer.body["volume"]["id"].as_str().unwrap().to_owned()
    }
}

/// The control plane's row of backup `id`: with its parent, objects and deletion mark.
pub fn backup_row(cloud: &Cloud, id: &str) -> Value {
    let state = cloud.state_json();
    let rows = state["backups"].as_array().expect("a list of backups");
    rows.iter()
        .find(|b| b["id"] == id)
        .expect("the backup is known")
        .clone()
}

pub fn password_auth(user: &str, password: &str, project: &str) -> Value {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}},
    }})
}
