//! What [`Cloud::connect`](crate::Cloud::connect) needs: where Keystone is, who to be, which
//! project and region to work in.

use std::time::Duration;

use url::Url;

use crate::auth::catalog::Interface;
use crate::auth::{Credentials, ProjectScope};
use lifeboat_net::TlsPolicy;

/// The connection settings of one cloud. `Debug` shows no password or secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudConfig {
    /// Keystone's URL, versioned (`https://h:5000/v3`) or not (`https://h/identity`).
    pub auth_url: Url,
    pub credentials: Credentials,
    /// The project to scope the token to; `None` for application credentials (bound to their
    /// project) or the user's default project.
    pub project: Option<ProjectScope>,
    /// Only endpoints of this region; `None` takes the first of any region.
    pub region: Option<String>,
    pub interface: Interface,
    pub tls: TlsPolicy,
    /// Deadline of one HTTP request (polling a long operation makes many).
    pub request_timeout: Duration,
}

impl CloudConfig {
    /// Settings with the defaults: public endpoints of any region, the platform's trust store,
    /// 60 s requests.
    pub fn new(auth_url: Url, credentials: Credentials) -> Self {
        CloudConfig {
            auth_url,
            credentials,
            project: None,
            region: None,
            interface: Interface::Public,
            tls: TlsPolicy::SystemRoots,
            request_timeout: Duration::from_secs(60),
        }
    }

    pub fn with_project(mut self, project: ProjectScope) -> Self {
        self.project = Some(project);
        self
    }

    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ApplicationCredentialRef, UserRef};

    #[test]
    fn debug_never_shows_secrets() {
        let url = Url::parse("http://h/identity/v3").unwrap();
        let password = CloudConfig::new(
            url.clone(),
            Credentials::password("alice", "Default", "hunter2-password"),
        )
        .with_project(ProjectScope::name("demo", "Default"))
        .with_region("RegionOne");
        let text = format!("{password:?} {:?}", password.credentials);
        assert!(!text.contains("hunter2-password"), "{text}");
        assert!(text.contains("alice") && text.contains("RegionOne"));

        let application = CloudConfig::new(
            url,
            Credentials::ApplicationCredential {
                credential: ApplicationCredentialRef::Name {
                    name: "backup".into(),
                    user: UserRef::Id("u1".into()),
                },
                secret: "app-secret-value".into(),
            },
        );
        let text = format!("{application:?} {application:#?}");
        assert!(!text.contains("app-secret-value"), "{text}");
        assert!(text.contains("***"));
    }
}
