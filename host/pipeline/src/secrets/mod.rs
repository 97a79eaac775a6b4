//! Secrets: read when a job runs from the environment or from files, held in a type that never
//! prints its value, and masked out of every text the job emits ([`Masker`]).
//!
//! Errors name the secret and where it was to come from, never what was read.

mod masker;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::Path;

pub use lifeboat_formats::secret::Secret;
pub use masker::Masker;

use crate::model::{Pipeline, SecretSource};

/// The values of a pipeline's secrets, by name.
#[derive(Clone, Debug, Default)]
pub struct Secrets(BTreeMap<String, Secret>);

impl Secrets {
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.get(name)
    }

    /// A masker for every value held here.
    pub fn masker(&self) -> Masker {
        Masker::new(self.0.values().map(Secret::expose))
    }
}

/// The largest secret file read: secrets are passwords and keys, not documents.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A secret that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("secret `{name}` ({origin}): {problem}")]
pub struct SecretError {
    pub name: String,
    /// Where the value was to come from: "environment variable X" or "file P".
    pub origin: String,
    pub problem: SecretProblem,
}

/// What went wrong reading a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretProblem {
    #[error("not set")]
    NotSet,
    #[error("not UTF-8 text")]
    NotUtf8,
    #[error("cannot read it: {0}")]
    Unreadable(#[source] std::io::Error),
    #[error("larger than {MAX_SECRET_FILE_BYTES} bytes")]
    TooLarge,
    #[error("empty")]
    Empty,
}

/// Secrets that could not be read: all of them, so that one run shows every one to fix.
#[derive(Debug, thiserror::Error)]
pub struct UnresolvedSecrets(pub Vec<SecretError>);

impl fmt::Display for UnresolvedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Reads every secret the pipeline declares from this process's environment and files.
pub fn resolve_secrets(pipeline: &Pipeline) -> Result<Secrets, UnresolvedSecrets> {
    resolve_with(pipeline, |variable| std::env::var_os(variable))
}

/// [`resolve_secrets`] with the environment given (tests cannot safely set the real one).
fn resolve_with(
    pipeline: &Pipeline,
    environment: impl Fn(&str) -> Option<OsString>,
) -> Result<Secrets, UnresolvedSecrets> {
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, source) in &pipeline.secrets {
        let (origin, value) = match source {
            SecretSource::Env(variable) => (
                format!("environment variable {variable}"),
                from_env(&environment, variable),
            ),
            SecretSource::File(path) => (format!("file {}", path.display()), from_file(path)),
        };
        match value.and_then(|value| {
            if value.is_empty() {
                Err(SecretProblem::Empty)
            } else {
                Ok(value)
            }
        }) {
            Ok(value) => {
                values.insert(name.clone(), Secret::new(value));
            }
            Err(problem) => errors.push(SecretError {
                name: name.clone(),
                origin,
                problem,
            }),
        }
    }
    if errors.is_empty() {
        Ok(Secrets(values))
    } else {
        Err(UnresolvedSecrets(errors))
    }
}

fn from_env(
    environment: &impl Fn(&str) -> Option<OsString>,
    variable: &str,
) -> Result<String, SecretProblem> {
    environment(variable)
        .ok_or(SecretProblem::NotSet)?
        .into_string()
        .map_err(|_| SecretProblem::NotUtf8)
}

fn from_file(path: &Path) -> Result<String, SecretProblem> {
    let file = std::fs::File::open(path).map_err(SecretProblem::Unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(SecretProblem::Unreadable)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretProblem::TooLarge);
    }
    let mut text = String::from_utf8(bytes).map_err(|_| SecretProblem::NotUtf8)?;
    // Editors and `echo` end files with a newline that is not part of the secret.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn pipeline(secrets: &[(&str, SecretSource)]) -> Pipeline {
        Pipeline {
            name: "p".to_owned(),
            id: "id".to_owned(),
            description: None,
            report_when: Default::default(),
            secrets: secrets
                .iter()
                .map(|(name, source)| ((*name).to_owned(), source.clone()))
                .collect(),
            connections: BTreeMap::new(),
            components: BTreeMap::new(),
            schedules: BTreeMap::new(),
            steps: Vec::new(),
            finally: Vec::new(),
        }
    }

    fn environment(variable: &str) -> Option<OsString> {
        (variable == "DR_PASSWORD").then(|| OsString::from("s3cr3t-env"))
    }

    #[test]
    fn reads_environment_variables_and_files_without_their_last_newline() {
        let dir = tempfile::tempdir().unwrap();
        let unix = dir.path().join("unix");
        let windows = dir.path().join("windows");
        let two_lines = dir.path().join("two");
        std::fs::write(&unix, "from-file\n").unwrap();
        std::fs::write(&windows, "crlf\r\n").unwrap();
        std::fs::write(&two_lines, "kept\n\n").unwrap();
        let secrets = resolve_with(
            &pipeline(&[
                ("env", SecretSource::Env("DR_PASSWORD".to_owned())),
                ("unix", SecretSource::File(unix)),
                ("windows", SecretSource::File(windows)),
                ("two", SecretSource::File(two_lines)),
            ]),
            environment,
        )
        .unwrap();
        assert_eq!(secrets.get("env").unwrap().expose(), "s3cr3t-env");
        assert_eq!(secrets.get("unix").unwrap().expose(), "from-file");
        assert_eq!(secrets.get("windows").unwrap().expose(), "crlf");
        assert_eq!(secrets.get("two").unwrap().expose(), "kept\n");
        assert_eq!(secrets.get("other"), None);
    }

    #[test]
    fn errors_name_the_secret_and_its_origin_but_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let empty = dir.path().join("empty");
        let large = dir.path().join("large");
        std::fs::write(&empty, "\n").unwrap();
        std::fs::write(&large, "x".repeat(MAX_SECRET_FILE_BYTES as usize + 1)).unwrap();
        let error = resolve_with(
            &pipeline(&[
                ("a_env", SecretSource::Env("UNSET_VARIABLE".to_owned())),
                ("b_file", SecretSource::File(missing.clone())),
                ("c_empty", SecretSource::File(empty.clone())),
                ("d_large", SecretSource::File(large.clone())),
                ("e_fine", SecretSource::Env("DR_PASSWORD".to_owned())),
            ]),
            environment,
        )
        .unwrap_err();
        let text = error.to_string();
        assert_eq!(
            text,
            format!(
                "secret `a_env` (environment variable UNSET_VARIABLE): not set\n\
                 secret `b_file` (file {}): cannot read it: No such file or directory (os error 2)\n\
                 secret `c_empty` (file {}): empty\n\
                 secret `d_large` (file {}): larger than 65536 bytes",
                missing.display(),
                empty.display(),
                large.display()
            )
        );
        assert!(!text.contains("s3cr3t-env"));
    }

    #[test]
    fn a_secret_value_never_prints() {
        let value = Secret::new("hunter2");
        assert_eq!(format!("{value} {value:?}"), "*** ***");
        let secrets = Secrets(BTreeMap::from([("pw".to_owned(), value)]));
        assert!(!format!("{secrets:?}").contains("hunter2"));
        assert_eq!(
            secrets.masker().mask("login root/hunter2"),
            "login root/***"
        );
    }
}
