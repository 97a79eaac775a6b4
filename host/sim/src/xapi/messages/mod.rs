//! The API messages of the simulated pool, one module per area.

pub mod devices;
pub mod events;
pub mod generic;
pub mod session;
pub mod system;
pub mod task;
pub mod vdi;
pub mod vm;
pub mod vm_copy;
pub mod vm_revert;

use super::dispatch::Method;

/// Every hand-written message (the generic getters and setters come from [`generic`]).
pub fn all() -> Vec<Method> {
    [
        session::methods(),
        events::methods(),
        task::methods(),
        vm::methods(),
        vm_copy::methods(),
        vm_revert::methods(),
        vdi::methods(),
        devices::methods(),
    ]
    .concat()
}
