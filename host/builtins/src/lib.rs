//! Lifeboat's built-in WebAssembly components, embedded in the binary so that a pipeline names
//! them (`uses: dr-copy`, `retention: keep-last`) without a file or a digest.
//!
//! The build script compiles `components/` and the example retention policy for
//! `wasm32-wasip2` as part of the ordinary cargo build; every `.wasm` it built, the test
//! components included, is in [`COMPONENTS_DIR`], and only the built-ins are embedded.

/// The directory that holds every component the build script built: the built-ins, the test
/// components under `components/testing` (`trap.wasm`, `spin.wasm`, …) and the example policy
/// `keep_daily.wasm`. For tests; a release of Lifeboat uses only the embedded built-ins.
pub const COMPONENTS_DIR: &str = env!("LIFEBOAT_COMPONENTS_DIR");

/// Declares each built-in: its static, and its entry in [`builtin`] and [`NAMES`], from the
/// name a pipeline uses and the file the build produced.
macro_rules! builtins {
    ($($(#[$doc:meta])* $name:literal => $item:ident, $file:literal;)*) => {
        $(
            $(#[$doc])*
            pub static $item: &[u8] =
                include_bytes!(concat!(env!("LIFEBOAT_COMPONENTS_DIR"), "/", $file));
        )*

        /// The names of the built-in components, as pipelines give them.
        pub const NAMES: &[&str] = &[$($name),*];

        /// The built-in component a pipeline names `name`, if there is one.
        pub fn builtin(name: &str) -> Option<&'static [u8]> {
            match name {
                $($name => Some($item),)*
                _ => None,
            }
        }
    };
}

builtins! {
    /// `dr-copy`, the Disaster Recovery copy: a full copy of a VM to another pool's SR, with
    /// rolling retention.
    "dr-copy" => DR_COPY, "dr_copy.wasm";
    /// `keep-last`, the default retention policy: keeps the newest N copies or backups.
    "keep-last" => KEEP_LAST, "keep_last.wasm";
    /// `keep-gfs`, long-term retention: the newest N, plus the oldest backup of each of the
    /// last daily, weekly, monthly and yearly buckets (Xen Orchestra's `longTermRetention`).
    "keep-gfs" => KEEP_GFS, "keep_gfs.wasm";
}

/// The backup mode (Xen Orchestra's `full` or `delta`) of the built-in operation `name`, which
/// a job's log carries; `None` for what is not a built-in operation.
pub fn mode(name: &str) -> Option<&'static str> {
    match name {
        "dr-copy" => Some("full"),
        _ => None,
    }
}
