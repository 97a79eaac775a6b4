//! The code that wit-bindgen generates from `wit/`, once per world.
//!
//! Cargo unifies features across a workspace, so a build of several components can enable
//! both `operation` and `policy`. The policy world then reuses the operation world's `types`
//! and `tasks` modules, so that `Error`, `Task` and the rest exist once whatever the features.
//! wit-component keeps only the imports a component really calls: a policy built beside
//! operations still imports only `tasks`.

/// The `operation` world: imports every interface of the host, exports `describe` and `run`.
#[cfg(feature = "operation")]
pub mod operation {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "operation",
        pub_export_macro: true,
        default_bindings_module: "lifeboat_sdk::bindings::operation",
        runtime_path: "lifeboat_sdk::wit_bindgen::rt",
        export_macro_name: "export_operation",
    });
}

/// The `retention-policy` world: imports `tasks`, exports `retention`.
#[cfg(all(feature = "policy", not(feature = "operation")))]
pub mod policy {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "retention-policy",
        pub_export_macro: true,
        default_bindings_module: "lifeboat_sdk::bindings::policy",
        runtime_path: "lifeboat_sdk::wit_bindgen::rt",
        export_macro_name: "export_policy",
    });
}

/// The `retention-policy` world, sharing the operation world's `types` and `tasks`.
#[cfg(all(feature = "policy", feature = "operation"))]
pub mod policy {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "retention-policy",
        pub_export_macro: true,
        default_bindings_module: "lifeboat_sdk::bindings::policy",
        runtime_path: "lifeboat_sdk::wit_bindgen::rt",
        export_macro_name: "export_policy",
        with: {
            "lifeboat:plugin/types@0.1.2": lifeboat_sdk::bindings::operation::lifeboat::plugin::types,
            "lifeboat:plugin/tasks@0.1.2": lifeboat_sdk::bindings::operation::lifeboat::plugin::tasks,
        },
    });
}

#[cfg(feature = "operation")]
pub use operation::lifeboat::plugin::{tasks, types};
#[cfg(not(feature = "operation"))]
pub use policy::lifeboat::plugin::{tasks, types};
