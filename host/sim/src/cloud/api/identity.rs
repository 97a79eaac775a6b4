//! Keystone v3: version discovery, `POST /auth/tokens` with passwords, application credentials
//! or an existing token (201, the token in `X-Subject-Token`, the catalog built from the cloud's
//! address), and `GET /auth/tokens` to validate one.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::discovery;
use super::wire::{Incoming, Reply, Service, failure, no_route, render, wrong_method};
use crate::cloud::Cloud;
use crate::cloud::clock::timestamp_z;
use crate::cloud::state::identity::{
    Caller, CredentialRef, DOMAIN_ID, DOMAIN_NAME, DomainRef, Proof, ScopeRef, UserRef,
};
use crate::cloud::state::{CloudState, Fail};
use crate::listener::Body;

pub fn handle(cloud: &Cloud, request: &Incoming, rest: &[&str]) -> http::Response<Body> {
    let base = &cloud.base_url;
    let reply = match (rest, &request.method) {
        ([], &Method::GET) => discovery::identity_root(base),
        (["v3"], &Method::GET) => Reply::ok(json!({"version": discovery::identity_version(base)})),
        (["v3", "auth", "tokens"], &Method::POST) => cloud.with(|state| {
            issue(state, request, base).unwrap_or_else(|f| failure(Service::Identity, &f))
        }),
        (["v3", "auth", "tokens"], &Method::GET) => cloud.with(|state| {
            validate(state, request, base).unwrap_or_else(|f| failure(Service::Identity, &f))
        }),
        ([] | ["v3"] | ["v3", "auth", "tokens"], _) => wrong_method(request),
        _ => failure(Service::Identity, &no_route(request)),
    };
    render(Service::Identity, None, reply)
}

#[derive(Deserialize)]
struct AuthRequest {
    auth: Auth,
}

#[derive(Deserialize)]
struct Auth {
    identity: IdentityBody,
    scope: Option<ScopeBody>,
}

#[derive(Deserialize)]
struct IdentityBody {
    methods: Vec<String>,
    password: Option<PasswordBody>,
    application_credential: Option<CredentialBody>,
    token: Option<TokenBody>,
}

#[derive(Deserialize)]
struct PasswordBody {
    user: UserBody,
}

#[derive(Deserialize)]
struct UserBody {
    id: Option<String>,
    name: Option<String>,
    domain: Option<DomainBody>,
    password: Option<String>,
}

#[derive(Deserialize)]
struct DomainBody {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct CredentialBody {
    id: Option<String>,
    name: Option<String>,
    secret: String,
    user: Option<UserBody>,
}

#[derive(Deserialize)]
struct TokenBody {
    id: String,
}

#[derive(Deserialize)]
struct ScopeBody {
    project: Option<ProjectBody>,
}

#[derive(Deserialize)]
struct ProjectBody {
    id: Option<String>,
    name: Option<String>,
    domain: Option<DomainBody>,
}

fn domain(body: Option<&DomainBody>) -> Result<DomainRef<'_>, Fail> {
    match body {
        Some(DomainBody { id: Some(id), .. }) => Ok(DomainRef::Id(id)),
        Some(DomainBody {
            name: Some(name), ..
        }) => Ok(DomainRef::Name(name)),
        _ => Err(Fail::BadRequest(
            "Expecting to find domain in user or project.".into(),
        )),
    }
}

fn user(body: &UserBody) -> Result<UserRef<'_>, Fail> {
    match (&body.id, &body.name) {
        (Some(id), _) => Ok(UserRef::Id(id)),
        (None, Some(name)) => Ok(UserRef::Name {
            name,
            domain: domain(body.domain.as_ref())?,
        }),
        _ => Err(Fail::BadRequest(
            "Expecting to find id or name in user.".into(),
        )),
    }
}

