//! API microversions: `major.minor` pairs compared numerically (3.9 < 3.10), the range a
//! service advertises, and the choice of the version a call is sent with.
//!
//! Each call declares the range it works with (`Wanted`): the oldest microversion that has
//! what it needs and the newest it knows how to read. It is sent with the newest version both
//! sides know. If there is none (the cloud's newest is older than the call's oldest, or its
//! oldest newer than the call's newest), negotiation fails and the call fails as
//! [`Unsupported`](crate::ErrorKind::Unsupported) before anything is sent. A call is sent
//! without a microversion header only to a service that advertises no microversions, and only
//! if the service's base version is enough for it; the few calls that openstacksdk sends
//! without a header (restoring a backup, exporting its record) declare no range at all.

use std::fmt;
use std::str::FromStr;

/// A microversion such as `3.64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion {
    pub major: u32,
    pub minor: u32,
}

impl Microversion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Microversion { major, minor }
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The text is not a `major.minor` microversion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a microversion (major.minor)")]
pub struct MicroversionError(String);

impl FromStr for Microversion {
    type Err = MicroversionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || MicroversionError(text.to_owned());
        let (major, minor) = text.trim().split_once('.').ok_or_else(invalid)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse::<u32>().map_err(|_| invalid())
        };
        Ok(Microversion::new(number(major)?, number(minor)?))
    }
}

/// The microversions a service accepts, from its version document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    pub min: Microversion,
    pub max: Microversion,
}

/// The microversions a call works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wanted {
    /// The oldest version that has what the call needs.
    pub min: Microversion,
    /// The newest version whose answers the client reads.
    pub max: Microversion,
}

impl Wanted {
    pub const fn new(min: Microversion, max: Microversion) -> Self {
        Wanted { min, max }
    }

    /// The same call, needing at least `min` (when it uses a feature added then).
    pub fn at_least(self, min: Microversion) -> Self {
        Wanted {
            min: self.min.max(min),
            max: self.max.max(min),
        }
    }
}

/// Why no microversion suits a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Mismatch {
    #[error("needs microversion {needed}, the cloud supports up to {supported}")]
    TooOld {
        needed: Microversion,
        supported: Microversion,
    },
    #[error("needs microversion {needed}, the cloud does not support microversions")]
    NoMicroversions { needed: Microversion },
    #[error("the cloud needs microversion {required} or newer, the client reads up to {newest}")]
    TooNew {
        required: Microversion,
        newest: Microversion,
    },
}

/// The microversion to send a call with: `None` sends no header (the service's base version,
/// `base`), which is all a service that advertises no range accepts.
pub(crate) fn negotiate(
    wanted: Wanted,
    server: Option<VersionRange>,
    base: Microversion,
) -> Result<Option<Microversion>, Mismatch> {
    let Some(server) = server else {
        return if wanted.min <= base {
            Ok(None)
        } else {
            Err(Mismatch::NoMicroversions { needed: wanted.min })
        };
    };
    let chosen = wanted.max.min(server.max);
    if chosen < wanted.min {
        return Err(Mismatch::TooOld {
            needed: wanted.min,
            supported: server.max,
        });
    }
    if chosen < server.min {
        return Err(Mismatch::TooNew {
            required: server.min,
            newest: wanted.max,
        });
    }
    Ok(Some(chosen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Microversion {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_displays() {
        assert_eq!(v("3.64"), Microversion::new(3, 64));
        assert_eq!(v(" 2.1 "), Microversion::new(2, 1));
        assert_eq!(Microversion::new(2, 100).to_string(), "2.100");
        for bad in [
            "", "3", "3.", ".1", "v3.0", "3.x", "3.1.2", "-3.1", "3.+1", "latest",
        ] {
            assert!(bad.parse::<Microversion>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn compares_numerically() {
        assert!(v("3.9") < v("3.10"));
        assert!(v("2.100") > v("2.96"));
        assert!(v("2.99") < v("3.0"));
        assert_eq!(v("3.10").max(v("3.9")), v("3.10"));
    }

    #[test]
    fn negotiation_takes_the_newest_common_version() {
        let server = Some(VersionRange {
            min: v("2.1"),
            max: v("2.96"),
        });
        let servers = Wanted::new(v("2.1"), v("2.100"));
        assert_eq!(negotiate(servers, server, v("2.1")), Ok(Some(v("2.96"))));
        let flavors = Wanted::new(v("2.1"), v("2.61"));
        assert_eq!(negotiate(flavors, server, v("2.1")), Ok(Some(v("2.61"))));
    }

    #[test]
    fn negotiation_fails_below_the_calls_minimum() {
        let old_cinder = Some(VersionRange {
            min: v("3.0"),
            max: v("3.40"),
        });
        let from_backup = Wanted::new(v("3.0"), v("3.71")).at_least(v("3.47"));
        assert_eq!(
            negotiate(from_backup, old_cinder, v("3.0")),
            Err(Mismatch::TooOld {
                needed: v("3.47"),
                supported: v("3.40")
            })
        );
        let too_new = Some(VersionRange {
            min: v("3.80"),
            max: v("3.90"),
        });
        assert!(matches!(
            negotiate(Wanted::new(v("3.0"), v("3.71")), too_new, v("3.0")),
            Err(Mismatch::TooNew { .. })
        ));
    }

    #[test]
    fn without_microversions_only_base_calls_pass() {
        let base = v("3.0");
        assert_eq!(
            negotiate(Wanted::new(base, v("3.64")), None, base),
            Ok(None)
        );
        assert_eq!(
            negotiate(Wanted::new(v("3.55"), v("3.64")), None, base),
            Err(Mismatch::NoMicroversions { needed: v("3.55") })
        );
    }

    #[test]
    fn at_least_raises_both_ends() {
        let wanted = Wanted::new(v("2.1"), v("2.30")).at_least(v("2.52"));
        assert_eq!(wanted, Wanted::new(v("2.52"), v("2.52")));
        let wanted = Wanted::new(v("2.1"), v("2.100")).at_least(v("2.37"));
        assert_eq!(wanted, Wanted::new(v("2.37"), v("2.100")));
    }
}
