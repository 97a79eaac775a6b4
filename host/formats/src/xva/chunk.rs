//! Chunk entries: how a disk is cut into 1 MiB entries named `<disk id>/<chunk number>`, and the
//! checksum entry after each (`.xxhash`: XXH64 seed 0 as 16 uppercase hex digits; or the older
//! `.checksum`: SHA-1 as 40 lowercase hex digits).

use sha1::{Digest, Sha1};
use xxhash_rust::xxh64::xxh64;

use super::error::XvaError;

/// Size of a chunk entry; the last chunk of a disk may be shorter.
pub const CHUNK_SIZE: u64 = 1024 * 1024;

/// Largest checksum entry accepted: a SHA-1 in hex plus room for a trailing newline.
pub const MAX_CHECKSUM_ENTRY_SIZE: usize = 64;

/// The checksum algorithm of a checksum entry, given by its name's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumKind {
    /// `.xxhash`: XXH64 with seed 0, `%016X`.
    XxHash,
    /// `.checksum`: SHA-1, lowercase hex.
    Sha1,
}

/// What an entry name says about a chunk entry.
#[derive(Debug, PartialEq, Eq)]
pub struct ChunkEntryName<'a> {
    /// The disk's id (`Ref:<n>`).
    pub disk_id: &'a str,
    /// The chunk number.
    pub number: u64,
    /// `None` for the chunk's data, the algorithm for its checksum entry.
    pub checksum: Option<ChecksumKind>,
}

impl<'a> ChunkEntryName<'a> {
    /// Decodes `<disk id>/<decimal digits>[.xxhash|.checksum]`; `None` for any other name.
    pub fn parse(name: &'a str) -> Option<ChunkEntryName<'a>> {
        let (disk_id, leaf) = name.rsplit_once('/')?;
        let (digits, checksum) = if let Some(digits) = leaf.strip_suffix(".xxhash") {
            (digits, Some(ChecksumKind::XxHash))
        } else if let Some(digits) = leaf.strip_suffix(".checksum") {
            (digits, Some(ChecksumKind::Sha1))
        } else {
            (leaf, None)
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(ChunkEntryName {
            disk_id,
            number: digits.parse().ok()?,
            checksum,
        })
    }
}

/// The name of chunk `number` of disk `disk_id`, as xapi writes it (`%08d`).
pub fn chunk_entry_name(disk_id: &str, number: u64) -> String {
    format!("{disk_id}/{number:08}")
}

/// The name of the checksum entry of the chunk entry `chunk_entry`.
pub fn checksum_entry_name(chunk_entry: &str, kind: ChecksumKind) -> String {
    match kind {
        ChecksumKind::XxHash => format!("{chunk_entry}.xxhash"),
        ChecksumKind::Sha1 => format!("{chunk_entry}.checksum"),
    }
}

/// The content of the checksum entry of `data`, as xapi writes it.
pub fn checksum_hex(kind: ChecksumKind, data: &[u8]) -> String {
    match kind {
        ChecksumKind::XxHash => format!("{:016X}", xxh64(data, 0)),
        ChecksumKind::Sha1 => Sha1::digest(data)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    }
}

/// Checks the content of a checksum entry against the chunk data it follows. Hex digits compare
/// case-insensitively and surrounding whitespace is ignored.
pub fn verify_checksum(
    kind: ChecksumKind,
    chunk_entry: &str,
    content: &[u8],
    data: &[u8],
) -> Result<(), XvaError> {
    let expected = content.trim_ascii();
    let digits = match kind {
        ChecksumKind::XxHash => 16,
        ChecksumKind::Sha1 => 40,
    };
    if expected.len() != digits || !expected.iter().all(u8::is_ascii_hexdigit) {
        return Err(XvaError::InvalidChecksum {
            entry: checksum_entry_name(chunk_entry, kind),
            problem: format!(
                "expected {digits} hex digits, found {:?}",
                String::from_utf8_lossy(content)
            ),
        });
    }
    let actual = checksum_hex(kind, data);
    if !actual.as_bytes().eq_ignore_ascii_case(expected) {
        return Err(XvaError::ChecksumMismatch {
            entry: chunk_entry.to_owned(),
            expected: String::from_utf8_lossy(expected).into_owned(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunk_and_checksum_names() {
        assert_eq!(
            ChunkEntryName::parse("Ref:12/00000003"),
            Some(ChunkEntryName {
                disk_id: "Ref:12",
                number: 3,
                checksum: None
            })
        );
        assert_eq!(
            ChunkEntryName::parse("Ref:1/00000010.xxhash").map(|n| (n.number, n.checksum)),
            Some((10, Some(ChecksumKind::XxHash)))
        );
        assert_eq!(
            ChunkEntryName::parse("a/b/7.checksum").map(|n| (n.disk_id, n.checksum)),
            Some(("a/b", Some(ChecksumKind::Sha1)))
        );
        for bad in [
            "ova.xml",
            "Ref:1/",
            "Ref:1/12x",
            "Ref:1/.xxhash",
            "Ref:1/+1",
            "Ref:1/99999999999999999999999",
        ] {
            assert_eq!(ChunkEntryName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_are_zero_padded_to_eight_digits() {
        assert_eq!(chunk_entry_name("Ref:3", 12), "Ref:3/00000012");
        assert_eq!(chunk_entry_name("Ref:3", 123_456_789), "Ref:3/123456789");
    }

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(checksum_hex(ChecksumKind::XxHash, b""), "EF46DB3751D8E999");
        assert_eq!(
            checksum_hex(ChecksumKind::Sha1, b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn verification_is_case_insensitive_and_typed() {
        let data = b"chunk";
        let upper = checksum_hex(ChecksumKind::XxHash, data);
        let lower = upper.to_ascii_lowercase();
        for content in [upper.as_str(), lower.as_str()] {
            verify_checksum(
                ChecksumKind::XxHash,
                "Ref:0/00000000",
                content.as_bytes(),
                data,
            )
            .expect("matching checksum");
        }
        assert!(matches!(
            verify_checksum(ChecksumKind::XxHash, "Ref:0/00000000", upper.as_bytes(), b"other"),
            Err(XvaError::ChecksumMismatch { entry, .. }) if entry == "Ref:0/00000000"
        ));
        assert!(matches!(
            verify_checksum(ChecksumKind::Sha1, "Ref:0/00000000", upper.as_bytes(), data),
            Err(XvaError::InvalidChecksum { entry, .. }) if entry == "Ref:0/00000000.checksum"
        ));
    }
}
