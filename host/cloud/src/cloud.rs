//! [`Cloud`]: an authenticated connection to one project of one cloud, and the handles of its
//! services.

use std::sync::Arc;

use crate::auth::{Credentials, Project, ProjectScope, Role, User};
use crate::block_storage::BlockStorage;
use crate::compute::Compute;
use crate::config::CloudConfig;
use crate::error::{CloudError, ErrorKind, Result};
use crate::network::NetworkService;
use crate::service::ServiceType;
use crate::session::Session;

/// A connection to one project, cheap to clone and shareable between tasks.
#[derive(Clone)]
pub struct Cloud {
    session: Arc<Session>,
}

impl Cloud {
    /// Finds Keystone's v3 API at the auth URL and authenticates. The services are discovered
    /// on their first use.
    ///
    /// A token scoped to another project than the configured one (application credentials
    /// are bound to theirs, whatever the configuration says) fails as [`ErrorKind::Config`]:
    /// the connection never works in a project it was not asked for.
    pub async fn connect(config: CloudConfig) -> Result<Cloud> {
        let wanted = config.project.clone();
        let session = Session::connect(config).await?;
        if let Some(wanted) = wanted
            && !wanted.names(session.project())
        {
            let got = session.project();
            return Err(CloudError::new(
                "connect",
                ErrorKind::Config(format!(
                    "asked for {wanted}, the token is scoped to project {} {:?}",
                    got.id, got.name
                )),
            ));
        }
        Ok(Cloud {
            session: Arc::new(session),
        })
    }

    /// A connection with the same settings and credentials, scoped to another project (to
    /// accept a volume transfer, say).
    ///
    /// Application credentials are bound to their project, and Keystone ignores any other
    /// scope: asking them for another project than this connection's fails as
    /// [`ErrorKind::Config`] without authenticating. Whatever the credentials, a token scoped
    /// to another project than `project` is refused the same way.
    pub async fn connect_to(&self, project: ProjectScope) -> Result<Cloud> {
        const CALL: &str = "connect to project";
        let current = self.project();
        if matches!(
            self.config().credentials,
            Credentials::ApplicationCredential { .. }
        ) && !project.names(current)
        {
            return Err(CloudError::new(
                CALL,
                ErrorKind::Config(format!(
                    "application credentials are bound to their project ({} {:?}), so they \
                     cannot connect to {project}; use a password, or credentials of that project",
                    current.id, current.name
                )),
            ));
        }
        Cloud::connect(self.session.config().clone().with_project(project)).await
    }

    pub fn config(&self) -> &CloudConfig {
        self.session.config()
    }

    /// The project the connection works in.
    pub fn project(&self) -> &Project {
        self.session.project()
    }

    pub fn user(&self) -> User {
        self.session.user()
    }

    /// The user's roles on the project, as of the latest authentication.
    pub fn roles(&self) -> Vec<Role> {
        self.session.roles()
    }

    /// Whether the catalog lists `service`.
    pub fn has_service(&self, service: ServiceType) -> bool {
        self.session.catalog().has(service)
    }

    pub fn block_storage(&self) -> BlockStorage {
        BlockStorage::new(self.session.clone())
    }

    pub fn compute(&self) -> Compute {
        Compute::new(self.session.clone())
    }

    /// Neutron; its calls fail as unsupported if the catalog has none (see
    /// [`has_service`](Self::has_service)).
    pub fn network(&self) -> NetworkService {
        NetworkService::new(self.session.clone())
    }
}

impl std::fmt::Debug for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cloud")
            .field("auth_url", &self.config().auth_url.as_str())
            .field("project", &self.project().id)
            .finish_non_exhaustive()
    }
}
