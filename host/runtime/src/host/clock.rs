//! The `clock` interface: the current time, which a component's own (frozen) clocks lack.

use crate::bindings::clock;
use crate::state::StepState;

impl clock::Host for StepState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(self.env.clock.now_ms())
    }

    async fn wait_until(&mut self, ms: u64) -> wasmtime::Result<()> {
        self.env.clock.wait_until(ms).await;
        Ok(())
    }
}
