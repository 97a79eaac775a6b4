//! Nova v2.1's routes: flavors, servers (boot from volumes, show, list, delete) and their volume
//! attachments.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::{Reply, no_route, wrong_method};
use super::{Call, links, required, views, wrapped};
use crate::cloud::microversion::Microversion;
use crate::cloud::state::Fail;
use crate::cloud::state::compute::{NetworkRequest, NewBdm, NewServer};

pub fn handle(call: &mut Call<'_>, path: &[&str]) -> Result<Reply, Fail> {
    let method = call.request.method.clone();
    match (path, &method) {
        (["flavors"] | ["flavors", "detail"], &Method::GET) => {
            let detail = path.len() == 2;
            let flavors: Vec<Value> = call
                .state
                .flavors
                .iter()
                .map(|f| {
                    let view = views::flavor(call, f);
                    if detail {
                        view
                    } else {
                        json!({"id": view["id"], "name": view["name"], "links": view["links"]})
                    }
                })
                .collect();
            Ok(Reply::ok(json!({"flavors": flavors})))
        }
        (["flavors", id, "os-extra_specs"], &Method::GET) => {
            let flavor = call.state.flavor(id)?;
            Ok(Reply::ok(json!({"extra_specs": flavor.extra_specs})))
        }
        (["flavors", id], &Method::GET) => {
            let flavor = call.state.flavor(id)?;
            Ok(Reply::ok(json!({"flavor": views::flavor(call, flavor)})))
        }
        (["servers"], &Method::POST) => create(call),
        (["servers"] | ["servers", "detail"], &Method::GET) => list_servers(call, path.len() == 2),
        (["servers", id], &Method::GET) => {
            let server = call.state.server(call.caller, id)?;
            Ok(Reply::ok(json!({"server": views::server(call, server)})))
        }
        (["servers", id], &Method::DELETE) => {
            call.state.delete_server(call.caller, id)?;
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        (["servers", id, "os-volume_attachments"], &Method::GET) => attachments(call, id),
        (["os-keypairs"], &Method::GET) => Ok(Reply::ok(json!({"keypairs": []}))),
        (["flavors", ..] | ["servers", ..] | ["os-keypairs"], _) => Ok(wrong_method(call.request)),
        _ => Err(no_route(call.request)),
    }
}

/// Nova's server list: `name` is a regular expression searched in the name, `status` exact.
fn list_servers(call: &mut Call<'_>, detail: bool) -> Result<Reply, Fail> {
    let name = match call.request.query("name") {
        Some(pattern) => Some(regex::Regex::new(pattern).map_err(|_| {
            Fail::BadRequest(format!(
                "Invalid filter: name {pattern:?} is not a regular expression."
            ))
        })?),
        None => None,
    };
    let status = call.request.query("status");
    let servers: Vec<Value> = call
        .state
        .servers
        .values()
        .filter(|s| s.project_id == call.caller.project_id)
        .filter(|s| name.as_ref().is_none_or(|n| n.is_match(&s.name)))
        .filter(|s| status.is_none_or(|wanted| s.status.eq_ignore_ascii_case(wanted)))
        .map(|s| {
            let view = views::server(call, s);
            if detail {
                view
            } else {
                json!({"id": view["id"], "name": view["name"], "links": view["links"]})
            }
        })
        .collect();
    Ok(Reply::ok(json!({"servers": servers})))
}

fn attachments(call: &mut Call<'_>, id: &str) -> Result<Reply, Fail> {
    let server = call.state.server(call.caller, id)?;
    let at = |minor| call.version >= Microversion::new(2, minor);
    let list: Vec<Value> = server
        .bdms
        .iter()
        .map(|b| {
            let mut view = json!({"id": b.volume_id, "volumeId": b.volume_id,
                                  "serverId": server.id, "device": b.device});
            if at(79) {
                view["delete_on_termination"] = json!(b.delete_on_termination);
            }
            if at(70) {
                view["tag"] = Value::Null;
            }
            view
        })
        .collect();
    Ok(Reply::ok(json!({"volumeAttachments": list})))
}

#[derive(Deserialize)]
struct ServerFields {
    name: Option<String>,
    description: Option<String>,
    #[serde(rename = "flavorRef")]
    flavor_ref: Option<String>,
    #[serde(rename = "imageRef")]
    image_ref: Option<String>,
    networks: Option<Value>,
    #[serde(default)]
    block_device_mapping_v2: Vec<BdmFields>,
    #[serde(default)]
    security_groups: Vec<GroupFields>,
    key_name: Option<String>,
    user_data: Option<String>,
    availability_zone: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
struct BdmFields {
    uuid: Option<String>,
    source_type: Option<String>,
    destination_type: Option<String>,
    boot_index: Option<Value>,
    #[serde(default)]
    delete_on_termination: bool,
    device_name: Option<String>,
}

#[derive(Deserialize)]
struct GroupFields {
    name: String,
}

fn networks(value: Option<Value>) -> Result<NetworkRequest, Fail> {
    let invalid = || {
        Fail::BadRequest(
            "Invalid input for field/attribute networks: expected \"none\", \"auto\" or a list \
             of {uuid}."
                .into(),
        )
    };
    match value {
        None => Ok(NetworkRequest::Unspecified),
        Some(Value::String(s)) if s == "none" => Ok(NetworkRequest::None),
        Some(Value::String(s)) if s == "auto" => Ok(NetworkRequest::Auto),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.get("uuid")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(invalid)
            })
            .collect::<Result<_, _>>()
            .map(NetworkRequest::List),
        Some(_) => Err(invalid()),
    }
}

