//! A connection as written: one struct for every kind (serde's internally tagged enums would
//! lose the places of the fields), with the fields each kind takes checked by `validate`; the
//! JSON Schema states them per kind.

use std::path::PathBuf;

use schemars::{JsonSchema, Schema, json_schema};
use serde::Deserialize;

use crate::location::Located;
use crate::model::ConnectionKind;

/// A pool, a remote or a cloud that steps may be granted.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = fields_per_kind)]
pub(crate) struct Connection {
    /// What is at the other end.
    pub kind: Located<ConnectionKind>,
    /// xapi: the pool master's address, `https://HOST`, `http://HOST`, or `sim://NAME` for a
    /// pool of Lifeboat's embedded simulator (which needs no credentials).
    /// remote: Xen Orchestra's remote URL, `file:///PATH`, `s3://HOST/BUCKET/PREFIX` (HTTPS)
    /// or `s3+http://HOST/BUCKET/PREFIX`, with its `?region=…` and other query parameters; the
    /// access key may be written `s3://KEY@HOST/…`, the secret key never.
    /// openstack: Keystone's URL, `https://HOST:5000/v3` or `https://HOST/identity`.
    pub url: Option<Located<String>>,
    /// xapi, openstack: the user to log in as. remote (S3): the access key. A literal or
    /// `${{ secrets.NAME }}`.
    pub username: Option<Located<String>>,
    /// xapi, openstack: the password (or the application credential's secret). remote (S3):
    /// the secret key. Always `${{ secrets.NAME }}` (never written in the file).
    pub password: Option<Located<String>>,
    /// Over https: how to check the server's certificate. Default: `{ verify: true }`.
    pub tls: Option<Located<Tls>>,
    /// remote (or its older name fs): the remote's folder, instead of a `url`. A relative path
    /// is relative to the pipeline file's directory. NFS and SMB shares are folders once
    /// mounted.
    pub path: Option<Located<PathBuf>>,
    /// openstack: the project to work in, by name. Default: the user's default project (an
    /// application credential is bound to its own and takes none).
    pub project: Option<Located<String>>,
    /// openstack: the domain of the user and the project, by name. Default: `Default`.
    pub domain: Option<Located<String>>,
    /// openstack: only the endpoints of this region. Default: the first of any region.
    pub region: Option<Located<String>>,
    /// openstack: log in with this application credential (its id) instead of a user; its
    /// secret is the `password`.
    pub application_credential: Option<Located<String>>,
}

/// How to check a server's TLS certificate: exactly one of these forms.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Tls {
    /// `true`: against the system's trusted roots. `false`: not at all (a self-signed
    /// certificate; an explicit opt-out).
    Verify(bool),
    /// Against the system's trusted roots plus the CA certificate(s) in this PEM file (an
    /// in-house CA). The certificate must still name the host; to trust one host's self-signed
    /// certificate, pin it with `fingerprint`.
    CaFile(PathBuf),
    /// Pinned: the certificate's SHA-256, `sha256:` followed by 64 hexadecimal digits.
    Fingerprint(Located<String>),
}

/// Adds to the schema which fields each kind requires and which it does not take, so that
/// editors flag `path` on an xapi connection as they would an unknown key.
fn fields_per_kind(schema: &mut Schema) {
    let rules = json_schema!({
        "allOf": [
            {
                "if": { "properties": { "kind": { "const": "xapi" } } },
                "then": { "required": ["url"], "not": { "required": ["path"] } }
            },
            {
                "if": { "properties": { "kind": { "const": "remote" } } },
                "then": {
                    "oneOf": [ { "required": ["url"] }, { "required": ["path"] } ]
                }
            },
            {
                "if": { "properties": { "kind": { "const": "openstack" } } },
                "then": {
                    "required": ["url", "password"],
                    "not": { "required": ["path"] },
                    "oneOf": [
                        { "required": ["username"], "not": { "required": ["application_credential"] } },
                        {
                            "required": ["application_credential"],
                            "not": { "anyOf": [ { "required": ["username"] }, { "required": ["project"] } ] }
                        }
                    ]
                }
            },
            {
                "if": { "not": { "properties": { "kind": { "const": "openstack" } } } },
                "then": { "not": { "anyOf": [
                    { "required": ["project"] },
                    { "required": ["domain"] },
                    { "required": ["region"] },
                    { "required": ["application_credential"] }
                ] } }
            },
            {
                "if": { "properties": { "kind": { "const": "fs" } } },
                "then": {
                    "required": ["path"],
                    "not": { "anyOf": [
                        { "required": ["url"] },
                        { "required": ["username"] },
                        { "required": ["password"] },
                        { "required": ["tls"] }
                    ] }
                }
            }
        ]
    });
    if let Some(rules) = rules.get("allOf") {
        schema.insert("allOf".to_owned(), rules.clone());
    }
}
