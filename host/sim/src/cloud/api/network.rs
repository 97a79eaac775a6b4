//! The little of Neutron v2.0 a DR restore reads: networks and security groups.

use http::Method;
use serde_json::{Value, json};

use super::Call;
use super::wire::{Reply, no_route, wrong_method};
use crate::cloud::state::Fail;

pub fn handle(call: &mut Call<'_>, path: &[&str]) -> Result<Reply, Fail> {
    let project = &call.caller.project_id;
    match (path, &call.request.method) {
        ([], &Method::GET) => Ok(Reply::ok(json!({"resources": [
            {"name": "network", "collection": "networks"},
            {"name": "security_group", "collection": "security-groups"},
        ]}))),
        (["networks"], &Method::GET) => {
            let name = call.request.query("name");
            let networks: Vec<Value> = call
                .state
                .networks
                .iter()
                .filter(|n| n.visible_to(project) && name.is_none_or(|x| x == n.name))
                .map(|n| {
                    json!({"id": n.id, "name": n.name, "status": "ACTIVE",
                           "shared": n.project_id.is_none(),
                           "project_id": n.project_id, "tenant_id": n.project_id,
                           "subnets": [], "admin_state_up": true})
                })
                .collect();
            Ok(Reply::ok(json!({"networks": networks})))
        }
        (["security-groups"], &Method::GET) => {
            let name = call.request.query("name");
            let groups: Vec<Value> = call
                .state
                .security_groups
                .iter()
                .filter(|g| &g.project_id == project && name.is_none_or(|x| x == g.name))
                .map(|g| {
                    json!({"id": g.id, "name": g.name, "description": g.description,
                           "project_id": g.project_id, "tenant_id": g.project_id,
                           "security_group_rules": []})
                })
                .collect();
            Ok(Reply::ok(json!({"security_groups": groups})))
        }
        (["networks" | "security-groups"], _) => Ok(wrong_method(call.request)),
        _ => Err(no_route(call.request)),
    }
}
