//! A checked pipeline: what the executor runs. Every name resolves, every duration, cron
//! expression and time zone is parsed, defaults are applied, and `${{ … }}` references are known
//! to be valid where they are used.

mod connection;
mod params;
mod step;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::digest::Sha256Digest;

pub use crate::document::ReportWhen;

pub use connection::{
    Connection, ConnectionKind, OpenstackConnection, OpenstackCredentials, RemoteConnection,
    RemoteUrl, TlsPolicy, Username, XapiConnection,
};
pub use params::{
    ItemContext, Param, ParamPlaces, Params, SubstitutionContext, SubstitutionError, Template,
    TemplatePart, ValueReference,
};
pub use step::{ComponentRef, Grants, RetryPolicy, Step, VmFilter, VmSelection};

/// A pipeline file, checked. Build one with [`Pipeline::load`] or [`Pipeline::parse`].
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// The job's name.
    pub name: String,
    /// The job's id: the file's `id`, else [`crate::ids::default_job_id`] of the name.
    pub id: String,
    pub description: Option<String>,
    /// When the run is to be reported; carried in the `job.start` event.
    pub report_when: ReportWhen,
    pub secrets: BTreeMap<String, SecretSource>,
    pub connections: BTreeMap<String, Connection>,
    pub components: BTreeMap<String, ComponentSource>,
    pub schedules: BTreeMap<String, Schedule>,
    pub steps: Vec<Step>,
    pub finally: Vec<Step>,
}

/// Where a secret's value is read from when the job runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of the Lifeboat process.
    Env(String),
    /// A file; one trailing newline is not part of the value.
    File(PathBuf),
}

/// A third-party component: its file and the digest that file must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentSource {
    /// Resolved against the pipeline file's directory by [`Pipeline::load`].
    pub path: PathBuf,
    pub digest: Sha256Digest,
}

/// When the job runs.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The file's `id`, else [`crate::ids::default_schedule_id`].
    pub id: String,
    /// The cron expression (its text: `cron.pattern.as_str()`).
    pub cron: croner::Cron,
    /// The time zone the expression is read in.
    pub timezone: chrono_tz::Tz,
}
