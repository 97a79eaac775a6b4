//! Paths inside a remote: checked once, when they are made, so that no backend has to.

use std::fmt;

use crate::error::RemoteError;

/// A path inside a remote: `/`-separated names relative to its root (the empty path).
///
/// Made only by [`RemotePath::parse`] and [`RemotePath::join`], which refuse absolute paths,
/// `..`, control characters (NUL included) and empty names; `.` and repeated or trailing `/` are
/// dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RemotePath(String);

impl RemotePath {
    /// The remote's root.
    pub fn root() -> Self {
        RemotePath(String::new())
    }

    /// `text` as a path inside the remote, or why it cannot be one.
    pub fn parse(text: &str) -> Result<Self, RemoteError> {
        let bad = |reason| RemoteError::BadPath {
            path: text.to_owned(),
            reason,
        };
        if text.starts_with('/') {
            return Err(bad(
                "paths are relative to the remote's root and may not start with `/`",
            ));
        }
        if text.chars().any(|c| c.is_ascii_control()) {
            return Err(bad("a path may not hold control characters"));
        }
        let mut names = Vec::new();
        for name in text.split('/') {
            match name {
                "" | "." => {}
                ".." => return Err(bad("a path may not hold `..`")),
                name => names.push(name),
            }
        }
        Ok(RemotePath(names.join("/")))
    }

    /// The path as `/`-separated names; empty for the root.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// `name` inside this folder; `name` may itself hold `/`.
    pub fn join(&self, name: &str) -> Result<Self, RemoteError> {
        let child = RemotePath::parse(name)?;
        Ok(match (self.is_root(), child.is_root()) {
            (true, _) => child,
            (false, true) => self.clone(),
            (false, false) => RemotePath(format!("{}/{}", self.0, child.0)),
        })
    }

    /// The folder holding this path; `None` for the root.
    pub fn parent(&self) -> Option<RemotePath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rsplit_once('/') {
            Some((parent, _)) => RemotePath(parent.to_owned()),
            None => RemotePath::root(),
        })
    }

    /// The last name of the path; `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        Some(self.0.rsplit_once('/').map_or(&*self.0, |(_, name)| name))
    }

    /// The sibling of this path named `name` (a temporary file beside its target).
    pub(crate) fn sibling(&self, name: &str) -> RemotePath {
        match self.parent() {
            Some(parent) if !parent.is_root() => RemotePath(format!("{}/{name}", parent.0)),
            _ => RemotePath(name.to_owned()),
        }
    }

    /// This path with `suffix` appended to its last name (`<dir>.lock`).
    pub(crate) fn with_suffix(&self, suffix: &str) -> RemotePath {
        RemotePath(format!("{}{suffix}", self.0))
    }

    /// The path as a relative filesystem path (`.` for the root), for cap-std.
    pub(crate) fn as_relative(&self) -> &str {
        if self.is_root() { "." } else { &self.0 }
    }
}

impl fmt::Display for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            f.write_str("/")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_escapes_refused() {
        assert_eq!(RemotePath::parse("a//b/./c/").unwrap().as_str(), "a/b/c");
        assert!(RemotePath::parse("").unwrap().is_root());
        assert!(RemotePath::parse(".").unwrap().is_root());
        for bad in ["/etc", "a/../b", "..", "a\0b"] {
            assert!(
                matches!(RemotePath::parse(bad), Err(RemoteError::BadPath { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parents_names_and_joins() {
        let path = RemotePath::parse("xo-vm-backups/vm/a.json").unwrap();
        assert_eq!(path.file_name(), Some("a.json"));
        assert_eq!(path.parent().unwrap().as_str(), "xo-vm-backups/vm");
        assert_eq!(
            RemotePath::parse("a").unwrap().parent(),
            Some(RemotePath::root())
        );
        assert_eq!(RemotePath::root().parent(), None);
        assert_eq!(RemotePath::root().join("x/y").unwrap().as_str(), "x/y");
        assert!(path.join("../../..").is_err());
        assert_eq!(
            path.sibling(".a.json.tmp").as_str(),
            "xo-vm-backups/vm/.a.json.tmp"
        );
        assert_eq!(
            RemotePath::parse("dir")
                .unwrap()
                .with_suffix(".lock")
                .as_str(),
            "dir.lock"
        );
    }
}
