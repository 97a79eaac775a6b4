//! VHD timestamps: seconds since 2000-01-01 00:00:00 UTC per the specification.
//!
//! Xen Orchestra writes Unix seconds into the same field. Both are accepted when reading: a value
//! that, read as seconds since 2000, would lie more than a year in the future is taken as Unix
//! seconds (today's Unix time read as a VHD time lands around 2056).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds between the Unix epoch and the VHD epoch (2000-01-01 00:00:00 UTC).
const VHD_EPOCH_UNIX: u64 = 946_684_800;

/// The VHD field value for `time` (seconds since 2000, saturating).
pub fn to_vhd(time: SystemTime) -> u32 {
    let unix = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(unix.saturating_sub(VHD_EPOCH_UNIX)).unwrap_or(u32::MAX)
}

/// The VHD field value for now.
pub fn now() -> u32 {
    to_vhd(SystemTime::now())
}

/// The time a VHD field value stands for, accepting Xen Orchestra's Unix seconds.
pub fn from_vhd(value: u32) -> SystemTime {
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let one_year = 366 * 24 * 3600;
    let as_vhd = VHD_EPOCH_UNIX + u64::from(value);
    let unix = if as_vhd > now_unix + one_year {
        u64::from(value)
    } else {
        as_vhd
    };
    UNIX_EPOCH + Duration::from_secs(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_values_round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(from_vhd(to_vhd(t)), t);
    }

    #[test]
    fn xen_orchestra_unix_seconds_are_recognised() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(from_vhd(1_700_000_000), t);
    }
}
