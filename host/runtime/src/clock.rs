//! The time the host gives components (`clock.now-ms`): the system's, or the system's shifted so
//! that a run starts at a chosen instant (tests and replays name that instant; the time still
//! moves on as it really does).

use crate::task_log::now_ms;

/// A wall clock, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// What is added to the system's time.
    offset_ms: i64,
}

impl Clock {
    /// The system's time.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `start_ms` now and moves on from there.
    pub fn starting_at(start_ms: u64) -> Clock {
        let offset = i128::from(start_ms) - i128::from(now_ms());
        Clock {
            offset_ms: i64::try_from(offset).unwrap_or(0),
        }
    }

    /// The time now.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(i128::from(now_ms()) + i128::from(self.offset_ms)).unwrap_or(0)
    }

    /// Returns once the time has reached `ms`.
    pub async fn wait_until(&self, ms: u64) {
        let now = self.now_ms();
        if ms > now {
            tokio::time::sleep(std::time::Duration::from_millis(ms - now)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_starts_where_it_is_told_and_moves_on() {
        let start = 1_730_516_645_000;
        let clock = Clock::starting_at(start);
        let first = clock.now_ms();
        assert!((start..start + 1_000).contains(&first), "{first}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now_ms() >= first + 20);
        assert!(Clock::system().now_ms().abs_diff(now_ms()) < 1_000);
    }

    #[tokio::test]
    async fn waiting_ends_once_the_time_has_come() {
        let clock = Clock::starting_at(5_000);
        clock.wait_until(5_050).await;
        assert!(clock.now_ms() >= 5_050);
        let before = std::time::Instant::now();
        clock.wait_until(0).await;
        assert!(before.elapsed() < std::time::Duration::from_millis(50));
    }
}
