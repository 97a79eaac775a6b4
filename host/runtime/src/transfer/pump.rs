//! The pump: reads the source once and hands every piece to every live sink.

use std::io;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::stream::StreamExt;
use tokio::sync::mpsc;

use super::{ByteStream, PIECE};
use crate::task_log::Task;

/// How often progress is reported.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Why the pump stopped before the source's end.
pub(super) enum PumpFailure {
    /// Reading the source failed.
    Source(String),
    /// Every sink failed (each with its own error), so nothing was left to read for.
    NoSinkLeft,
}

/// Reads `body` once and sends every piece of it to every live sink; returns the bytes read.
/// Small reads (hyper delivers 8 KiB at a time) are gathered into pieces of [`PIECE`] so
/// that the channels carry few, large messages. A full channel makes the pump wait: the
/// source is read at the pace of the slowest sink.
pub(super) async fn pump(
    mut body: ByteStream,
    mut senders: Vec<mpsc::Sender<io::Result<Bytes>>>,
    length: Option<u64>,
    progress: Option<Task>,
) -> Result<u64, PumpFailure> {
    let mut read = 0u64;
    let mut reported = Instant::now();
    let mut piece = BytesMut::new();
    loop {
        let ended = match body.next().await {
            Some(Ok(chunk)) => {
                read += chunk.len() as u64;
                if piece.is_empty() && chunk.len() >= PIECE {
                    piece = BytesMut::from(&chunk[..]);
                } else {
                    piece.extend_from_slice(&chunk);
                }
                false
            }
            Some(Err(error)) => {
                let problem = error.to_string();
                for sender in &senders {
                    let _ = sender.send(Err(io::Error::other(problem.clone()))).await;
                }
                return Err(PumpFailure::Source(problem));
            }
            None => true,
        };
        if piece.len() >= PIECE || (ended && !piece.is_empty()) {
            let ready = piece.split().freeze();
            let mut live = Vec::with_capacity(senders.len());
            for sender in senders {
                // A sink whose receiver is gone has failed; it reports that itself.
                if sender.send(Ok(ready.clone())).await.is_ok() {
                    live.push(sender);
                }
            }
            senders = live;
            if senders.is_empty() {
                return Err(PumpFailure::NoSinkLeft);
            }
        }
        if ended {
            break;
        }
        if let Some(task) = &progress
            && reported.elapsed() >= PROGRESS_INTERVAL
        {
            task.progress(read, length.unwrap_or(0));
            reported = Instant::now();
        }
    }
    if let Some(task) = &progress {
        task.progress(read, length.unwrap_or(read));
    }
    Ok(read)
}
