//! Fuzzes the sequential VHD reader (uploads): footer, header, BAT and layout validation, then
//! every block and its sector runs, then the trailing footer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lifeboat_formats::fuzzing::read_vhd_stream(data);
});
