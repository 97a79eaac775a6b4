//! Entry points for the fuzz targets (`fuzz/`) and for the robustness tests: each runs a reader on
//! arbitrary input and ignores the outcome. A panic, a hang or an unbounded allocation is a bug.

use std::path::Path;

use crate::blocks::for_each_data_block;
use crate::disk::DiskRead;
use crate::vhd::{VhdChain, VhdStreamReader};

/// Opens the VHD file at `path` as a chain and reads every block it claims to hold.
pub fn read_vhd_file(path: &Path) {
    if let Ok(mut chain) = VhdChain::open(path) {
        let _ = for_each_data_block(&mut chain, &mut |_, _| {}, &mut |_, _| Ok(()));
        let size = chain.virtual_size();
        let mut tail = [0u8; 512];
        let _ = chain.read_at(
            size.saturating_sub(512),
            &mut tail[..size.min(512) as usize],
        );
    }
}

/// Reads `data` as a VHD upload, front to back, and walks the sector runs of every block. The runs
/// must stay inside their block and the virtual disk whatever the input.
pub fn read_vhd_stream(data: &[u8]) {
    let Ok(mut reader) = VhdStreamReader::new(data, "fuzz input") else {
        return;
    };
    let size = reader.footer().current_size;
    let block_size = u64::from(reader.header().block_size);
    while let Ok(Some(block)) = reader.next_block() {
        for (offset, run) in block.runs() {
            let end = offset + run.len() as u64;
            assert!(offset >= block.offset() && end <= (block.offset() + block_size).min(size));
        }
    }
}

/// Runs the XVA reader on `data` with a sink that discards the disks.
pub use crate::xva::fuzz_read as read_xva_bytes;

/// Writes `data` to a scratch file under `scratch_dir` and runs [`read_vhd_file`] on it.
pub fn read_vhd_bytes(data: &[u8], scratch_dir: &Path) {
    let path = scratch_dir.join(format!("fuzz-{}.vhd", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        read_vhd_file(&path);
    }
    let _ = std::fs::remove_file(&path);
}

/// Parses `data` as an XML-RPC call, a response and a bare value. Whatever parses must encode to
/// text that parses back to the same encoding (the simulator and the client re-encode what they
/// read).
pub fn parse_xmlrpc(data: &[u8]) {
    use crate::xmlrpc::{MethodCall, MethodResponse, Value};
    if let Ok(call) = MethodCall::parse_xml(data) {
        let first = call.to_xml();
        let again = MethodCall::parse_xml(&first).expect("an encoded call parses");
        assert_eq!(again.to_xml(), first, "a call survives a round trip");
    }
    if let Ok(response) = MethodResponse::parse_xml(data) {
        let first = response.to_xml();
        let again = MethodResponse::parse_xml(&first).expect("an encoded response parses");
        assert_eq!(again.to_xml(), first, "a response survives a round trip");
    }
    if let Ok(value) = Value::parse_xml(data) {
        let mut first = Vec::new();
        value.write_xml(&mut first).expect("writing to memory");
        let again = Value::parse_xml(&first).expect("an encoded value parses");
        let mut second = Vec::new();
        again.write_xml(&mut second).expect("writing to memory");
        assert_eq!(second, first, "a value survives a round trip");
    }
}
