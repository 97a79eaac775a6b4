//! The pipeline file exactly as written: serde types that mirror the YAML, every value that a
//! check may complain about kept with its [`Located`] place.
//!
//! These types are the single source of the file format: serde reads them (unknown keys are
//! refused everywhere) and schemars turns them, doc comments included, into the published JSON
//! Schema. Meaning (names that resolve, durations, cron, defaults) is checked afterwards by
//! `validate`, which turns them into the [`crate::Pipeline`] model.

mod connection;
mod params;
mod step;

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::location::Located;

pub(crate) use connection::{Connection, Tls};
pub(crate) use params::{ParamValue, Params};
pub(crate) use step::{Allow, IdPattern, Step, VmSelector};

/// A Lifeboat pipeline: connections to pools and remotes, the components to run on them, and
/// when to run them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Lifeboat pipeline, version 1")]
pub(crate) struct Pipeline {
    /// Version of the file format; always 1.
    #[schemars(extend("const" = 1))]
    pub version: Located<u32>,
    /// The job's name. It goes into the names of the replicas and backups the job makes.
    pub name: Located<String>,
    /// The job's id, which marks everything the job creates (Xen Orchestra's `xo:backup:job`).
    /// Default: a UUID v5 derived from `name`, so it stays the same across runs; set it to adopt
    /// a Xen Orchestra job's id, or to rename the job without losing its replicas.
    pub id: Option<Located<String>>,
    /// What the job is for.
    pub description: Option<String>,
    /// When the job's run should be reported (Xen Orchestra's `reportWhen`, default
    /// `failure`). Lifeboat sends no reports itself: the value is in the run's `job.start`
    /// event for whatever sends them.
    pub report_when: Option<ReportWhen>,
    /// Secrets by name, each read from exactly one place when the job runs. Values are never
    /// written in the file; connections refer to them as `${{ secrets.NAME }}`.
    #[serde(default)]
    pub secrets: BTreeMap<Located<String>, Located<SecretSource>>,
    /// Pools and remotes by name. Steps get access only to those their `allow` lists.
    #[serde(default)]
    pub connections: BTreeMap<Located<String>, Connection>,
    /// Third-party components by name. Built-in components (such as `dr-copy` and `keep-last`)
    /// need no entry.
    #[serde(default)]
    pub components: BTreeMap<Located<String>, Component>,
    /// When the job runs, by schedule name. Retention counts backups per schedule.
    #[serde(default)]
    pub schedules: BTreeMap<Located<String>, Schedule>,
    /// Settings for every step that does not set them itself.
    #[serde(default)]
    pub defaults: Defaults,
    /// The steps, run in order.
    pub steps: Located<Vec<Step>>,
    /// Steps that always run after `steps`, whether they succeeded or not (cleanup).
    #[serde(default)]
    pub finally: Vec<Step>,
}

/// When a run is reported, as Xen Orchestra's `reportWhen` says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportWhen {
    /// After every run.
    Always,
    /// After runs that did not succeed entirely.
    #[default]
    Failure,
    /// Never.
    Never,
}

/// Where a secret's value comes from: exactly one of `env` or `file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum SecretSource {
    /// The name of an environment variable of the Lifeboat process.
    Env(Located<String>),
    /// A file holding the value (one trailing newline is ignored). A relative path is relative
    /// to the pipeline file's directory.
    File(PathBuf),
}

/// A third-party component, pinned by its digest.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Component {
    /// The component's `.wasm` file. A relative path is relative to the pipeline file's
    /// directory.
    pub path: PathBuf,
    /// SHA-256 of the file: `sha256:` followed by 64 lowercase hexadecimal digits
    /// (`sha256sum FILE`). Lifeboat refuses a file that does not match.
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: Located<String>,
}

/// When the job runs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Schedule {
    /// The schedule's id, which retention uses to keep each schedule's backups apart. Default:
    /// a UUID v5 derived from the job's id and the schedule's name.
    pub id: Option<Located<String>>,
    /// A cron expression: minute, hour, day of month, month, day of week (5 fields), optionally
    /// preceded by seconds. E.g. `0 2 * * *` runs at 02:00 every day.
    pub cron: Located<String>,
    /// The IANA time zone that `cron` is read in, e.g. `Europe/Paris`. Default: `UTC`.
    pub timezone: Option<Located<String>>,
}

/// Settings for every step that does not set them itself.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    /// How long one run of a step (one VM of a `for_each`) may take: `90s`, `30m`, `6h`, `7d`.
    /// Default: no limit.
    pub timeout: Option<Located<String>>,
    /// How to retry a failed run of a step.
    pub retry: Option<Retry>,
    /// How many VMs a `for_each` step works on at once. Default: 2 (Xen Orchestra's).
    #[schemars(range(min = 1))]
    pub max_parallel: Option<Located<u32>>,
}

/// How to retry a failed run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Retry {
    /// How many times to try in all, the first included. Default: 1 (no retry).
    #[schemars(range(min = 1))]
    pub max_attempts: Option<Located<u32>>,
    /// How long to wait between attempts: `30s`, `5m`. Default: `30s`.
    pub interval: Option<Located<String>>,
}
