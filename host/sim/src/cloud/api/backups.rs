//! Cinder v3's backup routes: create, show, list, update, delete, the administrator's actions,
//! restore, and the record export and import.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::wire::{Reply, no_route, wrong_method};
use super::{Call, accepted_empty, all_tenants, links, one_action, required, views, wrapped};
use crate::cloud::microversion::Microversion;
use crate::cloud::state::Fail;
use crate::cloud::state::backups::NewBackup;
use crate::cloud::state::export::BackupRecord;

pub fn handle(call: &mut Call<'_>, path: &[&str]) -> Result<Reply, Fail> {
    let method = call.request.method.clone();
    match (path, &method) {
        ([], &Method::POST) => create(call),
        ([] | ["detail"], &Method::GET) => list(call),
        (["import_record"], &Method::POST) => import(call),
        ([id], &Method::GET) => {
            let backup = call.state.backup(call.caller, id)?;
            Ok(Reply::ok(json!({"backup": views::backup(call, backup)})))
        }
        ([id], &Method::PUT) if call.version >= Microversion::new(3, 9) => update(call, id),
        ([id], &Method::DELETE) => {
            call.state.delete_backup(call.caller, id, false)?;
            Ok(accepted_empty())
        }
        ([id, "restore"], &Method::POST) => restore(call, id),
        ([id, "export_record"], &Method::GET) => {
            let record = call.state.export_backup(call.caller, id)?;
            Ok(Reply::ok(json!({"backup-record": {
                "backup_service": record.backup_service,
                "backup_url": record.backup_url,
            }})))
        }
        ([id, "action"], &Method::POST) => action(call, id),
        (
            [] | ["detail"] | ["import_record"] | [_] | [_, "restore" | "export_record" | "action"],
            _,
        ) => Ok(wrong_method(call.request)),
        _ => Err(no_route(call.request)),
    }
}

/// The keys a create body may have; from 3.53 Cinder refuses others.
const CREATE_KEYS: &[&str] = &[
    "volume_id",
    "container",
    "description",
    "incremental",
    "force",
    "name",
    "snapshot_id",
    "metadata",
    "availability_zone",
];

#[derive(Deserialize)]
struct NewBackupBody {
    volume_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    container: Option<String>,
    #[serde(default)]
    incremental: bool,
    #[serde(default)]
    force: bool,
    snapshot_id: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    availability_zone: Option<String>,
}

fn create(call: &mut Call<'_>) -> Result<Reply, Fail> {
    let fields: Map<String, Value> = wrapped(call.request, "backup")?;
    if call.version >= Microversion::new(3, 53)
        && let Some(unknown) = fields.keys().find(|k| !CREATE_KEYS.contains(&k.as_str()))
    {
        return Err(Fail::BadRequest(format!(
            "Invalid input for field/attribute backup. Additional properties are not allowed \
             ('{unknown}' was unexpected)"
        )));
    }
    let body: NewBackupBody = serde_json::from_value(Value::Object(fields))
        .map_err(|e| Fail::BadRequest(format!("Invalid input for field/attribute backup: {e}")))?;
    if !body.metadata.is_empty() && call.version < Microversion::new(3, 43) {
        return Err(Fail::BadRequest(
            "Invalid input: metadata needs microversion 3.43.".into(),
        ));
    }
    let request = NewBackup {
        volume_id: required(body.volume_id, "volume_id")?,
        name: body.name,
        description: body.description,
        container: body.container,
        incremental: body.incremental,
        force: body.force,
        snapshot_id: body.snapshot_id,
        metadata: body.metadata,
        // Cinder reads a backup's availability zone from 3.51 on.
        availability_zone: body
            .availability_zone
            .filter(|_| call.version >= Microversion::new(3, 51)),
    };
    let id = call.state.create_backup(call.caller, request)?;
    let backup = call.state.backup(call.caller, &id)?;
    let href = format!(
        "{}/volume/v3/{}/backups/{id}",
        call.base, call.caller.project_id
    );
    Ok(Reply::accepted(
        json!({"backup": {"id": id, "name": backup.name, "links": links(href)}}),
    ))
}

fn list(call: &mut Call<'_>) -> Result<Reply, Fail> {
    let all = all_tenants(call);
    let name = call.request.query("name");
    let status = call.request.query("status");
    let volume_id = call.request.query("volume_id");
    let backups: Vec<Value> = call
        .state
        .backups
        .values()
        .filter(|b| !b.deleted && (all || b.project_id == call.caller.project_id))
        .filter(|b| name.is_none_or(|n| b.name.as_deref() == Some(n)))
        .filter(|b| status.is_none_or(|s| b.status == s))
        .filter(|b| volume_id.is_none_or(|v| b.volume_id == v))
        .map(|b| views::backup(call, b))
        .collect();
    let count = backups.len();
    let mut body = json!({"backups": backups});
    if call.version >= Microversion::new(3, 45) && call.request.query("with_count").is_some() {
        body["count"] = json!(count);
    }
    Ok(Reply::ok(body))
}

fn update(call: &mut Call<'_>, id: &str) -> Result<Reply, Fail> {
    let changes = wrapped(call.request, "backup")?;
    call.state.update_backup(call.caller, id, changes)?;
    let backup = call.state.backup(call.caller, id)?;
    Ok(Reply::ok(json!({"backup": views::backup(call, backup)})))
}

#[derive(Deserialize)]
struct RestoreFields {
    volume_id: Option<String>,
    name: Option<String>,
}

fn restore(call: &mut Call<'_>, id: &str) -> Result<Reply, Fail> {
    let fields: RestoreFields = wrapped(call.request, "restore")?;
    let restore =
        call.state
            .restore_backup(call.caller, id, fields.volume_id.as_deref(), fields.name)?;
    Ok(Reply::accepted(json!({"restore": {
        "backup_id": restore.backup_id,
        "volume_id": restore.volume_id,
        "volume_name": restore.volume_name,
    }})))
}

#[derive(Deserialize)]
struct RecordFields {
    backup_service: Option<String>,
    backup_url: Option<String>,
}

fn import(call: &mut Call<'_>) -> Result<Reply, Fail> {
    let record: RecordFields = wrapped(call.request, "backup-record")?;
    let record = BackupRecord {
        backup_service: required(record.backup_service, "backup_service")?,
        backup_url: required(record.backup_url, "backup_url")?,
    };
    let id = call.state.import_backup(call.caller, &record)?;
    let href = format!(
        "{}/volume/v3/{}/backups/{id}",
        call.base, call.caller.project_id
    );
    Ok(Reply::json(
        StatusCode::CREATED,
        json!({"backup": {"id": id, "name": null, "links": links(href)}}),
    ))
}

fn action(call: &mut Call<'_>, id: &str) -> Result<Reply, Fail> {
    let (name, argument) = one_action(call.request)?;
    match name.as_str() {
        "os-force_delete" => call.state.delete_backup(call.caller, id, true)?,
        "os-reset_status" => {
            let status = required(argument.get("status").and_then(Value::as_str), "status")?;
            call.state
                .reset_backup_status(call.caller, id, status.to_owned())?;
        }
        other => {
            return Err(Fail::BadRequest(format!(
                "There is no such action: {other}"
            )));
        }
    }
    Ok(accepted_empty())
}
