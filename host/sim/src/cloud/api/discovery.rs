//! Version documents, served without a token at every root as the real services do, with
//! absolute links built from the address the cloud is bound to (openstacksdk builds its request
//! URLs from their `self` links).

use http::StatusCode;
use serde_json::{Value, json};

use super::wire::Reply;
use crate::cloud::microversion::Microversion;

const UPDATED: &str = "2023-09-01T00:00:00Z";

/// Keystone's v3 version object.
pub fn identity_version(base: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": format!("{base}/identity/v3/")}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

/// `GET /identity`: 300 with the versions.
pub fn identity_root(base: &str) -> Reply {
    Reply::json(
        StatusCode::MULTIPLE_CHOICES,
        json!({"versions": {"values": [identity_version(base)]}}),
    )
}

fn volume_version(base: &str, max: &Microversion) -> Value {
    json!({
        "id": "v3.0",
        "status": "CURRENT",
        "version": max.to_string(),
        "min_version": "3.0",
        "updated": UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": format!("{base}/volume/v3/")},
        ],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}],
    })
}

/// `GET /volume/`: 300 with the versions (clients fall back to it when `/v3/` fails).
pub fn volume_root(base: &str, max: &Microversion) -> Reply {
    Reply::json(
        StatusCode::MULTIPLE_CHOICES,
        json!({"versions": [volume_version(base, max)]}),
    )
}

/// `GET /volume/v3/`: 200 with the one version.
pub fn volume_v3(base: &str, max: &Microversion) -> Reply {
    Reply::ok(json!({"versions": [volume_version(base, max)]}))
}

fn compute_version(base: &str, id: &str, max: &str, min: &str, status: &str) -> Value {
    json!({
        "id": id,
        "status": status,
        "version": max,
        "min_version": min,
        "updated": UPDATED,
        "links": [{"rel": "self", "href": format!("{base}/compute/{id}/")}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

/// `GET /compute/`: both API versions.
pub fn compute_root(base: &str, max: &Microversion) -> Reply {
    Reply::ok(json!({"versions": [
        compute_version(base, "v2.0", "", "", "SUPPORTED"),
        compute_version(base, "v2.1", &max.to_string(), "2.1", "CURRENT"),
    ]}))
}

/// `GET /compute/v2.1/`.
pub fn compute_v21(base: &str, max: &Microversion) -> Reply {
    Reply::ok(json!({"version": compute_version(base, "v2.1", &max.to_string(), "2.1", "CURRENT")}))
}

/// `GET /network/`.
pub fn network_root(base: &str) -> Reply {
    Reply::ok(json!({"versions": [{
        "id": "v2.0",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{base}/network/v2.0/")}],
    }]}))
}
