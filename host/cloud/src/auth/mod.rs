//! Keystone v3 authentication: the credentials and project scope a client authenticates with,
//! and who the resulting token says it is.
//!
//! - [`keystone`]: finding the v3 endpoint, asking for a token, reading the answer.
//! - [`catalog`]: the token's service catalog and the choice of an endpoint in it.

pub(crate) mod catalog;
pub(crate) mod keystone;

use lifeboat_formats::secret::Secret;
use serde::Deserialize;

/// What the client proves its identity with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A user's password.
    Password { user: UserRef, password: Secret },
    /// An application credential: a secret bound to one user and one project, with roles that
    /// can be narrower than the user's. The project comes with it, so no scope is sent.
    ApplicationCredential {
        credential: ApplicationCredentialRef,
        secret: Secret,
    },
}

impl Credentials {
    /// A password for the user `name` of the domain named `domain`.
    pub fn password(
        name: impl Into<String>,
        domain: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Credentials::Password {
            user: UserRef::Name {
                name: name.into(),
                domain: DomainRef::Name(domain.into()),
            },
            password: password.into(),
        }
    }

    /// An application credential named by its id.
    pub fn application_credential(id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Credentials::ApplicationCredential {
            credential: ApplicationCredentialRef::Id(id.into()),
            secret: secret.into(),
        }
    }

    /// The secret, to scrub it from error messages.
    pub(crate) fn secret(&self) -> &Secret {
        match self {
            Credentials::Password { password, .. } => password,
            Credentials::ApplicationCredential { secret, .. } => secret,
        }
    }
}

/// A user, by id or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// An application credential, by id or by name with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationCredentialRef {
    Id(String),
    Name { name: String, user: UserRef },
}

/// A domain, by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

/// The project a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectScope {
    Id(String),
    Name { name: String, domain: DomainRef },
}

impl ProjectScope {
    /// The project `name` of the domain named `domain`.
    pub fn name(name: impl Into<String>, domain: impl Into<String>) -> Self {
        ProjectScope::Name {
            name: name.into(),
            domain: DomainRef::Name(domain.into()),
        }
    }

    pub fn id(id: impl Into<String>) -> Self {
        ProjectScope::Id(id.into())
    }

    /// Whether `project` is the one this scope names: the same id, or the same name in the
    /// domain named (by id or name). Names are compared without regard to case, as Keystone
    /// on its usual MySQL database finds them; ids exactly.
    pub(crate) fn names(&self, project: &Project) -> bool {
        let same_name = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
        match self {
            ProjectScope::Id(id) => project.id == *id,
            ProjectScope::Name { name, domain } => {
                same_name(&project.name, name)
                    && match domain {
                        DomainRef::Id(id) => project.domain.id == *id,
                        DomainRef::Name(name) => same_name(&project.domain.name, name),
                    }
            }
        }
    }
}

impl std::fmt::Display for ProjectScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProjectScope::Id(id) => write!(f, "project {id}"),
            ProjectScope::Name { name, domain } => {
                write!(f, "project {name:?} of domain ")?;
                match domain {
                    DomainRef::Id(id) => write!(f, "{id}"),
                    DomainRef::Name(name) => write!(f, "{name:?}"),
                }
            }
        }
    }
}

/// A domain as Keystone describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Domain {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// The project the client works in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Project {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub domain: Domain,
}

/// The authenticated user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub domain: Domain,
}

/// A role the user has on the project (`admin`, `member`, `reader`…).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Role {
    #[serde(default)]
    pub id: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_projects() {
        let project = Project {
            id: "p1".into(),
            name: "production".into(),
            domain: Domain {
                id: "default".into(),
                name: "Default".into(),
            },
        };
        assert!(ProjectScope::id("p1").names(&project));
        assert!(!ProjectScope::id("p2").names(&project));
        assert!(ProjectScope::name("production", "Default").names(&project));
        assert!(ProjectScope::name("Production", "default").names(&project));
        assert!(!ProjectScope::name("recovery", "Default").names(&project));
        assert!(!ProjectScope::name("production", "Other").names(&project));
        let by_domain_id = ProjectScope::Name {
            name: "production".into(),
            domain: DomainRef::Id("default".into()),
        };
        assert!(by_domain_id.names(&project));
        assert_eq!(
            ProjectScope::name("recovery", "Default").to_string(),
            r#"project "recovery" of domain "Default""#
        );
        assert_eq!(ProjectScope::id("p2").to_string(), "project p2");
    }
}
