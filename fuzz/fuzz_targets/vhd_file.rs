//! Fuzzes the VHD reader: footer, header, BAT and block validation, then reading every block.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The reader works on files; /dev/shm keeps the round trip in memory.
    let scratch = std::path::Path::new("/dev/shm");
    let dir = if scratch.is_dir() {
        scratch.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    lifeboat_formats::fuzzing::read_vhd_bytes(data, &dir);
});