/// A boot index as Nova takes it: a number or a numeric string; none or negative is "not a boot
/// device".
fn boot_index(value: Option<&Value>) -> Result<Option<i64>, Fail> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => n.as_i64().map(Some),
        Some(Value::String(s)) => s.parse().ok().map(Some),
        Some(_) => None,
    }
    .ok_or_else(|| Fail::BadRequest("Invalid input for field/attribute boot_index.".into()))
}

fn create(call: &mut Call<'_>) -> Result<Reply, Fail> {
    let fields: ServerFields = wrapped(call.request, "server")?;
    let flavor_ref = required(fields.flavor_ref, "flavorRef")?;
    let bdms = fields
        .block_device_mapping_v2
        .iter()
        .map(|b| {
            Ok(NewBdm {
                uuid: b.uuid.clone(),
                source_type: b.source_type.clone().unwrap_or_default(),
                destination_type: b.destination_type.clone(),
                boot_index: boot_index(b.boot_index.as_ref())?,
                delete_on_termination: b.delete_on_termination,
                device_name: b.device_name.clone(),
            })
        })
        .collect::<Result<_, Fail>>()?;
    let request = NewServer {
        name: required(fields.name, "name")?,
        description: fields.description,
        // A flavorRef may be the flavor's URL.
        flavor_ref: flavor_ref.rsplit('/').next().unwrap_or_default().to_owned(),
        image_ref: fields.image_ref,
        networks: networks(fields.networks)?,
        bdms,
        security_groups: fields.security_groups.into_iter().map(|g| g.name).collect(),
        key_name: fields.key_name,
        user_data: fields.user_data,
        availability_zone: fields.availability_zone,
        metadata: fields.metadata,
        tags: fields.tags,
    };
    let id = call
        .state
        .create_server(call.caller, request, call.version)?;
    let server = call.state.server(call.caller, &id)?;
    let href = format!("{}/compute/v2.1/servers/{id}", call.base);
    let groups: Vec<Value> = server
        .security_groups
        .iter()
        .map(|n| json!({"name": n}))
        .collect();
    Ok(Reply::accepted(json!({"server": {
        "id": id,
        "links": links(href),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": groups,
        "adminPass": uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
    }})))
}
