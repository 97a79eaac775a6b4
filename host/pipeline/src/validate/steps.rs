//! Steps: ids, the components they use, their grants, the VMs they run over, and their settings
//! with the pipeline's `defaults` applied.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use uuid::Uuid;

use super::{Declared, Report, duration, names, params};
use crate::diagnostic::Diagnostic;
use crate::document::{self, IdPattern};
use crate::location::{Located, Location};
use crate::model::{
    ComponentRef, ConnectionKind, Grants, RetryPolicy, Step, VmFilter, VmSelection,
};

/// Xen Orchestra's default concurrency for a backup job.
const DEFAULT_MAX_PARALLEL: NonZeroU32 = NonZeroU32::new(2).unwrap();
const DEFAULT_MAX_ATTEMPTS: NonZeroU32 = NonZeroU32::MIN;
const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(30);

/// The checked `steps` and `finally`.
pub(super) fn check(
    report: &mut Report,
    declared: &Declared<'_>,
    defaults: document::Defaults,
    steps: Located<Vec<document::Step>>,
    finally: Vec<document::Step>,
) -> (Vec<Step>, Vec<Step>) {
    let defaults = Defaults::check(report, defaults);
    if steps.value.is_empty() {
        report.error(steps.location, "a pipeline needs at least one step");
    }
    let mut ids = BTreeMap::new();
    let mut checked = |report: &mut Report, steps: Vec<document::Step>| -> Vec<Step> {
        steps
            .into_iter()
            .filter_map(|step| {
                unique_id(report, &mut ids, &step.id);
                self::step(report, declared, &defaults, step)
            })
            .collect()
    };
    let steps = checked(report, steps.value);
    let finally = checked(report, finally);
    (steps, finally)
}

/// Reports `id` if a step before it has it.
fn unique_id(
    report: &mut Report,
    seen: &mut BTreeMap<String, Option<Location>>,
    id: &Located<String>,
) {
    if let Some(first) = seen.get(&id.value) {
        let diagnostic = Diagnostic::new(id.location, format!("duplicate step id `{}`", id.value));
        report.push(match first {
            Some(first) => diagnostic.with_hint(format!(
                "the first step with this id is at line {}",
                first.line
            )),
            None => diagnostic,
        });
    } else {
        seen.insert(id.value.clone(), id.location);
    }
}

/// `defaults`, checked: each field `None` where the file leaves it to the built-in default.
struct Defaults {
    timeout: Option<Duration>,
    max_attempts: Option<NonZeroU32>,
    retry_interval: Option<Duration>,
    max_parallel: Option<NonZeroU32>,
}

impl Defaults {
    fn check(report: &mut Report, defaults: document::Defaults) -> Self {
        let retry = defaults.retry.as_ref();
        Defaults {
            timeout: defaults
                .timeout
                .as_ref()
                .and_then(|text| duration::parse_limit(report, text)),
            max_attempts: retry
                .and_then(|retry| retry.max_attempts.as_ref())
                .and_then(|count| at_least_one(report, count, "`max_attempts`")),
            retry_interval: retry
                .and_then(|retry| retry.interval.as_ref())
                .and_then(|text| duration::parse(report, text)),
            max_parallel: defaults
                .max_parallel
                .as_ref()
                .and_then(|count| at_least_one(report, count, "`max_parallel`")),
        }
    }
}

fn at_least_one(report: &mut Report, count: &Located<u32>, what: &str) -> Option<NonZeroU32> {
    let count_ok = NonZeroU32::new(count.value);
    if count_ok.is_none() {
        report.error(count.location, format!("{what} must be at least 1"));
    }
    count_ok
}

fn step(
    report: &mut Report,
    declared: &Declared<'_>,
    defaults: &Defaults,
    step: document::Step,
) -> Option<Step> {
    let id_ok = names::check_step_id(report, &step.id);
    let uses = component(report, declared, &step.uses);
    let retention = step
        .retention
        .as_ref()
        .map(|retention| component(report, declared, retention));
    let grants = grants(report, declared, &step.allow);
    let for_each = step
        .for_each
        .as_ref()
        .map(|for_each| vm_selection(report, declared, &step.allow, &for_each.vms));
    let max_parallel = match &step.max_parallel {
        Some(count) => {
            if step.for_each.is_none() {
                report.error(
                    count.location,
                    "`max_parallel` applies only to a step with `for_each`",
                );
            }
            at_least_one(report, count, "`max_parallel`")
        }
        None => Some(defaults.max_parallel.unwrap_or(DEFAULT_MAX_PARALLEL)),
    };
    let retry = retry(report, defaults, step.retry.as_ref());
    let timeout = match &step.timeout {
        Some(text) => duration::parse_limit(report, text).map(Some),
        None => Some(defaults.timeout),
    };
    let (with, with_places) = params::check(report, step.with, step.for_each.is_some());

    if !id_ok {
        return None;
    }
    Some(Step {
        id: step.id.value,
        location: step.id.location,
        name: step.name,
        uses: uses?,
        grants,
        for_each: valid_if_present(for_each)?,
        max_parallel: max_parallel?,
        retry: retry?,
        timeout: timeout?,
        continue_on_error: step.continue_on_error,
        retention: valid_if_present(retention)?,
        with,
        with_places,
    })
}

