//! Simulated time: the real time since the cloud started, plus whatever the control endpoint
//! advanced it by. Transitions (a backup finishing, a server booting) are due at simulated
//! instants, so a test can wait for them or jump over them.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// The longest jump of simulated time the clock takes at once (a century): time stays far from
/// the ends of what durations and dates can hold.
pub const MAX_ADVANCE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A cloud's clock.
#[derive(Debug)]
pub struct Clock {
    started: Instant,
    started_wall: DateTime<Utc>,
    advanced: Mutex<Duration>,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            started: Instant::now(),
            started_wall: Utc::now(),
            advanced: Mutex::new(Duration::ZERO),
        }
    }

    /// Simulated time since the start.
    pub fn now(&self) -> Duration {
        self.started.elapsed() + *self.advanced.lock().expect("the clock is never poisoned")
    }

    /// The wall-clock time of a simulated instant.
    pub fn wall(&self, at: Duration) -> DateTime<Utc> {
        chrono::Duration::from_std(at)
            .ok()
            .and_then(|at| self.started_wall.checked_add_signed(at))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves simulated time forward, at most [`MAX_ADVANCE`] at a time.
    pub fn advance(&self, by: Duration) {
        let mut advanced = self.advanced.lock().expect("the clock is never poisoned");
        *advanced = advanced.saturating_add(by.min(MAX_ADVANCE));
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// Cinder's and Nova's timestamp format: `2026-11-22T04:00:00.000000`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// Nova's and Keystone's format, with the zone: `2026-11-22T04:00:00Z`.
pub fn timestamp_z(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