fn issue(state: &mut CloudState, request: &Incoming, base: &str) -> Result<Reply, Fail> {
    let body: AuthRequest = request.json()?;
    let identity = &body.auth.identity;
    let method = identity
        .methods
        .first()
        .ok_or_else(|| Fail::BadRequest("Expecting to find methods in identity.".into()))?;
    let proof = match method.as_str() {
        "password" => {
            let password = identity.password.as_ref().ok_or_else(|| {
                Fail::BadRequest("Expecting to find password in identity.".into())
            })?;
            Proof::Password {
                user: user(&password.user)?,
                password: password.user.password.as_deref().unwrap_or_default(),
            }
        }
        "application_credential" => {
            let credential = identity.application_credential.as_ref().ok_or_else(|| {
                Fail::BadRequest("Expecting to find application_credential in identity.".into())
            })?;
            let reference = match (&credential.id, &credential.name, &credential.user) {
                (Some(id), _, _) => CredentialRef::Id(id),
                (None, Some(name), Some(owner)) => CredentialRef::Name {
                    name,
                    user: user(owner)?,
                },
                _ => {
                    return Err(Fail::BadRequest(
                        "Expecting to find id, or name and user, in application_credential.".into(),
                    ));
                }
            };
            Proof::ApplicationCredential {
                credential: reference,
                secret: &credential.secret,
            }
        }
        "token" => {
            let token = identity
                .token
                .as_ref()
                .ok_or_else(|| Fail::BadRequest("Expecting to find token in identity.".into()))?;
            Proof::Token(&token.id)
        }
        other => {
            return Err(Fail::Unauthorized(format!(
                "Attempted to authenticate with an unsupported method: {other}."
            )));
        }
    };
    let scope = match body.auth.scope.as_ref().and_then(|s| s.project.as_ref()) {
        Some(ProjectBody { id: Some(id), .. }) => Some(ScopeRef::Id(id)),
        Some(ProjectBody {
            name: Some(name),
            domain: project_domain,
            ..
        }) => Some(ScopeRef::Name {
            name,
            domain: domain(project_domain.as_ref())?,
        }),
        Some(_) => {
            return Err(Fail::BadRequest(
                "Expecting to find id or name in project.".into(),
            ));
        }
        None => None,
    };
    let now = state.clock.now();
    let (token, caller) = state.identity.authenticate(proof, scope, now)?;
    Ok(
        Reply::json(StatusCode::CREATED, token_body(state, &caller, base))
            .with_header("X-Subject-Token", token),
    )
}

fn validate(state: &mut CloudState, request: &Incoming, base: &str) -> Result<Reply, Fail> {
    let now = state.clock.now();
    state
        .identity
        .validate(request.token().unwrap_or_default(), now)?;
    let subject = request
        .headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let caller = state
        .identity
        .validate(&subject, now)
        .map_err(|_| {
            Fail::NotFound(format!(
                "Could not find token: {}.",
                &subject[..subject.len().min(8)]
            ))
        })?
        .clone();
    Ok(Reply::ok(token_body(state, &caller, base)).with_header("X-Subject-Token", subject))
}

fn token_body(state: &CloudState, caller: &Caller, base: &str) -> Value {
    let domain = json!({"id": DOMAIN_ID, "name": DOMAIN_NAME});
    let user = state.identity.user(&caller.user_id);
    let project = state.identity.project(&caller.project_id);
    let roles: Vec<Value> = caller
        .roles
        .iter()
        .map(|name| json!({"id": crate::seeded::fixture_uuid("keystone", "role", 0, name).simple().to_string(), "name": name}))
        .collect();
    json!({"token": {
        "methods": caller.methods,
        "user": {"id": caller.user_id, "name": user.map(|u| u.name.as_str()),
                 "domain": domain, "password_expires_at": null},
        "audit_ids": [uuid::Uuid::new_v4().simple().to_string()[..22].to_owned()],
        "expires_at": timestamp_z(state.clock.wall(caller.expires_at)),
        "issued_at": timestamp_z(state.clock.wall(caller.issued_at)),
        "project": {"id": caller.project_id, "name": project.map(|p| p.name.as_str()),
                    "domain": domain},
        "is_domain": false,
        "roles": roles,
        "catalog": catalog(state, base, &caller.project_id),
    }})
}

/// The service catalog, devstack-style, every URL on the cloud's own address.
fn catalog(state: &CloudState, base: &str, project_id: &str) -> Value {
    let entry = |kind: &str, name: &str, url: String| {
        let id = |what: &str| {
            crate::seeded::fixture_uuid(&state.name, what, 0, kind)
                .simple()
                .to_string()
        };
        json!({"type": kind, "name": name, "id": id("service"), "endpoints": [{
            "id": id("endpoint"),
            "interface": "public",
            "region": state.region,
            "region_id": state.region,
            "url": url,
        }]})
    };
    json!([
        entry("identity", "keystone", format!("{base}/identity")),
        entry("compute", "nova", format!("{base}/compute/v2.1")),
        entry(
            "block-storage",
            "cinder",
            format!("{base}/volume/v3/{project_id}")
        ),
        entry(
            "volumev3",
            "cinderv3",
            format!("{base}/volume/v3/{project_id}")
        ),
        entry("network", "neutron", format!("{base}/network")),
    ])
}
