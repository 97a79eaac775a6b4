//! Steps, checked, with the pipeline's defaults applied.

use std::num::NonZeroU32;
use std::time::Duration;

use uuid::Uuid;

use super::{ParamPlaces, Params};

/// One step: a component run once, or once per VM of `for_each`.
#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    /// Where the step's `id` is written.
    pub location: Option<crate::Location>,
    pub name: Option<String>,
    pub uses: ComponentRef,
    /// The connections this step's component may use; nothing else is linked into it.
    pub grants: Grants,
    pub for_each: Option<VmSelection>,
    /// How many VMs of `for_each` to work on at once.
    pub max_parallel: NonZeroU32,
    pub retry: RetryPolicy,
    /// The limit of one run (one VM of a `for_each`); `None`: no limit.
    pub timeout: Option<Duration>,
    pub continue_on_error: bool,
    /// The retention policy; `None`: the built-in default (`keep-last`).
    pub retention: Option<ComponentRef>,
    pub with: Params,
    /// Where each value of `with` is written.
    pub with_places: ParamPlaces,
}

/// A component that a step names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComponentRef {
    /// One of the host's built-in components.
    Builtin(String),
    /// An entry of the pipeline's `components`.
    Component(String),
}

/// The connections granted to a step, by kind (names of the pipeline's connections).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub xapi: Vec<String>,
    pub remotes: Vec<String>,
    pub clouds: Vec<String>,
}

/// The VMs a step runs over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmSelection {
    /// The pool's connection name (granted to the step).
    pub pool: String,
    pub filter: VmFilter,
}

/// Which VMs of the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmFilter {
    /// These VMs (from `uuids`, or a Xen Orchestra `pattern`).
    Uuids(Vec<Uuid>),
    /// The VMs that carry all these tags.
    Tags(Vec<String>),
}

/// How a failed run is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: NonZeroU32,
    /// The wait between attempts.
    pub interval: Duration,
}