/// An optional setting's checked value: `Some(None)` when it is absent, `None` when it is
/// present but invalid.
fn valid_if_present<T>(setting: Option<Option<T>>) -> Option<Option<T>> {
    match setting {
        None => Some(None),
        Some(checked) => checked.map(Some),
    }
}

/// The component `name` refers to: a built-in, or an entry of `components`.
fn component(
    report: &mut Report,
    declared: &Declared<'_>,
    name: &Located<String>,
) -> Option<ComponentRef> {
    if declared.components.contains(&name.value) {
        Some(ComponentRef::Component(name.value.clone()))
    } else if declared.builtins.contains(&name.value.as_str()) {
        Some(ComponentRef::Builtin(name.value.clone()))
    } else {
        report.push(
            Diagnostic::new(name.location, format!("unknown component `{}`", name.value))
                .with_hint(format!(
                    "built-in components: {}; declared under `components`: {}",
                    names::listed(declared.builtins.iter().copied()),
                    names::listed(declared.components.iter().map(String::as_str)),
                )),
        );
        None
    }
}

fn grants(report: &mut Report, declared: &Declared<'_>, allow: &document::Allow) -> Grants {
    let mut granted = |lists: &[(&[Located<String>], &str)], kind: ConnectionKind| {
        lists
            .iter()
            .flat_map(|(names, list)| names.iter().map(move |name| (name, *list)))
            .filter(|(name, list)| granted_connection(report, declared, name, list, kind))
            .map(|(name, _)| name.value.clone())
            .collect()
    };
    Grants {
        xapi: granted(&[(&allow.xapi, "allow.xapi")], ConnectionKind::Xapi),
        remotes: granted(
            &[
                (&allow.remotes, "allow.remotes"),
                (&allow.storage, "allow.storage"),
            ],
            ConnectionKind::Remote,
        ),
        clouds: granted(
            &[(&allow.clouds, "allow.clouds")],
            ConnectionKind::Openstack,
        ),
    }
}

/// Whether `name` is a declared connection of `kind` (reported if not).
fn granted_connection(
    report: &mut Report,
    declared: &Declared<'_>,
    name: &Located<String>,
    list: &str,
    kind: ConnectionKind,
) -> bool {
    match declared.connections.get(&name.value) {
        None => {
            report.push(
                Diagnostic::new(
                    name.location,
                    format!("unknown connection `{}`", name.value),
                )
                .with_hint(format!(
                    "declared connections: {}",
                    names::listed(declared.connections.keys().map(String::as_str))
                )),
            );
            false
        }
        Some(&actual) if actual != kind => {
            report.push(
                Diagnostic::new(
                    name.location,
                    format!(
                        "`{}` is a connection of kind `{}`; `{list}` lists connections of kind `{}`",
                        name.value,
                        actual.as_str(),
                        kind.as_str()
                    ),
                )
                .with_hint(format!("list it under `{}`", actual.allow_key())),
            );
            false
        }
        Some(_) => true,
    }
}

fn vm_selection(
    report: &mut Report,
    declared: &Declared<'_>,
    allow: &document::Allow,
    vms: &Located<document::VmSelector>,
) -> Option<VmSelection> {
    let selector = &vms.value;
    let pool = &selector.pool;
    let pool_ok = match declared.connections.get(&pool.value) {
        Some(ConnectionKind::Xapi) => {
            let granted = allow.xapi.iter().any(|name| name.value == pool.value);
            if !granted {
                report.push(
                    Diagnostic::new(
                        pool.location,
                        format!("the step is not granted the pool `{}`", pool.value),
                    )
                    .with_hint(format!("add `{}` to the step's `allow.xapi`", pool.value)),
                );
            }
            granted
        }
        Some(kind @ (ConnectionKind::Remote | ConnectionKind::Fs | ConnectionKind::Openstack)) => {
            report.error(
                pool.location,
                format!(
                    "`{}` is a connection of kind `{}`; `pool` names an xapi connection",
                    pool.value,
                    kind.as_str()
                ),
            );
            false
        }
        None => {
            report.push(
                Diagnostic::new(
                    pool.location,
                    format!("unknown connection `{}`", pool.value),
                )
                .with_hint(format!(
                    "declared connections: {}",
                    names::listed(declared.connections.keys().map(String::as_str))
                )),
            );
            false
        }
    };
    let filter = vm_filter(report, vms);
    pool_ok.then_some(VmSelection {
        pool: pool.value.clone(),
        filter: filter?,
    })
}

