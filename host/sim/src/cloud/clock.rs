//! Simulated time: the real time since the cloud started, plus whatever the control endpoint
//! advanced it by. Transitions (a backup finishing, a server booting) are due at simulated
//! instants, so a test can wait for them or jump over them.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

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
        self.started_wall + chrono::Duration::from_std(at).unwrap_or(chrono::Duration::MAX)
    }

    /// Moves simulated time forward.
    pub fn advance(&self, by: Duration) {
        *self.advanced.lock().expect("the clock is never poisoned") += by;
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
