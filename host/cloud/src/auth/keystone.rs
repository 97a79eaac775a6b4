//! Keystone v3 tokens: the request body for each kind of credentials, and the token answer
//! (the token itself comes in the `X-Subject-Token` header, what it grants in the body).

use std::time::Duration;

use chrono::{DateTime, Utc};
use lifeboat_formats::secret::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::{
    ApplicationCredentialRef, Credentials, DomainRef, Project, ProjectScope, Role, User, UserRef,
};
use crate::wire;

/// The body of `POST /v3/auth/tokens`. It holds the password or secret: never log it.
pub(crate) fn token_request(credentials: &Credentials, scope: Option<&ProjectScope>) -> Value {
    let identity = match credentials {
        Credentials::Password { user, password } => {
            let mut user = user_json(user);
            user["password"] = password.expose().into();
            json!({"methods": ["password"], "password": {"user": user}})
        }
        Credentials::ApplicationCredential { credential, secret } => {
            let mut credential = match credential {
                ApplicationCredentialRef::Id(id) => json!({"id": id}),
                ApplicationCredentialRef::Name { name, user } => {
                    json!({"name": name, "user": user_json(user)})
                }
            };
            credential["secret"] = secret.expose().into();
            json!({"methods": ["application_credential"], "application_credential": credential})
        }
    };
    let mut auth = json!({"identity": identity});
    // An application credential is bound to its project; Keystone refuses another scope.
    if let (Some(scope), Credentials::Password { .. }) = (scope, credentials) {
        auth["scope"] = json!({"project": project_json(scope)});
    }
    json!({"auth": auth})
}

fn user_json(user: &UserRef) -> Value {
    match user {
        UserRef::Id(id) => json!({"id": id}),
        UserRef::Name { name, domain } => json!({"name": name, "domain": domain_json(domain)}),
    }
}

fn project_json(scope: &ProjectScope) -> Value {
    match scope {
        ProjectScope::Id(id) => json!({"id": id}),
        ProjectScope::Name { name, domain } => {
            json!({"name": name, "domain": domain_json(domain)})
        }
    }
}

fn domain_json(domain: &DomainRef) -> Value {
    match domain {
        DomainRef::Id(id) => json!({"id": id}),
        DomainRef::Name(name) => json!({"name": name}),
    }
}

/// A token and what it grants.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub value: Secret,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub user: User,
    pub project: Option<Project>,
    pub roles: Vec<Role>,
    pub catalog: Catalog,
}

#[derive(Deserialize)]
struct Answer {
    token: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(deserialize_with = "wire::timestamp")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "wire::timestamp")]
    issued_at: Option<DateTime<Utc>>,
    user: User,
    #[serde(default)]
    project: Option<Project>,
    #[serde(default, deserialize_with = "wire::nullable")]
    roles: Vec<Role>,
    #[serde(default, deserialize_with = "wire::nullable")]
    catalog: Catalog,
}

impl Token {
    /// The token of a `201` answer: `subject_token` is its `X-Subject-Token` header.
    pub fn parse(subject_token: Option<&str>, body: &[u8]) -> Result<Token, String> {
        let value = subject_token
            .filter(|token| !token.is_empty())
            .ok_or("the answer has no X-Subject-Token header")?;
        let Answer { token } = serde_json::from_slice(body).map_err(|error| error.to_string())?;
        Ok(Token {
            value: Secret::new(value),
            issued_at: token.issued_at,
            expires_at: token.expires_at.ok_or("the token has no expiry")?,
            user: token.user,
            project: token.project,
            roles: token.roles,
            catalog: token.catalog,
        })
    }

