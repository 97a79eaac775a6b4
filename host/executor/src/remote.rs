//! Opening a pipeline's remotes (the storage capability's connector): a local folder, created
//! if missing as a first backup needs, or an S3 bucket with the connection's credentials.

use std::sync::Arc;

use lifeboat_pipeline::ResolvedRemote;
use lifeboat_remote::{LocalFolder, RemoteUrl, S3Credentials, S3Store};
use lifeboat_runtime::RemoteConnection;

use super::error::RunError;

/// Opens the remote `name`: a local folder (created if missing, as a first backup needs) or an
/// S3 bucket.
pub(super) fn open(name: &str, remote: &ResolvedRemote) -> Result<RemoteConnection, RunError> {
    let backend: Arc<dyn lifeboat_remote::Backend> = match &remote.url {
        RemoteUrl::Local(root) => {
            std::fs::create_dir_all(root).map_err(|error| RunError::RemoteFolder {
                name: name.to_owned(),
                path: root.clone(),
                error,
            })?;
            Arc::new(LocalFolder::open(name, root)?)
        }
        RemoteUrl::S3(location) => {
            let credentials = match (&remote.access_key, &location.access_key, &remote.secret_key) {
                (Some(access_key), _, Some(secret_key))
                | (None, Some(access_key), Some(secret_key)) => Some(S3Credentials {
                    access_key: access_key.clone(),
                    secret_key: secret_key.clone(),
                }),
                _ => None,
            };
            Arc::new(S3Store::open(name, location, credentials, &remote.tls)?)
        }
    };
    Ok(RemoteConnection {
        name: name.to_owned(),
        backend,
    })
}
