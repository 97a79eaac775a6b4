//! Logging in to a pipeline's clouds (the cloud capability's connector): Keystone with the
//! connection's password or application credential, scoped to its project.

use lifeboat_cloud::{ApplicationCredentialRef, Cloud, CloudConfig, Credentials, ProjectScope};
use lifeboat_pipeline::{OpenstackLogin, ResolvedOpenstack};
use lifeboat_runtime::CloudConnection;

use super::error::RunError;

/// Logs in to the cloud project of connection `name`.
pub(super) async fn open(
    name: &str,
    connection: &ResolvedOpenstack,
) -> Result<CloudConnection, RunError> {
    let credentials = match &connection.login {
        OpenstackLogin::Password { username, password } => {
            Credentials::password(username, &connection.domain, password.clone())
        }
        OpenstackLogin::ApplicationCredential { id, secret } => {
            Credentials::ApplicationCredential {
                credential: ApplicationCredentialRef::Id(id.clone()),
                secret: secret.clone(),
            }
        }
    };
    let mut config = CloudConfig::new(connection.auth_url.clone(), credentials);
    config.tls = connection.tls.clone();
    if let Some(project) = &connection.project {
        config = config.with_project(ProjectScope::name(project, &connection.domain));
    }
    if let Some(region) = &connection.region {
        config = config.with_region(region);
    }
    let cloud = Cloud::connect(config)
        .await
        .map_err(|error| RunError::Cloud {
            name: name.to_owned(),
            error: Box::new(error),
        })?;
    Ok(CloudConnection {
        name: name.to_owned(),
        cloud,
    })
}
