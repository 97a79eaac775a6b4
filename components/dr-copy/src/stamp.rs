//! The time a copy is stamped with: the host's clock right after the snapshot, in a second no
//! earlier copy or snapshot of the VM holds, since names and `xo:backup:datetime` marks have a
//! resolution of one second (two copies in one second would share a name, and Xen Orchestra
//! would take two snapshots for one).

use lifeboat_sdk::clock;

const SECOND_MS: u64 = 1_000;

/// The current time, in a second that `taken` (stamps in milliseconds) does not hold: if it
/// does, waits for the next second.
pub fn fresh(taken: &[u64]) -> u64 {
    loop {
        let now = clock::now_ms();
        let second = now / SECOND_MS;
        if !taken.iter().any(|stamp| stamp / SECOND_MS == second) {
            return now;
        }
        clock::wait_until((second + 1) * SECOND_MS);
    }
}
