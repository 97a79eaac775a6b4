//! Cinder v3's volume, snapshot, volume type and transfer routes; `/backups` goes on to the
//! backups module.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::{Reply, no_route, wrong_method};
use super::{Call, accepted_empty, all_tenants, one_action, required, views, wrapped};
use crate::cloud::microversion::Microversion;
use crate::cloud::state::Fail;
use crate::cloud::state::volumes::{NewVolume, VolumeSource};

pub fn handle(call: &mut Call<'_>, path: &[&str]) -> Result<Reply, Fail> {
    let method = call.request.method.clone();
    match (path, &method) {
        (["backups", rest @ ..], _) => super::backups::handle(call, rest),
        (["volumes"], &Method::POST) => create(call),
        (["volumes"] | ["volumes", "detail"], &Method::GET) => list(call),
        (["volumes", id], &Method::GET) => {
            let volume = call.state.volume(call.caller, id)?;
            Ok(Reply::ok(json!({"volume": views::volume(call, volume)})))
        }
        (["volumes", id], &Method::PUT) => update(call, id),
        (["volumes", id], &Method::DELETE) => {
            call.state.delete_volume(call.caller, id)?;
            Ok(accepted_empty())
        }
        (["volumes", id, "action"], &Method::POST) => action(call, id),
        (["volumes", id, "metadata"], &Method::GET) => {
            let volume = call.state.volume(call.caller, id)?;
            Ok(Reply::ok(json!({"metadata": volume.metadata})))
        }
        (["volumes", id, "metadata"], &Method::POST) => {
            let metadata = strings(&wrapped::<Value>(call.request, "metadata")?, "metadata")?;
            let volume = call
                .state
                .merge_volume_metadata(call.caller, id, metadata)?;
            Ok(Reply::ok(json!({"metadata": volume.metadata})))
        }
        (["snapshots"], &Method::POST) => create_snapshot(call),
        (["snapshots"] | ["snapshots", "detail"], &Method::GET) => {
            let snapshots: Vec<Value> = call
                .state
                .snapshots
                .values()
                .filter(|s| s.project_id == call.caller.project_id)
                .map(|s| views::snapshot(call, s))
                .collect();
            Ok(Reply::ok(json!({"snapshots": snapshots})))
        }
        (["snapshots", id], &Method::GET) => {
            let snapshot = call.state.snapshot(call.caller, id)?;
            Ok(Reply::ok(
                json!({"snapshot": views::snapshot(call, snapshot)}),
            ))
        }
        (["snapshots", id], &Method::DELETE) => {
            call.state.delete_snapshot(call.caller, id)?;
            Ok(accepted_empty())
        }
        (["types"], &Method::GET) => {
            let types: Vec<Value> = call.state.volume_types.iter().map(type_view).collect();
            Ok(Reply::ok(json!({"volume_types": types})))
        }
        (["types", id], &Method::GET) => {
            let kind = call
                .state
                .volume_types
                .iter()
                .find(|t| &t.id == id || &t.name == id)
                .ok_or_else(|| Fail::NotFound(format!("Volume type {id} could not be found.")))?;
            Ok(Reply::ok(json!({"volume_type": type_view(kind)})))
        }
        (
            [
                kind @ ("volume-transfers" | "os-volume-transfer"),
                rest @ ..,
            ],
            _,
        ) => transfers(call, kind, rest),
        (["volumes" | "snapshots" | "types", ..], _) => Ok(wrong_method(call.request)),
        _ => Err(no_route(call.request)),
    }
}

fn type_view(kind: &crate::cloud::state::VolumeType) -> Value {
    json!({"id": kind.id, "name": kind.name, "is_public": true, "description": null,
           "extra_specs": {}, "encrypted": kind.encrypted})
}