    /// How long the token is valid from when it was issued. Measured on the server's clock
    /// alone, so a skewed local clock does not matter; `None` if the issue time is unknown.
    pub fn lifetime(&self) -> Option<Duration> {
        (self.expires_at - self.issued_at?).to_std().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::catalog::Interface;
    use crate::service::ServiceType;

    #[test]
    fn password_request_with_names() {
        let credentials = Credentials::password("alice", "Default", "hunter2");
        let scope = ProjectScope::name("demo", "Default");
        assert_eq!(
            token_request(&credentials, Some(&scope)),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "alice", "domain": {"name": "Default"}, "password": "hunter2"}}},
                "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}})
        );
    }

    #[test]
    fn password_request_with_ids() {
        let credentials = Credentials::Password {
            user: UserRef::Id("u1".into()),
            password: "pw".into(),
        };
        let scope = ProjectScope::id("p1");
        assert_eq!(
            token_request(&credentials, Some(&scope)),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"id": "u1", "password": "pw"}}},
                "scope": {"project": {"id": "p1"}}}})
        );
        let unscoped = token_request(&credentials, None);
        assert!(unscoped["auth"].get("scope").is_none());
    }

    #[test]
    fn application_credential_requests() {
        let by_id = Credentials::application_credential("ac1", "s3cret");
        let scope = ProjectScope::id("ignored");
        assert_eq!(
            token_request(&by_id, Some(&scope)),
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": "ac1", "secret": "s3cret"}}}})
        );
        let by_name = Credentials::ApplicationCredential {
            credential: ApplicationCredentialRef::Name {
                name: "backup".into(),
                user: UserRef::Name {
                    name: "alice".into(),
                    domain: DomainRef::Id("default".into()),
                },
            },
            secret: "s3cret".into(),
        };
        assert_eq!(
            token_request(&by_name, None),
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"name": "backup",
                    "user": {"name": "alice", "domain": {"id": "default"}}, "secret": "s3cret"}}}})
        );
    }

    const TOKEN_BODY: &str = r#"{"token": {
        "methods": ["password"],
        "expires_at": "2024-05-01T11:00:00.000000Z",
        "issued_at": "2024-05-01T10:00:00.000000Z",
        "user": {"id": "u1", "name": "alice", "domain": {"id": "default", "name": "Default"},
                 "password_expires_at": null},
        "project": {"id": "p1", "name": "demo", "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": "r1", "name": "member"}, {"id": "r2", "name": "reader"}],
        "catalog": [
            {"type": "block-storage", "id": "s1", "name": "cinder", "endpoints": [
                {"id": "e1", "interface": "public", "region_id": "RegionOne", "region": "RegionOne",
                 "url": "http://h/volume/v3/p1"}]},
            {"type": "compute", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "url": "http://h/compute/v2.1"}]}
        ],
        "audit_ids": ["a"]}}"#;

    #[test]
    fn token_answer() {
        let token = Token::parse(Some("gAAAAB-token"), TOKEN_BODY.as_bytes()).unwrap();
        assert_eq!(token.value.expose(), "gAAAAB-token");
        assert_eq!(token.lifetime(), Some(Duration::from_secs(3600)));
        assert_eq!(token.user.name, "alice");
        assert_eq!(token.user.domain.name, "Default");
        let project = token.project.as_ref().unwrap();
        assert_eq!((project.id.as_str(), project.name.as_str()), ("p1", "demo"));
        assert_eq!(project.domain.id, "default");
        let roles: Vec<_> = token.roles.iter().map(|role| role.name.as_str()).collect();
        assert_eq!(roles, ["member", "reader"]);
        assert_eq!(
            token.catalog.url(
                ServiceType::BlockStorage,
                Interface::Public,
                Some("RegionOne")
            ),
            Some("http://h/volume/v3/p1")
        );
        assert!(!format!("{token:?}").contains("gAAAAB-token"));
    }

    #[test]
    fn token_answer_problems() {
        assert!(Token::parse(None, TOKEN_BODY.as_bytes()).is_err());
        assert!(Token::parse(Some(""), TOKEN_BODY.as_bytes()).is_err());
        assert!(Token::parse(Some("t"), b"{}").is_err());
        let minimal = r#"{"token": {"expires_at": "2024-05-01T11:00:00Z", "user": {"id": "u"}}}"#;
        let token = Token::parse(Some("t"), minimal.as_bytes()).unwrap();
        assert_eq!(token.lifetime(), None);
        assert_eq!(token.project, None);
        assert!(token.roles.is_empty());
    }
}
