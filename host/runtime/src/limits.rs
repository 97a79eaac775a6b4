//! The limits every store runs under: a memory cap and a wall-clock deadline.

use std::time::Duration;

/// What one run of a component may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of linear memory, all memories together.
    pub memory: usize,
    /// Wall-clock time for the whole run, host calls included.
    pub deadline: Duration,
}

impl Limits {
    /// The default for an operation: 256 MiB (components never hold disk data) and a day.
    pub const OPERATION: Limits = Limits {
        memory: 256 * 1024 * 1024,
        deadline: Duration::from_secs(24 * 3600),
    };

    /// The default for a retention policy, a pure function over a list: 64 MiB and a minute.
    pub const POLICY: Limits = Limits {
        memory: 64 * 1024 * 1024,
        deadline: Duration::from_secs(60),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::OPERATION
    }
}

/// Tracks a store's memory against its cap, and remembers whether the cap was hit so a
/// failure can be reported as what it is rather than as the trap it turns into.
pub struct MemoryLimiter {
    limit: usize,
    hit: bool,
}

/// Table elements allowed per table: far above what a Rust, Python or JS component uses.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl MemoryLimiter {
    pub fn new(limit: usize) -> Self {
        MemoryLimiter { limit, hit: false }
    }

    pub fn hit(&self) -> bool {
        self.hit
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
