//! Keystone's side of the state: projects, users and their roles, application credentials, and
//! the tokens handed out. Password and secret checks, scoping and expiry follow Keystone's rules
//! as far as a DR client meets them.

use std::collections::BTreeMap;
use std::time::Duration;

use lifeboat_formats::secret::Secret;

use super::{Fail, Outcome};
use crate::cloud::fixture::Quotas;

/// The one domain of a simulated cloud.
pub const DOMAIN_ID: &str = "default";
pub const DOMAIN_NAME: &str = "Default";

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: String,
    pub quotas: Quotas,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: String,
    pub password: Secret,
    /// Project id → role name.
    pub roles: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct AppCredential {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub project_id: String,
    pub secret: Secret,
    pub roles: Vec<String>,
}

/// Who a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub project_id: String,
    pub roles: Vec<String>,
    pub methods: Vec<String>,
    pub expires_at: Duration,
    pub issued_at: Duration,
}

impl Caller {
    /// Keystone's default policy: the `admin` role, on any project, makes a cloud administrator.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }
}

/// How a client proves who it is.
#[derive(Debug)]
pub enum Proof<'a> {
    Password {
        user: UserRef<'a>,
        password: &'a str,
    },
    ApplicationCredential {
        credential: CredentialRef<'a>,
        secret: &'a str,
    },
    /// An existing token, re-scoped.
    Token(&'a str),
}

#[derive(Debug)]
pub enum UserRef<'a> {
    Id(&'a str),
    Name {
        name: &'a str,
        domain: DomainRef<'a>,
    },
}

#[derive(Debug)]
pub enum CredentialRef<'a> {
    Id(&'a str),
    Name { name: &'a str, user: UserRef<'a> },
}

#[derive(Debug, Clone, Copy)]
pub enum DomainRef<'a> {
    Id(&'a str),
    Name(&'a str),
}

/// The project a token is asked for.
#[derive(Debug)]
pub enum ScopeRef<'a> {
    Id(&'a str),
    Name {
        name: &'a str,
        domain: DomainRef<'a>,
    },
}

#[derive(Debug, Default)]
pub struct Identity {
    pub projects: Vec<Project>,
    pub users: Vec<User>,
    pub credentials: Vec<AppCredential>,
    pub tokens: BTreeMap<String, Caller>,
    pub token_lifetime: Duration,
}

fn unauthorized() -> Fail {
    Fail::Unauthorized("The request you have made requires authentication.".into())
}

fn domain_matches(domain: DomainRef<'_>) -> bool {
    match domain {
        DomainRef::Id(id) => id == DOMAIN_ID,
        DomainRef::Name(name) => name == DOMAIN_NAME,
    }
}

impl Identity {
    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub fn project_named(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.name == name)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    fn find_user(&self, user: &UserRef<'_>) -> Option<&User> {
        match user {
            UserRef::Id(id) => self.user(id),
            UserRef::Name { name, domain } if domain_matches(*domain) => {
                self.users.iter().find(|u| u.name == *name)
            }
            UserRef::Name { .. } => None,
        }
    }

    /// Checks `proof`, scopes to `scope`, and issues a token valid from `now`.
    pub fn authenticate(
        &mut self,
        proof: Proof<'_>,
        scope: Option<ScopeRef<'_>>,
        now: Duration,
    ) -> Outcome<(String, Caller)> {
        let (user_id, method, fixed) = match proof {
            Proof::Password { user, password } => {
                let user = self.find_user(&user).ok_or_else(unauthorized)?;
                if user.password.expose() != password {
                    return Err(unauthorized());
                }
                (user.id.clone(), "password", None)
            }
            Proof::ApplicationCredential { credential, secret } => {
                let found = match credential {
                    CredentialRef::Id(id) => self.credentials.iter().find(|c| c.id == id),
                    CredentialRef::Name { name, user } => {
                        let user = self.find_user(&user).ok_or_else(unauthorized)?;
                        self.credentials
                            .iter()
                            .find(|c| c.name == name && c.user_id == user.id)
                    }
                };
                let credential = found.ok_or_else(unauthorized)?;
                if credential.secret.expose() != secret {
                    return Err(unauthorized());
                }
                (
                    credential.user_id.clone(),
                    "application_credential",
                    Some((credential.project_id.clone(), credential.roles.clone())),
                )
            }
            Proof::Token(token) => {
                let caller = self.validate(token, now)?;
                (caller.user_id.clone(), "token", None)
            }
        };
        let user = self.user(&user_id).ok_or_else(unauthorized)?;
        let (project_id, roles) = match fixed {
            // An application credential is bound to its project; another scope is refused.
            Some((project_id, roles)) => {
                if let Some(scope) = &scope
                    && self.find_project(scope).map(|p| &p.id) != Some(&project_id)
                {
                    return Err(unauthorized());
                }
                (project_id, roles)
            }
            None => {
                let scope = scope.ok_or_else(|| {
                    Fail::Unauthorized(
                        "The simulator issues project-scoped tokens only: give a scope.".into(),
                    )
                })?;
                let project = self.find_project(&scope).ok_or_else(unauthorized)?;
                let role = user.roles.get(&project.id).ok_or_else(|| {
                    Fail::Unauthorized(format!(
                        "User {} has no access to project {}.",
                        user.id, project.id
                    ))
                })?;
                let mut roles = vec![role.clone()];
                // Keystone's implied roles: admin implies member, member implies reader.
                if role == "admin" {
                    roles.push("member".into());
                }
                if role != "reader" {
                    roles.push("reader".into());
                }
                (project.id.clone(), roles)
            }
        };
        let caller = Caller {
            user_id,
            project_id,
            roles,
            methods: vec![method.to_owned()],
            expires_at: now.saturating_add(self.token_lifetime),
            issued_at: now,
        };
        let token = format!("gAAAAA{}", uuid::Uuid::new_v4().simple());
        self.tokens.insert(token.clone(), caller.clone());
        Ok((token, caller))
    }

    fn find_project(&self, scope: &ScopeRef<'_>) -> Option<&Project> {
        match scope {
            ScopeRef::Id(id) => self.project(id),
            ScopeRef::Name { name, domain } if domain_matches(*domain) => self.project_named(name),
            ScopeRef::Name { .. } => None,
        }
    }

    /// The caller behind a token, if it is known and has not expired.
    pub fn validate(&self, token: &str, now: Duration) -> Outcome<&Caller> {
        match self.tokens.get(token) {
            Some(caller) if caller.expires_at > now => Ok(caller),
            _ => Err(unauthorized()),
        }
    }

    /// Forgets every token, as a Keystone whose keys rotated would.
    pub fn revoke_all(&mut self) {
        self.tokens.clear();
    }
}
