//! Writes tar entries and the end-of-archive marker straight to a stream.
//!
//! Headers come from the `tar` crate; its `Builder` is not used because dropping it after a
//! failure writes the end-of-archive marker, which would make an interrupted export look like a
//! complete archive to tools that only check the tar framing.

use std::io::Write;

use super::error::XvaError;

/// Size of a tar block.
const BLOCK: usize = 512;

/// Zeros for padding and the end marker.
const ZEROS: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// Writes one regular-file entry: ustar header, data, zero padding to the next block.
pub fn write_entry(
    out: &mut impl Write,
    name: &str,
    data: &[u8],
    mtime: u64,
) -> Result<(), XvaError> {
    let write_error = |source| XvaError::Write {
        entry: name.to_owned(),
        source,
    };
    let mut header = tar::Header::new_ustar();
    header.set_path(name).map_err(write_error)?;
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let padding = (BLOCK - data.len() % BLOCK) % BLOCK;
    out.write_all(header.as_bytes()).map_err(write_error)?;
    out.write_all(data).map_err(write_error)?;
    out.write_all(&ZEROS[..padding]).map_err(write_error)
}

/// Writes the end-of-archive marker: two zero blocks.
pub fn write_end(out: &mut impl Write) -> Result<(), XvaError> {
    out.write_all(&ZEROS).map_err(|source| XvaError::Write {
        entry: "end-of-archive marker".into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_tar_crate_reads_what_is_written() {
        let mut bytes = Vec::new();
        write_entry(&mut bytes, "Ref:0/00000000", &[5; 700], 0).expect("in-memory write");
        write_entry(&mut bytes, "ova.xml", b"", 1_700_000_000).expect("in-memory write");
        write_end(&mut bytes).expect("in-memory write");
        assert_eq!(bytes.len(), 512 + 1024 + 512 + 1024);

        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().expect("tar") {
            let mut entry = entry.expect("entry");
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("data");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            seen.push((path, data, entry.header().mtime().expect("mtime")));
        }
        assert_eq!(
            seen,
            vec![
                ("Ref:0/00000000".to_owned(), vec![5; 700], 0),
                ("ova.xml".to_owned(), Vec::new(), 1_700_000_000),
            ]
        );
    }
}
