//! The host bindings of the WIT contract (`wit/`), generated once per world.
//!
//! Imports are async (host calls do network I/O) and trappable (a broken handle traps the
//! component instead of crashing the host). The policy world reuses the operation world's
//! `types` and `tasks` bindings, so one task-log implementation serves both.

/// The `operation` world: what an operation imports and exports.
pub mod operation {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "operation",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "lifeboat:plugin/tasks.task": crate::host::tasks::TaskResource,
            "lifeboat:plugin/transfers.source": crate::host::transfers::SourcePlan,
            "lifeboat:plugin/transfers.sink": crate::host::transfers::SinkPlan,
            "lifeboat:plugin/xapi.pool": crate::host::xapi::PoolGrant,
            "lifeboat:plugin/storage.remote": crate::host::storage::RemoteGrant,
            "lifeboat:plugin/storage.folder-lock": crate::host::storage::HeldLock,
            "lifeboat:plugin/cloud.project": crate::host::cloud::ProjectGrant,
            "lifeboat:plugin/cloud.volume-transfer": crate::host::cloud::OfferedTransfer,
        },
    });
}

/// The `retention-policy` world: a policy imports only the task log.
pub mod policy {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "retention-policy",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "lifeboat:plugin/types": super::operation::lifeboat::plugin::types,
            "lifeboat:plugin/tasks": super::operation::lifeboat::plugin::tasks,
        },
    });
}

pub use operation::lifeboat::plugin::{
    clock, cloud, policy as policy_host, retention, storage, tasks, transfers, types, xapi,
};
