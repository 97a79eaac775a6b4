//! The on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes tens of milliseconds for a small Rust component
//! and seconds for a Python one; loading a compiled artefact takes well under a millisecond. So
//! each component is compiled once and its artefact kept under a key made of the component's
//! sha256 and the engine's compatibility hash (wasmtime's version and every setting that
//! changes the machine code): a second run, or a run with the same engine in another process,
//! compiles nothing, and an artefact from another engine or version is never even looked at.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::RuntimeError;

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

/// Whether a load found its artefact in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Compiled,
}

impl ComponentCache {
    /// A cache in `dir`, created on first use.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ComponentCache { dir: dir.into() }
    }

    /// The cache in the user's cache directory (`$XDG_CACHE_HOME/lifeboat/components`, else
    /// `~/.cache/lifeboat/components`), or in the system's temporary directory without a home.
    pub fn default_location() -> Self {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        ComponentCache::new(base.join("lifeboat").join("components"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The component `wasm` compiled for `engine`: from the cache, or compiled and stored.
    pub fn load(
        &self,
        engine: &Engine,
        name: &str,
        wasm: &[u8],
    ) -> Result<(Component, CacheOutcome), RuntimeError> {
        let path = self.dir.join(format!("{}.cwasm", cache_key(engine, wasm)));
        if path.is_file() {
            // SAFETY: the file was written by `Engine::precompile_component` for an engine
            // with this exact compatibility hash (it is part of the name), into a directory
            // only this user writes, and renamed into place only once complete.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding an unusable compiled component");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let compiled =
            engine
                .precompile_component(wasm)
                .map_err(|error| RuntimeError::Compile {
                    component: name.to_owned(),
                    problem: format!("{error:#}"),
                })?;
        if let Err(error) = self.store(&path, &compiled) {
            // A cache that cannot be written costs time, not correctness.
            tracing::warn!(dir = %self.dir.display(), %error, "cannot write the component cache");
        }
        // SAFETY: the bytes were produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled) }.map_err(|error| {
            RuntimeError::Compile {
                component: name.to_owned(),
                problem: format!("{error:#}"),
            }
        })?;
        Ok((component, CacheOutcome::Compiled))
    }

    /// Writes an artefact under a temporary name and renames it into place, so a reader never
    /// sees half of one.
    fn store(&self, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut temporary = tempfile::NamedTempFile::new_in(&self.dir)?;
        temporary.write_all(compiled)?;
        temporary.as_file().sync_all()?;
        temporary.persist(path).map_err(|error| error.error)?;
        Ok(())
    }
}

/// sha256 of the component, then sha256 of the engine's compatibility settings.
fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut engine_hasher = Sha256Hasher(Sha256::new());
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hasher);
    let engine_digest = engine_hasher.0.finalize();
    format!(
        "{}-{}",
        hex(&Sha256::digest(wasm)),
        hex(&engine_digest[..8])
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Feeds `Hash` into sha256, whose output (unlike std's hasher) is the same in every build.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(
            digest[..8]
                .try_into()
                .expect("a sha256 digest has 32 bytes"),
        )
    }
}
