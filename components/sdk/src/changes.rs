//! Empty `vm-changes` and `vdi-changes`, to fill with struct update syntax:
//! `VmChanges { name_label: Some(name), ..VmChanges::none() }`.

use crate::xapi::{VdiChanges, VmChanges};

impl VmChanges {
    /// Changes that change nothing.
    pub fn none() -> VmChanges {
        VmChanges {
            name_label: None,
            name_description: None,
            other_config: Vec::new(),
            blocked_operations: Vec::new(),
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
            ha_restart_priority: None,
            is_a_template: None,
        }
    }
}

impl VdiChanges {
    /// Changes that change nothing.
    pub fn none() -> VdiChanges {
        VdiChanges {
            name_label: None,
            name_description: None,
            other_config: Vec::new(),
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
        }
    }
}
