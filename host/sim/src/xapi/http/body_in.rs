//! A blocking [`Read`] over a request body: imports consume their bytes on a blocking thread
//! while a small task pulls frames from hyper into a bounded channel, so a slow importer slows
//! the client down instead of filling memory.
//!
//! A body that breaks before its declared length (the client went away) reads as an error, not
//! as an end. Dropping the reader stops the pump and releases the body, which lets hyper close
//! the connection. An injected cut stops reading after `after_bytes` bytes and aborts the
//! response, which drops the connection.

use std::io::{self, Read};

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use super::body_out::Aborter;

/// Frames the channel holds.
const QUEUE: usize = 4;

/// The consuming end of a request body.
pub struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    read: u64,
    cut: Option<(u64, Aborter)>,
}

/// Starts pumping `body` (call from the runtime) and returns its reader.
pub fn reader(mut body: Incoming, cut: Option<(u64, Aborter)>) -> BodyReader {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                frame = body.frame() => frame,
                () = tx.closed() => return,
            };
            let piece = match frame {
                None => return,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => Ok(data),
                    _ => continue,
                },
                Some(Err(error)) => Err(io::Error::other(format!("request body: {error}"))),
            };
            let failed = piece.is_err();
            if tx.send(piece).await.is_err() || failed {
                return;
            }
        }
    });
    BodyReader {
        rx,
        current: Bytes::new(),
        read: 0,
        cut,
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(data)) => self.current = data,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let mut n = buf.len().min(self.current.len());
        if let Some((limit, aborter)) = &self.cut {
            if self.read >= *limit {
                aborter.abort();
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    format!("connection cut after {limit} bytes (injected fault)"),
                ));
            }
            n = n.min((*limit - self.read) as usize);
        }
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        self.read += n as u64;
        Ok(n)
    }
}
