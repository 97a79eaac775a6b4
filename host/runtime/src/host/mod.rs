//! The host side of every WIT interface, one module per capability, and [`CAPABILITIES`], the
//! one list that links them into an operation's linker.
//!
//! Each module implements its interface's host traits, checks the step's grants when a
//! component connects, guards what it writes or destroys, and links itself (`link`). They share
//! one store state ([`StepState`]): resources cross interfaces (a `transfers.source` is made by
//! `xapi.export-vm` or `storage.open`, a task by `tasks` and passed to `transfers.copy`), so
//! they live in one resource table, and every guard reads the run's environment
//! ([`crate::StepEnv`]). A capability whose functions need only part of that state works on a
//! view of it (`tasks::TasksView`, `cloud::CloudView`), which keeps it from reaching the rest.

pub mod clock;
pub mod cloud;
pub mod errors;
pub mod policy;
pub mod storage;
pub mod tasks;
pub mod transfers;
pub mod xapi;

pub use xapi::destroy_vm_with_disks;

use wasmtime::component::{HasSelf, Linker};

use crate::state::StepState;

/// A capability: an interface an operation may import, and how it is linked.
pub(crate) struct Capability {
    /// The WIT interface's name.
    pub name: &'static str,
    pub link: fn(&mut Linker<StepState>) -> wasmtime::Result<()>,
}

/// Every capability an operation may import. Adding one is a module, its WIT and a line here.
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability {
        name: "tasks",
        link: tasks::link,
    },
    Capability {
        name: "clock",
        link: |linker| crate::bindings::clock::add_to_linker::<_, HasSelf<_>>(linker, |s| s),
    },
    Capability {
        name: "transfers",
        link: |linker| crate::bindings::transfers::add_to_linker::<_, HasSelf<_>>(linker, |s| s),
    },
    Capability {
        name: "xapi",
        link: |linker| crate::bindings::xapi::add_to_linker::<_, HasSelf<_>>(linker, |s| s),
    },
    Capability {
        name: "storage",
        link: |linker| crate::bindings::storage::add_to_linker::<_, HasSelf<_>>(linker, |s| s),
    },
    Capability {
        name: "cloud",
        link: cloud::link,
    },
    Capability {
        name: "policy",
        link: |linker| crate::bindings::policy_host::add_to_linker::<_, HasSelf<_>>(linker, |s| s),
    },
];
