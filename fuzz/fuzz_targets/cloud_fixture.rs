//! Fuzzes cloud fixtures: any text parses to a checked fixture or to an error that renders,
//! never a panic; a fixture that parses must build into a cloud.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_sim::cloud::{Cloud, CloudFixture};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match CloudFixture::parse(text, "fuzz.yaml") {
        Ok(fixture) => {
            for cloud in &fixture.clouds {
                assert!(Cloud::offline(&fixture, &cloud.name).is_some());
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