fn vm_filter(report: &mut Report, vms: &Located<document::VmSelector>) -> Option<VmFilter> {
    let selector = &vms.value;
    let given: Vec<&str> = [
        ("uuids", selector.uuids.is_some()),
        ("tags", selector.tags.is_some()),
        ("pattern", selector.pattern.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    const HINT: &str = "choose the VMs with exactly one of `uuids`, `tags` or `pattern`";
    match given.as_slice() {
        [_] => {}
        [] => {
            report.push(Diagnostic::new(vms.location, "no VMs chosen").with_hint(HINT));
            return None;
        }
        several => {
            report.push(
                Diagnostic::new(
                    vms.location,
                    format!("`{}` cannot be combined", several.join("` and `")),
                )
                .with_hint(HINT),
            );
            return None;
        }
    }
    if let Some(uuids) = &selector.uuids {
        return uuid_list(
            report,
            vms.location,
            "uuids",
            uuids
                .iter()
                .map(|uuid| (uuid.value.as_str(), uuid.location)),
        );
    }
    if let Some(tags) = &selector.tags {
        if tags.is_empty() {
            report.error(vms.location, "`tags` is empty: give at least one tag");
            return None;
        }
        let mut ok = true;
        for tag in tags.iter().filter(|tag| tag.value.is_empty()) {
            report.error(tag.location, "a tag cannot be empty");
            ok = false;
        }
        return ok.then(|| VmFilter::Tags(tags.iter().map(|tag| tag.value.clone()).collect()));
    }
    let pattern = selector.pattern.as_ref()?;
    match &pattern.id.value {
        IdPattern::One(uuid) => uuid_list(
            report,
            pattern.id.location,
            "pattern",
            [(uuid.as_str(), pattern.id.location)].into_iter(),
        ),
        IdPattern::AnyOf(uuids) => uuid_list(
            report,
            pattern.id.location,
            "__or",
            uuids
                .iter()
                .map(|uuid| (uuid.value.as_str(), uuid.location)),
        ),
    }
}

/// The UUIDs of a list of VM ids, each bad entry reported at its place.
fn uuid_list<'a>(
    report: &mut Report,
    list_location: Option<Location>,
    list: &str,
    entries: impl Iterator<Item = (&'a str, Option<Location>)>,
) -> Option<VmFilter> {
    let mut uuids = Vec::new();
    let mut ok = true;
    for (text, location) in entries {
        match parse_vm_uuid(text) {
            Some(uuid) => uuids.push(uuid),
            None => {
                report.push(
                    Diagnostic::new(location, format!("`{text}` is not a VM UUID"))
                        .with_hint("a UUID is written like `0f5d5f1e-3c2b-4a1d-9e8f-7a6b5c4d3e2f`"),
                );
                ok = false;
            }
        }
    }
    if ok && uuids.is_empty() {
        report.error(
            list_location,
            format!("`{list}` is empty: give at least one VM UUID"),
        );
        return None;
    }
    ok.then_some(VmFilter::Uuids(uuids))
}

/// A UUID in the hyphenated form that XAPI uses (uuid's parser also takes braces, `urn:` and
/// bare hex, which a pool would never show).
fn parse_vm_uuid(text: &str) -> Option<Uuid> {
    (text.len() == 36)
        .then(|| Uuid::try_parse(text).ok())
        .flatten()
}

fn retry(
    report: &mut Report,
    defaults: &Defaults,
    retry: Option<&document::Retry>,
) -> Option<RetryPolicy> {
    let max_attempts = match retry.and_then(|retry| retry.max_attempts.as_ref()) {
        Some(count) => at_least_one(report, count, "`max_attempts`"),
        None => Some(defaults.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)),
    };
    let interval = match retry.and_then(|retry| retry.interval.as_ref()) {
        Some(text) => duration::parse(report, text),
        None => Some(defaults.retry_interval.unwrap_or(DEFAULT_RETRY_INTERVAL)),
    };
    Some(RetryPolicy {
        max_attempts: max_attempts?,
        interval: interval?,
    })
}
