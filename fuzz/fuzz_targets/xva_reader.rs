//! Fuzzes the XVA reader (compression detection, tar framing, ova.xml, chunk order and
//! checksums) and the streaming ova.xml editor.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lifeboat_formats::fuzzing::read_xva_bytes(data);
});
