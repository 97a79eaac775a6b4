//! A blocking [`Write`] that feeds a streaming response body: exports produce their bytes on a
//! blocking thread, and hyper sends them. The channel between the two holds a few pieces, so a
//! slow client slows the producer down instead of filling memory.
//!
//! An injected cut sends the first `after_bytes` bytes and then aborts the body, which makes
//! hyper drop the connection.

use std::io::{self, Write};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::mpsc;

use crate::xapi::server::Body;

/// Bytes gathered before a piece goes to the channel.
const PIECE: usize = 256 * 1024;

/// Pieces the channel holds.
const QUEUE: usize = 4;

type Piece = io::Result<Bytes>;

/// The producing end of a response body.
pub struct BodyWriter {
    tx: mpsc::Sender<Piece>,
    buffer: Vec<u8>,
    sent: u64,
    cut: Option<u64>,
}

/// Aborts the response body, dropping the connection (an injected cut while reading a request).
#[derive(Clone)]
pub struct Aborter(mpsc::Sender<Piece>);

/// A writer and the body it feeds; `cut` drops the connection after that many bytes.
pub fn channel(cut: Option<u64>) -> (BodyWriter, Body) {
    let (tx, mut rx) = mpsc::channel::<Piece>(QUEUE);
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .map(|piece| piece.map(Frame::data));
    let writer = BodyWriter {
        tx,
        buffer: Vec::with_capacity(PIECE),
        sent: 0,
        cut,
    };
    (writer, BodyExt::boxed(StreamBody::new(stream)))
}

impl BodyWriter {
    /// A handle that aborts this body.
    pub fn aborter(&self) -> Aborter {
        Aborter(self.tx.clone())
    }

    /// Sends what is buffered and ends the body normally.
    pub fn finish(mut self) -> io::Result<()> {
        self.send_buffer()
    }

    /// Ends the body with an error, so that hyper drops the connection.
    pub fn abort(self) {
        self.aborter().abort();
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut piece = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(PIECE),
        ));
        let cut_now = self
            .cut
            .filter(|&limit| self.sent + piece.len() as u64 > limit);
        if let Some(limit) = cut_now {
            piece.truncate((limit - self.sent) as usize);
        }
        self.sent += piece.len() as u64;
        if !piece.is_empty() {
            self.tx.blocking_send(Ok(piece)).map_err(|_| gone())?;
        }
        if cut_now.is_some() {
            self.aborter().abort();
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("connection cut after {} bytes (injected fault)", self.sent),
            ));
        }
        Ok(())
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(PIECE - self.buffer.len());
        self.buffer.extend_from_slice(&data[..n]);
        if self.buffer.len() == PIECE {
            self.send_buffer()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

impl Aborter {
    pub fn abort(&self) {
        let _ = self
            .0
            .blocking_send(Err(io::Error::other("transfer aborted")));
    }
}

/// The client went away: hyper dropped the body.
fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the client closed the connection",
    )
}
