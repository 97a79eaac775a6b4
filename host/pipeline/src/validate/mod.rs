//! From the file as written ([`crate::document`]) to a checked [`Pipeline`]: every rule that
//! serde cannot express, each broken rule reported at its node, all of them in one pass.
//!
//! Checks never stop at the first problem: a part with a problem is left out of the result and
//! the rest is still checked; the result is used only when nothing was reported. Names are
//! resolved against what the file declares (not against what passed its own checks), so one
//! mistake is reported once, where it is.

mod connections;
mod duration;
mod names;
mod params;
mod schedules;
mod steps;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::document;
use crate::ids::default_job_id;
use crate::location::{Located, Location};
use crate::model::{ComponentSource, ConnectionKind, Pipeline, SecretSource};

/// Checks `document`; relative paths in it are taken relative to `base_dir`.
pub(crate) fn pipeline(
    document: document::Pipeline,
    builtins: &[&str],
    base_dir: &Path,
) -> Result<Pipeline, Vec<Diagnostic>> {
    let mut report = Report::default();
    let declared = Declared::of(&document, builtins);

    if document.version.value != 1 {
        report.push(
            Diagnostic::new(
                document.version.location,
                format!(
                    "unsupported version {}: this Lifeboat reads version 1",
                    document.version.value
                ),
            )
            .with_hint("write `version: 1`"),
        );
    }
    let name = non_empty(&mut report, document.name, "the job's `name`");
    let id = match document.id {
        Some(id) => non_empty(&mut report, id, "the job's `id`"),
        None => default_job_id(&name),
    };
    let secrets = secrets(&mut report, document.secrets, base_dir);
    let connections = connections::check(&mut report, &declared, document.connections, base_dir);
    let components = components(&mut report, &declared, document.components, base_dir);
    let schedules = schedules::check(&mut report, document.schedules, &id);
    let (steps, finally) = steps::check(
        &mut report,
        &declared,
        document.defaults,
        document.steps,
        document.finally,
    );

    report.finish(Pipeline {
        name,
        id,
        description: document.description,
        report_when: document.report_when.unwrap_or_default(),
        secrets,
        connections,
        components,
        schedules,
        steps,
        finally,
    })
}

/// The problems found so far.
#[derive(Default)]
struct Report(Vec<Diagnostic>);

impl Report {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    fn error(&mut self, location: Option<Location>, message: impl Into<String>) {
        self.push(Diagnostic::new(location, message));
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// The names the file declares, which steps and connections refer to.
struct Declared<'a> {
    builtins: &'a [&'a str],
    secrets: BTreeSet<String>,
    connections: BTreeMap<String, ConnectionKind>,
    components: BTreeSet<String>,
}

impl<'a> Declared<'a> {
    fn of(document: &document::Pipeline, builtins: &'a [&'a str]) -> Self {
        Declared {
            builtins,
            secrets: document
                .secrets
                .keys()
                .map(|name| name.value.clone())
                .collect(),
            connections: document
                .connections
                .iter()
                .map(|(name, connection)| (name.value.clone(), connection.kind.value.canonical()))
                .collect(),
            components: document
                .components
                .keys()
                .map(|name| name.value.clone())
                .collect(),
        }
    }
}

fn non_empty(report: &mut Report, text: Located<String>, what: &str) -> String {
    if text.value.trim().is_empty() {
        report.error(text.location, format!("{what} is empty"));
    }
    text.value
}

fn secrets(
    report: &mut Report,
    secrets: BTreeMap<Located<String>, Located<document::SecretSource>>,
    base_dir: &Path,
) -> BTreeMap<String, SecretSource> {
    let mut checked = BTreeMap::new();
    for (name, source) in secrets {
        let name_ok = names::check(report, "secret", &name);
        let source = match source.value {
            document::SecretSource::Env(variable) => {
                let text = &variable.value;
                if text.is_empty() || text.contains(['=', '\0']) {
                    report.error(
                        variable.location,
                        format!("`{text}` is not an environment variable name"),
                    );
                    continue;
                }
                SecretSource::Env(variable.value)
            }
            document::SecretSource::File(path) => SecretSource::File(base_dir.join(path)),
        };
        if name_ok {
            checked.insert(name.value, source);
        }
    }
    checked
}

fn components(
    report: &mut Report,
    declared: &Declared<'_>,
    components: BTreeMap<Located<String>, document::Component>,
    base_dir: &Path,
) -> BTreeMap<String, ComponentSource> {
    let mut checked = BTreeMap::new();
    for (name, component) in components {
        let mut ok = names::check(report, "component", &name);
        if declared.builtins.contains(&name.value.as_str()) {
            report.push(
                Diagnostic::new(
                    name.location,
                    format!(
                        "component `{}` has the name of a built-in component",
                        name.value
                    ),
                )
                .with_hint("give it another name; steps refer to components by name"),
            );
            ok = false;
        }
        let digest = match component.digest.value.parse() {
            Ok(digest) => Some(digest),
            Err(error) => {
                report.push(
                    Diagnostic::new(
                        component.digest.location,
                        format!("`{}` is {error}", component.digest.value),
                    )
                    .with_hint(
                        "compute it with `sha256sum FILE` and write `sha256:<the 64 digits>`",
                    ),
                );
                None
            }
        };
        if let (true, Some(digest)) = (ok, digest) {
            let path = base_dir.join(component.path);
            checked.insert(name.value, ComponentSource { path, digest });
        }
    }
    checked
}
