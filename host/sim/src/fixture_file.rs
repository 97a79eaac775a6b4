//! Reading the simulators' YAML fixtures: the file read, parsed with unknown keys refused and
//! errors located (line and column), then checked for what serde cannot see (unique names,
//! references that resolve).

use std::path::Path;

use serde::de::DeserializeOwned;

/// A fixture that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read fixture {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Reads, parses and checks the fixture file at `path`.
pub fn load<T: DeserializeOwned>(
    path: &Path,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, FixtureError> {
    let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string(), check)
}

/// Parses and checks fixture text; `origin` names it in errors.
pub fn parse<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, FixtureError> {
    let fixture: T = serde_saphyr::from_str(text).map_err(|e| FixtureError::Parse {
        path: origin.to_owned(),
        message: e.to_string(),
    })?;
    check(&fixture).map_err(|message| FixtureError::Invalid {
        path: origin.to_owned(),
        message,
    })?;
    Ok(fixture)
}
