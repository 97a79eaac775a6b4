//! Components and the contract's versions: a component built against a newer, incompatible
//! contract (0.2.0, beside the host's 0.1.x) is refused when it is loaded, with a message that
//! names the interface and the version it wants. (That a 0.1.0 component runs on the 0.1.1 host
//! is tested in `storage.rs`.) The fixture is `components/testing/storage-probe` built with the package
//! renamed `lifeboat:plugin@0.2.0`.

mod common;

use std::path::Path;

#[test]
fn a_component_of_a_newer_contract_is_refused_naming_the_version() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = common::runtime(cache.path());
    let newer = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/storage-probe-plugin-0.2.0.wasm"),
    )
    .unwrap();
    let error = match runtime.load_operation("storage-probe-0.2.0", &newer) {
        Ok(_) => panic!("a 0.2.0 component loaded on a 0.1.x host"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("storage-probe-0.2.0"), "{error}");
    assert!(error.contains("lifeboat:plugin/"), "{error}");
    assert!(error.contains("@0.2.0"), "{error}");
}
