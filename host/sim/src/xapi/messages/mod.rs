//! The API messages of the simulated pool, one module per area.

pub mod events;
pub mod generic;
pub mod session;
pub mod system;
pub mod task;

use super::dispatch::Method;

/// Every hand-written message (the generic getters and setters come from [`generic`]).
pub fn all() -> Vec<Method> {
    [session::methods(), events::methods(), task::methods()].concat()
}
