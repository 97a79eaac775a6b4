//! SHA-256 digests as pipeline files write them: `sha256:` and 64 lowercase hexadecimal digits.

use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest (a component's file, a pinned certificate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

/// A string that is not `sha256:` followed by 64 lowercase hexadecimal digits.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 digest: expected `sha256:` followed by 64 lowercase hexadecimal digits")]
pub struct NotADigest;

const PREFIX: &str = "sha256:";

impl FromStr for Sha256Digest {
    type Err = NotADigest;

    fn from_str(text: &str) -> Result<Self, NotADigest> {
        let hex = text.strip_prefix(PREFIX).ok_or(NotADigest)?.as_bytes();
        if hex.len() != 64 {
            return Err(NotADigest);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Ok(Sha256Digest(bytes))
    }
}

fn nibble(digit: u8) -> Result<u8, NotADigest> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        _ => Err(NotADigest),
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00ff10a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c";

    #[test]
    fn parses_and_displays_the_same_text() {
        let text = format!("sha256:{HEX}");
        let digest: Sha256Digest = text.parse().unwrap();
        assert_eq!(digest.0[..3], [0x00, 0xff, 0x10]);
        assert_eq!(digest.to_string(), text);
    }

    #[test]
    fn refuses_other_spellings() {
        for text in [
            HEX.to_owned(),
            format!("sha256:{}", HEX.to_uppercase()),
            format!("sha256:{}", &HEX[1..]),
            format!("sha256:{HEX}0"),
            format!("sha512:{HEX}"),
            format!("sha256:{}g", &HEX[1..]),
        ] {
            assert_eq!(text.parse::<Sha256Digest>(), Err(NotADigest), "{text}");
        }
    }
}
