//! The control endpoint: a small JSON API on its own address, beside (never inside) the XAPI
//! surface, through which tests and people inspect pools and inject faults.
//!
//! | request | answer |
//! |---|---|
//! | `GET /pools` | every pool: name, URL, username, password, hosts (name and URL) |
//! | `GET /pools/NAME` | one pool |
//! | `GET /pools/NAME/objects` | every object of every class: `{class: {ref: record}}` |
//! | `GET /pools/NAME/objects/CLASS` | the objects of one class (`VM` or `vm`): `{ref: record}` |
//! | `GET /pools/NAME/objects/CLASS/REF` | one record |
//! | `GET /pools/NAME/faults` | the armed faults |
//! | `POST /pools/NAME/faults` | arms the fault in the body (a [`Fault`]); answers the list |
//! | `DELETE /pools/NAME/faults` | clears every fault and call counter; answers `[]` |
//!
//! Records are as xapi's JSON-RPC sends them (derived fields included). The password is in the
//! answers: the simulator is a local test tool whose credentials are printed at start anyway,
//! and the endpoint listens on loopback unless told otherwise. Errors are JSON
//! `{"error": "…"}` with a 4xx status.

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use lifeboat_xapi::wire::json::to_json;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value as Json, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::PoolHandle;
use super::db::Database;
use super::faults::Fault;
use super::schema::{CLASSES, ClassDef};
use super::server::{Body, full};
use crate::listener::serve_connections;

/// Largest request body accepted (a fault is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Serves the control API for `pools` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    pools: Arc<[PoolHandle]>,
    shutdown: watch::Receiver<bool>,
) {
    serve_connections(listener, shutdown, move |request| {
        let pools = pools.clone();
        async move { answer(handle(&pools, request).await) }
    })
    .await;
}

/// A refused request: its status and why.
struct Refusal(StatusCode, String);

fn not_found(what: impl Into<String>) -> Refusal {
    Refusal(StatusCode::NOT_FOUND, what.into())
}

/// What a request asks for, once its path is understood.
enum Route<'a> {
    Pools,
    Pool(&'a PoolHandle),
    Objects(&'a PoolHandle, Option<&'static ClassDef>, Option<String>),
    Faults(&'a PoolHandle),
}

async fn handle(
    pools: &[PoolHandle],
    request: Request<Incoming>,
) -> Result<(StatusCode, Json), Refusal> {
    let segments: Vec<String> = request
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let route = route(pools, &segments)?;
    let method = request.method().clone();
    match (route, method) {
        (Route::Pools, Method::GET) => Ok((
            StatusCode::OK,
            Json::Array(pools.iter().map(summary).collect()),
        )),
        (Route::Pool(pool), Method::GET) => Ok((StatusCode::OK, summary(pool))),
        (Route::Objects(pool, class, reference), Method::GET) => pool
            .pool
            .read(|db| objects(db, class, reference.as_deref())),
        (Route::Faults(pool), Method::GET) => Ok((StatusCode::OK, faults(pool))),
        (Route::Faults(pool), Method::POST) => {
            let body = Limited::new(request.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|_| {
                    Refusal(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the body must be a fault of at most {MAX_BODY} bytes"),
                    )
                })?
                .to_bytes();
            let fault: Fault = serde_json::from_slice(&body).map_err(|error| {
                Refusal(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not a fault: {error}"),
                )
            })?;
            pool.pool
                .arm(fault)
                .map_err(|problem| Refusal(StatusCode::BAD_REQUEST, problem))?;
            Ok((StatusCode::CREATED, faults(pool)))
        }
        (Route::Faults(pool), Method::DELETE) => {
            pool.pool.clear_faults();
            Ok((StatusCode::OK, faults(pool)))
        }
        (Route::Faults(_), method) => Err(Refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed here: use GET, POST or DELETE"),
        )),
        (_, method) => Err(Refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed here: use GET"),
        )),
    }
}

fn route<'a>(pools: &'a [PoolHandle], segments: &[String]) -> Result<Route<'a>, Refusal> {
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let pool = |name: &str| {
        pools.iter().find(|p| p.name == name).ok_or_else(|| {
            let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
            not_found(format!(
                "no pool named {name:?} (pools: {})",
                names.join(", ")
            ))
        })
    };
    match segments.as_slice() {
        ["pools"] => Ok(Route::Pools),
        ["pools", name] => Ok(Route::Pool(pool(name)?)),
        ["pools", name, "faults"] => Ok(Route::Faults(pool(name)?)),
        ["pools", name, "objects"] => Ok(Route::Objects(pool(name)?, None, None)),
        ["pools", name, "objects", class] => {
            Ok(Route::Objects(pool(name)?, Some(find_class(class)?), None))
        }
        ["pools", name, "objects", class, reference] => Ok(Route::Objects(
            pool(name)?,
            Some(find_class(class)?),
            Some((*reference).to_owned()),
        )),
        _ => Err(not_found(
            "no such endpoint: see GET /pools, /pools/NAME, /pools/NAME/objects[/CLASS[/REF]] \
             and GET, POST or DELETE /pools/NAME/faults",
        )),
    }
}

/// A class by its API name (`VM`) or its lowercase event name (`vm`).
fn find_class(name: &str) -> Result<&'static ClassDef, Refusal> {
    CLASSES
        .iter()
        .find(|c| c.name == name || c.event_name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = CLASSES.iter().map(|c| c.name).collect();
            not_found(format!(
                "no class named {name:?} (classes: {})",
                names.join(", ")
            ))
        })
}

fn summary(pool: &PoolHandle) -> Json {
    json!({
        "name": pool.name,
        "url": pool.url,
        "username": pool.username,
        "password": pool.password.expose(),
        "hosts": pool.hosts.iter()
            .map(|(name, url)| json!({"name": name, "url": url}))
            .collect::<Vec<_>>(),
    })
}

fn faults(pool: &PoolHandle) -> Json {
    serde_json::to_value(pool.pool.faults.list()).expect("faults are plain data")
}

fn objects(
    db: &Database,
    class: Option<&'static ClassDef>,
    reference: Option<&str>,
) -> Result<(StatusCode, Json), Refusal> {
    let table = |class: &ClassDef| -> Json {
        let mut references: Vec<&str> = db.references(class).collect();
        references.sort_unstable();
        Json::Object(
            references
                .into_iter()
                .filter_map(|r| Some((r.to_owned(), to_json(&db.record(class, r)?))))
                .collect(),
        )
    };
    let body = match (class, reference) {
        (None, _) => Json::Object(
            CLASSES
                .iter()
                .map(|class| (class.name.to_owned(), table(class)))
                .collect::<Map<_, _>>(),
        ),
        (Some(class), None) => table(class),
        (Some(class), Some(reference)) => db
            .record(class, reference)
            .map(|record| to_json(&record))
            .ok_or_else(|| not_found(format!("no {} {reference:?}", class.name)))?,
    };
    Ok((StatusCode::OK, body))
}

fn answer(outcome: Result<(StatusCode, Json), Refusal>) -> Response<Body> {
    let (status, body) = match outcome {
        Ok(answer) => answer,
        Err(Refusal(status, message)) => (status, json!({ "error": message })),
    };
    let mut bytes = serde_json::to_vec_pretty(&body).expect("JSON values always encode");
    bytes.push(b'\n');
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(full(bytes))
        .expect("a response with static headers is valid")
}
