//! `sim://NAME` connection URLs: a pool of a fixture started in-process on an ephemeral loopback
//! port, so that pipelines and tests can name a pool instead of setting one up.
//!
//! The first resolution of a name starts that pool alone (from the built-in fixture, or the
//! fixture file given) with a temporary state folder; later resolutions in the same process, from
//! any task or runtime, reach the same running pool. The pools run on a runtime of their own, so
//! they outlive the runtime of whoever resolved them first, and live until the process exits,
//! when their temporary folders are removed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Once};

use lifeboat_xapi::Secret;
use tokio::runtime::Runtime;
use tokio::sync::OnceCell;

use super::{Fixture, FixtureError, SimError, SimOptions, Simulator};

/// The scheme of simulator URLs.
const SCHEME: &str = "sim://";

/// Where and how to reach a pool named by a `sim://` URL.
#[derive(Debug, Clone)]
pub struct SimConnection {
    /// The pool master's real URL (`http://127.0.0.1:PORT/`).
    pub url: String,
    pub username: String,
    pub password: Secret,
    /// The simulator's control endpoint, to inject faults and read the pool's state.
    pub control_url: String,
}

/// A `sim://` URL that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SimUrlError {
    #[error("{url:?} is not a simulator URL: expected sim://NAME")]
    Malformed { url: String },
    #[error("{fixture} has no pool named {name:?} (it has: {available})")]
    UnknownPool {
        name: String,
        fixture: String,
        available: String,
    },
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    #[error("cannot start the simulator for sim://{name}: {source}")]
    Start {
        name: String,
        #[source]
        source: SimError,
    },
    #[error("cannot start the simulator's runtime: {0}")]
    Runtime(String),
}

/// Which fixture, state folder and pool a simulator was started for.
type Key = (Option<PathBuf>, Option<PathBuf>, String);

static REGISTRY: LazyLock<Mutex<HashMap<Key, Arc<OnceCell<Simulator>>>>> =
    LazyLock::new(Mutex::default);

static RUNTIME: LazyLock<std::io::Result<Runtime>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("lifeboat-sim")
        .enable_all()
        .build()
});

/// Resolves `url`: `None` if it is not a `sim://` URL (connect to it as it is), else the running
/// pool it names, started first if needed. `fixture` is the fixture file to take the pool from
/// (the built-in fixture if `None`); with `state`, the pool keeps its state in that folder
/// across processes (see `SimOptions::state_dir`), else in a temporary one.
pub async fn resolve_url(
    url: &str,
    fixture: Option<&Path>,
    state: Option<&Path>,
) -> Result<Option<SimConnection>, SimUrlError> {
    let Some(rest) = url.strip_prefix(SCHEME) else {
        return Ok(None);
    };
    let name = rest.strip_suffix('/').unwrap_or(rest);
    if name.is_empty() || name.contains(['/', '?', '#', '@']) {
        return Err(SimUrlError::Malformed {
            url: url.to_owned(),
        });
    }
    let fixture = fixture
        .map(|path| {
            path.canonicalize().map_err(|source| FixtureError::Read {
                path: path.display().to_string(),
                source,
            })
        })
        .transpose()?;
    let cell = {
        let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        registry
            .entry((
                fixture.clone(),
                state.map(Path::to_path_buf),
                name.to_owned(),
            ))
            .or_default()
            .clone()
    };
    let sim = cell
        .get_or_try_init(|| start(fixture.as_deref(), state, name))
        .await?;
    let pool = &sim.pools()[0];
    Ok(Some(SimConnection {
        url: pool.url.clone(),
        username: pool.username.clone(),
        password: pool.password.clone(),
        control_url: sim.control_url().to_owned(),
    }))
}

/// Starts the pool `name` of `fixture` alone, on the simulators' runtime, keeping its state in
/// `state` if given.
async fn start(
    fixture: Option<&Path>,
    state: Option<&Path>,
    name: &str,
) -> Result<Simulator, SimUrlError> {
    let (mut fixture, origin) = match fixture {
        Some(path) => (Fixture::load(path)?, path.display().to_string()),
        None => (Fixture::builtin(), "the built-in fixture".to_owned()),
    };
    let available: Vec<String> = fixture.pools.iter().map(|p| p.name.clone()).collect();
    fixture.pools.retain(|pool| pool.name == name);
    if fixture.pools.is_empty() {
        return Err(SimUrlError::UnknownPool {
            name: name.to_owned(),
            fixture: origin,
            available: available.join(", "),
        });
    }
    let runtime = RUNTIME
        .as_ref()
        .map_err(|error| SimUrlError::Runtime(error.to_string()))?;
    remove_temporary_folders_at_exit();
    let options = SimOptions {
        state_dir: state.map(Path::to_path_buf),
        ..SimOptions::default()
    };
    let started = runtime
        .spawn(async move { Simulator::start(&fixture, options).await })
        .await;
    let failed = |source| SimUrlError::Start {
        name: name.to_owned(),
        source,
    };
    match started {
        Ok(result) => result.map_err(failed),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(SimUrlError::Runtime(error.to_string())),
    }
}

/// Makes the process drop its registered simulators when it exits (statics are never dropped),
/// which removes their temporary folders.
fn remove_temporary_folders_at_exit() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `drop_simulators` is a plain function that stays valid for the whole process.
        unsafe {
            libc::atexit(drop_simulators);
        }
    });
}

extern "C" fn drop_simulators() {
    // `try_lock`: a thread stopped while holding the lock must not hang the exit.
    if let Ok(mut registry) = REGISTRY.try_lock() {
        drop(std::mem::take(&mut *registry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn other_urls_are_not_simulators_and_bad_ones_are_refused() {
        for url in ["https://pool.example", "http://127.0.0.1/", "production"] {
            assert!(
                resolve_url(url, None, None).await.unwrap().is_none(),
                "{url}"
            );
        }
        for url in ["sim://", "sim:///", "sim://a/b", "sim://a?x=1"] {
            let error = resolve_url(url, None, None).await.expect_err(url);
            assert!(matches!(error, SimUrlError::Malformed { .. }), "{url}");
        }
        let error = resolve_url("sim://nope", None, None)
            .await
            .expect_err("unknown");
        assert!(
            error.to_string().contains("production, recovery"),
            "{error}"
        );
    }
}