/// Reads a size that Cinder takes as a number or a numeric string.
fn size_of(value: &Value) -> Result<Option<u64>, Fail> {
    match value {
        Value::Null => Some(None),
        Value::Number(n) => n.as_u64().map(Some),
        Value::String(s) => s.trim().parse().ok().map(Some),
        _ => None,
    }
    .ok_or_else(|| {
        Fail::BadRequest(format!(
            "Invalid input for field/attribute size. Value: {value}. It must be an integer."
        ))
    })
}

#[derive(Deserialize)]
struct NewVolumeBody {
    #[serde(default)]
    size: Value,
    name: Option<String>,
    description: Option<String>,
    volume_type: Option<String>,
    availability_zone: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    snapshot_id: Option<String>,
    source_volid: Option<String>,
    #[serde(rename = "imageRef")]
    image_ref: Option<String>,
    backup_id: Option<String>,
}

fn create(call: &mut Call<'_>) -> Result<Reply, Fail> {
    let body: NewVolumeBody = wrapped(call.request, "volume")?;
    let sources = [
        body.snapshot_id.clone().map(VolumeSource::Snapshot),
        body.source_volid.clone().map(VolumeSource::Volume),
        body.image_ref.clone().map(VolumeSource::Image),
        body.backup_id.clone().map(VolumeSource::Backup),
    ];
    let mut given = sources.into_iter().flatten();
    let source = given.next().unwrap_or(VolumeSource::Blank);
    if given.next().is_some() {
        return Err(Fail::BadRequest(
            "Invalid input: only one of snapshot_id, source_volid, imageRef and backup_id may be \
             given."
                .into(),
        ));
    }
    if matches!(source, VolumeSource::Backup(_)) && call.version < Microversion::new(3, 47) {
        return Err(Fail::BadRequest(
            "Invalid input: backup_id needs microversion 3.47 or later.".into(),
        ));
    }
    let request = NewVolume {
        size: size_of(&body.size)?,
        name: body.name,
        description: body.description,
        volume_type: body.volume_type,
        availability_zone: body.availability_zone,
        metadata: body.metadata,
        source,
    };
    let id = call.state.create_volume(call.caller, request)?;
    let volume = call.state.volume(call.caller, &id)?;
    Ok(Reply::accepted(
        json!({"volume": views::volume(call, volume)}),
    ))
}

fn list(call: &mut Call<'_>) -> Result<Reply, Fail> {
    let all = all_tenants(call);
    let name = call.request.query("name");
    let status = call.request.query("status");
    let volumes: Vec<Value> = call
        .state
        .volumes
        .values()
        .filter(|v| all || v.project_id == call.caller.project_id)
        .filter(|v| name.is_none_or(|n| v.name.as_deref() == Some(n)))
        .filter(|v| status.is_none_or(|s| v.status == s))
        .map(|v| views::volume(call, v))
        .collect();
    Ok(Reply::ok(json!({"volumes": volumes})))
}

fn update(call: &mut Call<'_>, id: &str) -> Result<Reply, Fail> {
    let changes = wrapped(call.request, "volume")?;
    call.state.update_volume(call.caller, id, changes)?;
    let volume = call.state.volume(call.caller, id)?;
    Ok(Reply::ok(json!({"volume": views::volume(call, volume)})))
}

/// `os-set_bootable` takes a boolean, or a string Cinder reads as one.
fn truthy(value: &Value) -> Result<bool, Fail> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s)
            if ["true", "t", "1", "yes", "y", "on"].contains(&s.to_lowercase().as_str()) =>
        {
            Ok(true)
        }
        Value::String(s)
            if ["false", "f", "0", "no", "n", "off"].contains(&s.to_lowercase().as_str()) =>
        {
            Ok(false)
        }
        other => Err(Fail::BadRequest(format!(
            "Invalid value for 'bootable': {other}. It must be a boolean."
        ))),
    }
}

fn strings(value: &Value, field: &str) -> Result<BTreeMap<String, String>, Fail> {
    serde_json::from_value(value.clone()).map_err(|_| {
        Fail::BadRequest(format!(
            "Invalid input: '{field}' must map strings to strings."
        ))
    })
}

