//! The build script's output: every built-in is embedded, and every component it builds is a
//! WebAssembly component (not a core module) in `COMPONENTS_DIR`.

use lifeboat_builtins::{COMPONENTS_DIR, KEEP_LAST, NAMES, builtin};
use std::path::Path;

/// The preamble of a WebAssembly component: magic, then version 0x0d and layer 1.
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

#[test]
fn every_builtin_is_an_embedded_component() {
    assert!(!NAMES.is_empty());
    for name in NAMES {
        let bytes = builtin(name).unwrap_or_else(|| panic!("{name} is listed but not found"));
        assert!(bytes.starts_with(&COMPONENT_HEADER), "{name}");
    }
    assert_eq!(builtin("keep-last"), Some(KEEP_LAST));
    assert_eq!(builtin("no-such-component"), None);
}

#[test]
fn the_test_components_and_the_example_policy_are_built() {
    for file in [
        "trap.wasm",
        "spin.wasm",
        "memory_hog.wasm",
        "noop.wasm",
        "rogue_destroyer.wasm",
        "rogue_policy.wasm",
        "keep_daily.wasm",
    ] {
        let bytes = std::fs::read(Path::new(COMPONENTS_DIR).join(file))
            .unwrap_or_else(|error| panic!("{file}: {error}"));
        assert!(bytes.starts_with(&COMPONENT_HEADER), "{file}");
    }
}
