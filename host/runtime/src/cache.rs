//! The on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes tens of milliseconds for a small Rust component
//! and seconds for a Python one; loading a compiled artefact takes well under a millisecond. So
//! each component is compiled once and its artefact kept under a key made of the component's
//! sha256 and the engine's compatibility hash (wasmtime's version and every setting that
//! changes the machine code): a second run, or a run with the same engine in another process,
//! compiles nothing, and an artefact from another engine or version is never even looked at.
//!
//! An artefact is machine code that is loaded without checks, so the cache is used only in a
//! folder that this user owns and nobody else may write (a planted artefact would run as this
//! user). Elsewhere components are compiled every time and a warning says why.

use std::hash::{Hash, Hasher};
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
    /// `~/.cache/lifeboat/components`), or without a home in `lifeboat-<uid>/components` in the
    /// system's temporary directory, a folder private to the user.
    pub fn default_location() -> Self {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        ComponentCache::new(location(
            std::env::var_os("XDG_CACHE_HOME"),
            std::env::var_os("HOME"),
            uid,
        ))
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
        let private = match self.prepare() {
            Ok(()) => true,
            Err(problem) => {
                tracing::warn!(dir = %self.dir.display(), "not using the component cache: {problem}");
                false
            }
        };
        if private && let Some(artefact) = read_no_follow(&path) {
            // SAFETY: the bytes were written by `Engine::precompile_component` for an engine
            // with this exact compatibility hash (it is part of the name), into a folder only
            // this user writes, renamed into place only once complete, and read through no link.
            match unsafe { Component::deserialize(engine, &artefact) } {
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
        if private && let Err(error) = self.store(&path, &compiled) {
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

    /// Creates the cache's folder (only this user may enter what it creates) and checks that
    /// it is private: owned by this user, writable by nobody else.
    fn prepare(&self) -> Result<(), String> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|error| format!("cannot create it: {error}"))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        for (depth, dir) in self.dir.ancestors().take(3).enumerate() {
            // Not followed: a link in the way would let its owner point the cache elsewhere.
            let meta = std::fs::symlink_metadata(dir).map_err(|error| format!("{error}"))?;
            if meta.file_type().is_symlink() {
                return Err(format!("{} is a symbolic link", dir.display()));
            }
            // Above the cache folder, a sticky folder that root owns (/tmp) lets nobody replace
            // another's entries: the walk stops there. Anyone else's sticky folder, and the
            // cache folder itself (where others could add artefacts), are judged like any other.
            if depth > 0 && meta.mode() & 0o1000 != 0 && meta.uid() == 0 {
                break;
            }
            // The cache folder and its parent (made 0700 here) may be written by this user
            // only; the grandparent (`~/.cache`, often group-writable under a user-private
            // group) by no other user.
            let foreign_write = if depth < 2 { 0o022 } else { 0o002 };
            if (meta.uid() != me && meta.uid() != 0) || meta.mode() & foreign_write != 0 {
                return Err(format!(
                    "{} is owned by uid {} with mode {:o}: other users could plant compiled code there",
                    dir.display(),
                    meta.uid(),
                    meta.mode() & 0o7777
                ));
            }
        }
        Ok(())
    }

    /// Writes an artefact under a temporary name and renames it into place, so a reader never
    /// sees half of one.
    fn store(&self, path: &Path, compiled: &[u8]) -> Result<(), lifeboat_formats::Error> {
        lifeboat_formats::atomic::write_atomic(path, compiled)
    }
}

/// The artefact at `path`, read without following a link; `None` if there is none to read.
fn read_no_follow(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let mut artefact = Vec::new();
    file.read_to_end(&mut artefact).ok()?;
    Some(artefact)
}

/// The cache's folder for these values of `$XDG_CACHE_HOME`, `$HOME` and the user id.
fn location(
    xdg_cache_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
    uid: u32,
) -> PathBuf {
    let base = xdg_cache_home
        .map(PathBuf::from)
        .or_else(|| home.map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("lifeboat-{uid}")));
    base.join("lifeboat").join("components")
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_folder_others_may_write_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path().join("components"));
        cache.prepare().unwrap();
        let mode = std::fs::metadata(cache.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "made private");
        std::fs::set_permissions(cache.dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = cache.prepare().unwrap_err();
        assert!(
            refused.contains("other users could plant compiled code"),
            "{refused}"
        );
        // Sticky does not make the cache folder itself private: others could add artefacts.
        std::fs::set_permissions(cache.dir(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(cache.prepare().is_err());
        // A link in the cache's place is refused.
        std::fs::set_permissions(cache.dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let linked = ComponentCache::new(dir.path().join("linked"));
        std::os::unix::fs::symlink(cache.dir(), linked.dir()).unwrap();
        let refused = linked.prepare().unwrap_err();
        assert!(refused.contains("symbolic link"), "{refused}");
    }

    #[test]
    fn without_a_home_the_cache_is_in_a_folder_of_its_own_user() {
        assert_eq!(
            location(None, None, 1042),
            std::env::temp_dir().join("lifeboat-1042/lifeboat/components")
        );
        assert_eq!(
            location(None, Some("/home/ana".into()), 1042),
            Path::new("/home/ana/.cache/lifeboat/components")
        );
        assert_eq!(
            location(
                Some("/var/cache/ana".into()),
                Some("/home/ana".into()),
                1042
            ),
            Path::new("/var/cache/ana/lifeboat/components")
        );
        // The fallback is made private when first used.
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path().join("lifeboat-1042/lifeboat/components"));
        cache.prepare().unwrap();
        for private in [cache.dir(), cache.dir().parent().unwrap()] {
            let mode = std::fs::metadata(private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", private.display());
        }
    }
}