fn action(call: &mut Call<'_>, id: &str) -> Result<Reply, Fail> {
    let (name, argument) = one_action(call.request)?;
    match name.as_str() {
        "os-set_bootable" => {
            let bootable = required(argument.get("bootable"), "bootable")?;
            call.state
                .set_bootable(call.caller, id, truthy(bootable)?)?;
            Ok(Reply::empty(StatusCode::OK))
        }
        "os-set_image_metadata" => {
            let metadata = required(argument.get("metadata"), "metadata")?;
            let metadata = strings(metadata, "metadata")?;
            call.state
                .set_image_metadata(call.caller, id, metadata.clone())?;
            Ok(Reply::ok(json!({"metadata": metadata})))
        }
        "os-reset_status" => {
            let status = required(argument.get("status").and_then(Value::as_str), "status")?;
            call.state
                .reset_volume_status(call.caller, id, status.to_owned())?;
            Ok(accepted_empty())
        }
        other => Err(Fail::BadRequest(format!(
            "There is no such action: {other}"
        ))),
    }
}

#[derive(Deserialize)]
struct NewSnapshot {
    volume_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    force: Value,
}

fn create_snapshot(call: &mut Call<'_>) -> Result<Reply, Fail> {
    let body: NewSnapshot = wrapped(call.request, "snapshot")?;
    let volume_id = required(body.volume_id, "volume_id")?;
    let force = match &body.force {
        Value::Null => None,
        other => Some(truthy(other)?),
    };
    let id = call.state.create_snapshot(
        call.caller,
        &volume_id,
        body.name,
        body.description,
        force,
        call.version,
    )?;
    let snapshot = call.state.snapshot(call.caller, &id)?;
    Ok(Reply::accepted(
        json!({"snapshot": views::snapshot(call, snapshot)}),
    ))
}

#[derive(Deserialize)]
struct NewTransfer {
    volume_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Accept {
    auth_key: Option<String>,
}

fn transfers(call: &mut Call<'_>, kind: &str, path: &[&str]) -> Result<Reply, Fail> {
    if kind == "volume-transfers" && call.version < Microversion::new(3, 55) {
        return Err(no_route(call.request));
    }
    let method = call.request.method.clone();
    match (path, &method) {
        ([], &Method::POST) => {
            let body: NewTransfer = wrapped(call.request, "transfer")?;
            let volume_id = required(body.volume_id, "volume_id")?;
            let transfer = call
                .state
                .create_transfer(call.caller, &volume_id, body.name)?;
            let mut view = views::transfer(call, &transfer);
            view["auth_key"] = json!(transfer.auth_key.expose());
            Ok(Reply::accepted(json!({"transfer": view})))
        }
        ([] | ["detail"], &Method::GET) => {
            let transfers: Vec<Value> = call
                .state
                .transfers
                .values()
                .filter(|t| {
                    call.state
                        .volumes
                        .get(&t.volume_id)
                        .is_some_and(|v| v.project_id == call.caller.project_id)
                })
                .map(|t| views::transfer(call, t))
                .collect();
            Ok(Reply::ok(json!({"transfers": transfers})))
        }
        ([id], &Method::GET) => {
            let transfer = call
                .state
                .transfers
                .get(*id)
                .ok_or_else(|| crate::cloud::state::volumes::not_found("Transfer", id))?;
            Ok(Reply::ok(
                json!({"transfer": views::transfer(call, transfer)}),
            ))
        }
        ([id], &Method::DELETE) => {
            call.state.delete_transfer(call.caller, id)?;
            Ok(accepted_empty())
        }
        ([id, "accept"], &Method::POST) => {
            let accept: Accept = wrapped(call.request, "accept")?;
            let key = required(accept.auth_key, "auth_key")?;
            let transfer = call.state.accept_transfer(call.caller, id, &key)?;
            let view = json!({"transfer": {"id": transfer.id, "volume_id": transfer.volume_id,
                                           "name": transfer.name}});
            Ok(Reply::accepted(view))
        }
        _ => Ok(wrong_method(call.request)),
    }
}
