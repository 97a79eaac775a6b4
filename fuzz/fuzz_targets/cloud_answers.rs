//! Fuzzes the OpenStack client's readers of what a cloud answers: error bodies, version
//! documents, tokens and their catalogs, volumes, backups, flavors and servers are read or
//! refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lifeboat_cloud::fuzzing::read_answers(data);
});
