//! The two changes a job may make to VMs and disks that are not its own, because an operation
//! on the user's own VM needs them and they can lose nothing: Xen Orchestra's migration block
//! for the length of a backup (and lifting that very block), and the removal of the job's own
//! backup marks (which Xen Orchestra resets on the VM it backs up before each snapshot, so that
//! a snapshot someone takes of it does not look like one of the job's).

use lifeboat_xapi::records::Vm;

use crate::bindings::xapi::{VdiChanges, VmChanges};

/// The reason Xen Orchestra gives `migrate_send` and `pool_migrate` while it backs a VM up.
pub const MIGRATION_BLOCKED: &str = "VM migration is blocked during backup";

/// The prefix of Xen Orchestra's backup marks in `other_config`.
const BACKUP_MARKS: &str = "xo:backup:";

/// Whether `changes` only block `record`'s migration with [`MIGRATION_BLOCKED`] (where it is
/// not blocked already for another reason) or lift that very block.
pub fn only_migration_blocks(record: &Vm, changes: &VmChanges) -> bool {
    let touches_nothing_else = changes.name_label.is_none()
        && changes.name_description.is_none()
        && changes.other_config.is_empty()
        && changes.add_tags.is_empty()
        && changes.remove_tags.is_empty()
        && changes.ha_restart_priority.is_none()
        && changes.is_a_template.is_none()
        && !changes.blocked_operations.is_empty();
    touches_nothing_else
        && changes
            .blocked_operations
            .iter()
            .all(|(operation, reason)| {
                let current = record.blocked_operations.get(operation).map(String::as_str);
                matches!(operation.as_str(), "migrate_send" | "pool_migrate")
                    && match reason.as_deref() {
                        Some(MIGRATION_BLOCKED) => current.is_none_or(|c| c == MIGRATION_BLOCKED),
                        Some(_) => false,
                        None => current == Some(MIGRATION_BLOCKED),
                    }
            })
}

/// Whether `changes` to a VM only remove backup marks (`xo:backup:*` keys of `other_config`).
pub fn vm_mark_removals(changes: &VmChanges) -> bool {
    changes.name_label.is_none()
        && changes.name_description.is_none()
        && changes.blocked_operations.is_empty()
        && changes.add_tags.is_empty()
        && changes.remove_tags.is_empty()
        && changes.ha_restart_priority.is_none()
        && changes.is_a_template.is_none()
        && mark_removals(&changes.other_config)
}

/// Whether `changes` to a disk only remove backup marks.
pub fn vdi_mark_removals(changes: &VdiChanges) -> bool {
    changes.name_label.is_none()
        && changes.name_description.is_none()
        && changes.add_tags.is_empty()
        && changes.remove_tags.is_empty()
        && mark_removals(&changes.other_config)
}

fn mark_removals(other_config: &[(String, Option<String>)]) -> bool {
    !other_config.is_empty()
        && other_config
            .iter()
            .all(|(key, value)| key.starts_with(BACKUP_MARKS) && value.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(blocks: &[(&str, Option<&str>)]) -> VmChanges {
        VmChanges {
            name_label: None,
            name_description: None,
            other_config: Vec::new(),
            blocked_operations: blocks
                .iter()
                .map(|(op, reason)| ((*op).to_owned(), reason.map(str::to_owned)))
                .collect(),
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
            ha_restart_priority: None,
            is_a_template: None,
        }
    }

    #[test]
    fn only_the_backup_migration_block_passes_on_any_vm() {
        let mut vm = Vm::default();
        let block = changes(&[
            ("migrate_send", Some(MIGRATION_BLOCKED)),
            ("pool_migrate", Some(MIGRATION_BLOCKED)),
        ]);
        assert!(only_migration_blocks(&vm, &block));
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("migrate_send", None)])
        ));
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("start", Some(MIGRATION_BLOCKED))])
        ));
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("migrate_send", Some("another reason"))])
        ));
        assert!(!only_migration_blocks(&vm, &changes(&[])));
        let mut renamed = block.clone();
        renamed.name_label = Some("x".into());
        assert!(!only_migration_blocks(&vm, &renamed));

        vm.blocked_operations
            .insert("migrate_send".into(), MIGRATION_BLOCKED.into());
        assert!(only_migration_blocks(
            &vm,
            &changes(&[("migrate_send", None)])
        ));
        vm.blocked_operations
            .insert("pool_migrate".into(), "the user's own reason".into());
        assert!(
            !only_migration_blocks(&vm, &changes(&[("pool_migrate", None)])),
            "a block someone else set stays"
        );
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("pool_migrate", Some(MIGRATION_BLOCKED))])
        ));
    }

    #[test]
    fn only_removals_of_backup_marks_pass() {
        let removal = |pairs: &[(&str, Option<&str>)]| VmChanges {
            other_config: pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), value.map(str::to_owned)))
                .collect(),
            ..changes(&[])
        };
        assert!(vm_mark_removals(&removal(&[
            ("xo:backup:job", None),
            ("xo:backup:datetime", None)
        ])));
        assert!(!vm_mark_removals(&removal(&[("xo:backup:job", Some("x"))])));
        assert!(!vm_mark_removals(&removal(&[("mac_seed", None)])));
        assert!(!vm_mark_removals(&removal(&[])));
        let mut renamed = removal(&[("xo:backup:job", None)]);
        renamed.name_label = Some("x".into());
        assert!(!vm_mark_removals(&renamed));
        let disk = VdiChanges {
            name_label: None,
            name_description: None,
            other_config: vec![("xo:backup:vm".into(), None)],
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
        };
        assert!(vdi_mark_removals(&disk));
    }
}
