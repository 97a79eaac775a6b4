//! The simulator's own control plane, under `/_sim` on each cloud's address (not part of
//! OpenStack; keep it on loopback):
//!
//! - `GET /_sim/state`: projects, users, volumes (with a digest of their contents), snapshots,
//!   backups (with their parents and objects), servers, the store's objects, the clock;
//! - `GET|PUT /_sim/volumes/ID/content[?offset=N]`: a volume's bytes, read or written as a guest
//!   would;
//! - `POST /_sim/clock/advance` `{"seconds": 1.5}`: moves simulated time on;
//! - `GET|POST|DELETE /_sim/faults`: the armed faults (see [`Fault`]);
//! - `POST /_sim/timings`: how long each asynchronous operation takes (missing fields take their
//!   defaults).

use std::time::Duration;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::{Incoming, Reply, Service, failure, no_route, wrong_method};
use crate::cloud::Cloud;
use crate::cloud::clock::{MAX_ADVANCE, timestamp};
use crate::cloud::fixture::Timings;
use crate::cloud::state::{CloudState, Fail, Fault};

pub fn handle(cloud: &Cloud, request: &Incoming, path: &[&str]) -> Reply {
    let outcome = match (path, &request.method) {
        (["state"], &Method::GET) => Ok(Reply::ok(cloud.with(|s| state_json(s)))),
        (["volumes", id, "content"], &Method::GET) => cloud.volume_content(id).map(Reply::bytes),
        (["volumes", id, "content"], &Method::PUT) => {
            let offset = request.query("offset").unwrap_or("0");
            match offset.parse() {
                Ok(offset) => cloud
                    .write_volume(id, offset, &request.body)
                    .map(|()| Reply::empty(StatusCode::NO_CONTENT)),
                Err(_) => Err(Fail::BadRequest(format!(
                    "offset {offset:?} is not a number"
                ))),
            }
        }
        (["clock", "advance"], &Method::POST) => advance(cloud, request),
        (["faults"], &Method::GET) => Ok(Reply::ok(cloud.with(|s| json!(s.faults)))),
        (["faults"], &Method::POST) => request
            .json::<Fault>()
            .and_then(|fault| fault.check().map_err(Fail::BadRequest).map(|()| fault))
            .map(|fault| {
                cloud.arm(&fault);
                Reply::empty(StatusCode::NO_CONTENT)
            }),
        (["faults"], &Method::DELETE) => {
            cloud.with(|s| s.faults.clear());
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        (["timings"], &Method::POST) => request.json::<Timings>().map(|timings| {
            cloud.with(|s| s.timings = timings);
            Reply::empty(StatusCode::NO_CONTENT)
        }),
        (
            ["state"] | ["volumes", _, "content"] | ["clock", "advance"] | ["faults"] | ["timings"],
            _,
        ) => Ok(wrong_method(request)),
        _ => Err(no_route(request)),
    };
    outcome.unwrap_or_else(|fail| failure(Service::Control, &fail))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

fn advance(cloud: &Cloud, request: &Incoming) -> Result<Reply, Fail> {
    let Advance { seconds } = request.json()?;
    let by = Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|by| *by <= MAX_ADVANCE)
        .ok_or_else(|| {
            Fail::BadRequest(format!(
                "seconds {seconds} is not a duration of at most a century"
            ))
        })?;
    cloud.advance(by);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Everything a test may want to check, without secrets.
pub fn state_json(state: &CloudState) -> Value {
    let projects: Vec<Value> = state
        .identity
        .projects
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name}))
        .collect();
    let users: Vec<Value> = state
        .identity
        .users
        .iter()
        .map(|u| json!({"id": u.id, "name": u.name, "roles": u.roles}))
        .collect();
    let volumes: Vec<Value> = state
        .volumes
        .values()
        .map(|v| {
            json!({"id": v.id, "name": v.name, "description": v.description,
                   "project_id": v.project_id, "status": v.status, "size": v.size,
                   "bootable": v.bootable, "metadata": v.metadata,
                   "image_metadata": v.image_metadata, "blocks": v.content.len(),
                   "sha256": v.content.digest(),
                   "attachments": v.attachments.iter()
                       .map(|a| json!({"server_id": a.server_id, "device": a.device}))
                       .collect::<Vec<_>>()})
        })
        .collect();
    let snapshots: Vec<Value> = state
        .snapshots
        .values()
        .map(|s| json!({"id": s.id, "volume_id": s.volume_id, "status": s.status}))
        .collect();
    let backups: Vec<Value> = state
        .backups
        .values()
        .map(|b| {
            json!({"id": b.id, "name": b.name, "project_id": b.project_id,
                   "volume_id": b.volume_id, "status": b.status, "parent_id": b.parent_id,
                   "deleted": b.deleted, "object_count": b.object_count,
                   "container": b.container, "service_metadata": b.service_metadata,
                   "account": b.account, "data_timestamp": timestamp(b.data_timestamp),
                   "fail_reason": b.fail_reason})
        })
        .collect();
    let servers: Vec<Value> = state
        .servers
        .values()
        .map(|s| {
            json!({"id": s.id, "name": s.name, "project_id": s.project_id, "status": s.status,
                   "flavor": s.flavor.name,
                   "volumes": s.bdms.iter().map(|b| json!({"id": b.volume_id, "device": b.device,
                       "boot_index": b.boot_index})).collect::<Vec<_>>()})
        })
        .collect();
    let objects: Vec<Value> = state
        .store
        .as_ref()
        .map(|store| {
            store
                .inventory()
                .into_iter()
                .map(|(account, container, name, size)| {
                    json!({"account": account, "container": container, "name": name, "size": size})
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "name": state.name,
        "region": state.region,
        "clock_seconds": state.clock.now().as_secs_f64(),
        "pending": state.pending_count(),
        "projects": projects,
        "users": users,
        "volumes": volumes,
        "snapshots": snapshots,
        "backups": backups,
        "servers": servers,
        "store": state.store.as_ref().map(|s| json!({"name": s.name, "objects": objects})),
    })
}
