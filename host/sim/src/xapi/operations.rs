//! Which VM operations may run, in xapi's order of checks, and the `current_operations` entry
//! that marks one as running.
//!
//! xapi checks (1) `blocked_operations`, (2) the power state, (3) the operations already running,
//! (4) templates, (5) snapshots, (6) revert on a non-snapshot, (7) the control domain. The first
//! failing check gives the error, so a blocked operation is reported before a bad power state.

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;

use super::db::{Database, new_ref};
use super::errors;
use super::pool::{Pool, cls};

/// Every value of xapi's `vm_operations` enum: the valid keys of `blocked_operations`.
pub const VM_OPERATIONS: &[&str] = &[
    "snapshot",
    "clone",
    "copy",
    "create_template",
    "revert",
    "checkpoint",
    "snapshot_with_quiesce",
    "provision",
    "start",
    "start_on",
    "pause",
    "unpause",
    "clean_shutdown",
    "clean_reboot",
    "hard_shutdown",
    "power_state_reset",
    "hard_reboot",
    "suspend",
    "csvm",
    "resume",
    "resume_on",
    "pool_migrate",
    "migrate_send",
    "get_boot_record",
    "send_sysrq",
    "send_trigger",
    "query_services",
    "shutdown",
    "call_plugin",
    "changing_memory_live",
    "changing_memory_limits",
    "changing_shadow_memory",
    "changing_shadow_memory_live",
    "changing_VCPUs",
    "changing_VCPUs_live",
    "changing_NVRAM",
    "assert_operation_valid",
    "data_source_op",
    "update_allowed_operations",
    "make_into_template",
    "import",
    "export",
    "metadata_export",
    "reverting",
    "destroy",
    "create_vtpm",
];

/// The power states in which `op` may run (`None`: any).
fn allowed_power_states(op: &str, is_snapshot: bool) -> Option<&'static [&'static str]> {
    Some(match op {
        "start" | "start_on" | "provision" | "make_into_template" => &["Halted"],
        "resume" | "resume_on" => &["Suspended"],
        "clean_shutdown" | "clean_reboot" | "suspend" | "pool_migrate" | "pause" => &["Running"],
        "unpause" => &["Paused"],
        "hard_reboot" => &["Paused", "Running"],
        "checkpoint" | "shutdown" | "hard_shutdown" => &["Paused", "Suspended", "Running"],
        "clone" | "copy" if is_snapshot => &["Halted", "Suspended"],
        "clone" | "copy" => &["Halted"],
        "destroy" | "export" => &["Halted", "Suspended"],
        "migrate_send" => &["Halted", "Suspended", "Running"],
        _ => return None,
    })
}

/// Operations a template (not a snapshot) allows.
const TEMPLATE_OPERATIONS: &[&str] = &[
    "clone",
    "copy",
    "export",
    "metadata_export",
    "provision",
    "destroy",
    "changing_memory_limits",
    "changing_VCPUs",
    "changing_NVRAM",
];

/// Operations a snapshot allows.
const SNAPSHOT_OPERATIONS: &[&str] = &[
    "revert",
    "clone",
    "copy",
    "export",
    "destroy",
    "hard_shutdown",
    "metadata_export",
];

/// Operations that may run beside each other (several exports of one VM at once).
fn may_overlap(running: &str, op: &str) -> bool {
    let shared = ["export", "metadata_export"];
    shared.contains(&running) && shared.contains(&op)
}

