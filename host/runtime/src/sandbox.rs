//! The sandbox every component runs in: a WASI context with nothing in it, a frozen clock,
//! standard error captured for diagnostics, and the store's deadline.
//!
//! Rust's standard library makes every component import WASI (`wasi:cli/*`, `wasi:io`,
//! `wasi:clocks`, …), so WASI is linked, but empty: no arguments, environment, files, sockets or
//! standard input. The wall clock reads the run's time and the monotonic clock does not move,
//! so a component's decisions depend on the run context alone. What a component writes to
//! standard error (a panic message) is kept, up to a bound, to explain a crash.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx};

/// Bytes of standard error kept.
const STDERR_KEPT: usize = 8 * 1024;

/// A WASI context that grants nothing; its wall clock reads `now_ms`.
pub fn empty_wasi(now_ms: u64, stderr: &CapturedOutput) -> WasiCtx {
    WasiCtx::builder()
        .wall_clock(FrozenWallClock(Duration::from_millis(now_ms)))
        .monotonic_clock(FrozenMonotonicClock)
        .stderr(stderr.clone())
        .build()
}

/// Makes `store` yield to the executor at every epoch tick and trap once `deadline` passed.
pub fn set_deadline<T>(store: &mut Store<T>, deadline: Instant) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}

struct FrozenWallClock(Duration);

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        self.0
    }
}

struct FrozenMonotonicClock;

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        0
    }
}

/// Standard error of a component: the first bytes are kept, the rest dropped (never an
/// error, so a chatty component is not punished for it).
#[derive(Clone, Default)]
pub struct CapturedOutput(Arc<Mutex<Vec<u8>>>);

impl CapturedOutput {
    /// What was written, as text.
    pub fn text(&self) -> String {
        let kept = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&kept).trim().to_owned()
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let room = STDERR_KEPT.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