/// Why `op` may not run on `vm` now, if it may not.
pub fn check(db: &Database, vm: &str, op: &str) -> Result<(), ApiError> {
    let class = cls("VM");
    if !db.exists(class, vm) {
        return Err(errors::handle_invalid("VM", vm));
    }
    if let Some(reason) = db
        .get(class, vm, "blocked_operations")
        .and_then(|blocked| blocked.get(op))
    {
        return Err(ApiError::new(
            "OPERATION_BLOCKED",
            [vm, reason.as_str().unwrap_or_default()],
        ));
    }
    let is_snapshot = db.get_bool(class, vm, "is_a_snapshot");
    let power_state = db.get_str(class, vm, "power_state");
    if let Some(allowed) = allowed_power_states(op, is_snapshot)
        && !allowed.contains(&power_state)
    {
        return Err(errors::bad_power_state(vm, allowed, power_state));
    }
    if let Some(Value::Struct(running)) = db.get(class, vm, "current_operations")
        && let Some((task, other)) = running
            .iter()
            .find(|(_, other)| !may_overlap(other.as_str().unwrap_or_default(), op))
    {
        return Err(ApiError::new(
            "OTHER_OPERATION_IN_PROGRESS",
            ["VM", vm, other.as_str().unwrap_or_default(), task],
        ));
    }
    if db.get_bool(class, vm, "is_a_template")
        && !is_snapshot
        && (!TEMPLATE_OPERATIONS.contains(&op)
            || (op == "destroy" && db.get_bool(class, vm, "is_default_template")))
    {
        return Err(ApiError::new("VM_IS_TEMPLATE", [vm, op]));
    }
    if is_snapshot && !SNAPSHOT_OPERATIONS.contains(&op) {
        return Err(ApiError::new("VM_IS_SNAPSHOT", [vm, op]));
    }
    if op == "revert" && !is_snapshot {
        return Err(ApiError::new(
            "REVERT_ONLY_ALLOWED_ON_SNAPSHOT",
            [] as [&str; 0],
        ));
    }
    if db.get_bool(class, vm, "is_control_domain") {
        return Err(errors::operation_not_allowed(if op == "destroy" {
            "This operation is not allowed on dom0"
        } else {
            "This operation is not allowed on a control domain"
        }));
    }
    Ok(())
}

/// A running operation, listed in the VM's `current_operations` until dropped.
pub struct Running<'a> {
    pool: &'a Pool,
    vm: String,
    task: String,
}

/// Checks `op` on `vm` and marks it running under `task` (a fresh reference for calls made
/// without one, as xapi gives every call a task).
pub fn begin<'a>(
    pool: &'a Pool,
    vm: &str,
    op: &str,
    task: Option<&str>,
) -> Result<Running<'a>, ApiError> {
    let task = task.map_or_else(new_ref, str::to_owned);
    pool.write(|db| {
        check(db, vm, op)?;
        set_current(db, vm, |running| {
            running.push((task.clone(), Value::string(op)));
        });
        Ok(())
    })?;
    Ok(Running {
        pool,
        vm: vm.to_owned(),
        task,
    })
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.pool.write(|db| {
            set_current(db, &self.vm, |running| {
                running.retain(|(task, _)| *task != self.task);
            });
        });
    }
}

fn set_current(db: &mut Database, vm: &str, change: impl FnOnce(&mut Vec<(String, Value)>)) {
    let class = cls("VM");
    if let Some(Value::Struct(mut running)) = db.get(class, vm, "current_operations").cloned() {
        change(&mut running);
        db.set(class, vm, "current_operations", Value::Struct(running));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halted_vm(db: &mut Database, running: &[(&str, &str)]) -> String {
        db.create(
            cls("VM"),
            vec![
                ("power_state", Value::string("Halted")),
                (
                    "current_operations",
                    Value::Struct(
                        running
                            .iter()
                            .map(|(task, op)| ((*task).to_owned(), Value::string(*op)))
                            .collect(),
                    ),
                ),
            ],
        )
    }

    #[test]
    fn running_operations_exclude_others_but_exports_share() {
        let mut db = Database::new();
        let vm = halted_vm(&mut db, &[("OpaqueRef:task", "clone")]);
        let error = check(&db, &vm, "start").expect_err("a clone is running");
        assert_eq!(error.code, "OTHER_OPERATION_IN_PROGRESS");
        assert_eq!(error.params, ["VM", vm.as_str(), "clone", "OpaqueRef:task"]);
        let exporting = halted_vm(&mut db, &[("OpaqueRef:task", "export")]);
        check(&db, &exporting, "export").expect("exports run side by side");
        assert!(check(&db, &exporting, "destroy").is_err());
    }

    #[test]
    fn the_operation_is_listed_while_it_runs() {
        let mut db = Database::new();
        let vm = halted_vm(&mut db, &[]);
        let pool = Pool::new(
            "test",
            "root",
            lifeboat_xapi::Secret::new("x"),
            std::path::Path::new("/nonexistent"),
            db,
        );
        let running = begin(&pool, &vm, "copy", Some("OpaqueRef:t")).expect("may run");
        let listed = pool.read(|db| db.get(cls("VM"), &vm, "current_operations").cloned());
        assert_eq!(
            listed,
            Some(Value::Struct(vec![(
                "OpaqueRef:t".to_owned(),
                Value::string("copy")
            )]))
        );
        let error = begin(&pool, &vm, "start", None).err().expect("copy runs");
        assert_eq!(error.code, "OTHER_OPERATION_IN_PROGRESS");
        drop(running);
        begin(&pool, &vm, "start", None).expect("free again");
    }
}
