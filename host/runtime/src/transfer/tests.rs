//! The engine alone, with sources and sinks in memory: one source to N sinks, a sink failing
//! half-way, a source failing, and backpressure from the slowest sink bounding memory.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};

use super::*;

/// A sink's name and the bytes it committed.
type Committed = (String, Vec<u8>);

/// How the in-memory sinks end.
#[derive(Clone, Default)]
struct Ledger {
    committed: Arc<Mutex<Vec<Committed>>>,
    aborted: Arc<Mutex<Vec<String>>>,
}

/// A source of `pieces` pieces of `size` bytes, counting what it has been asked for; it fails
/// after `fail_after` pieces if set, or at its verdict if `bad_verdict`.
struct Memory {
    pieces: usize,
    size: usize,
    fail_after: Option<usize>,
    bad_verdict: bool,
    read: Arc<AtomicU64>,
}

impl Memory {
    fn new(pieces: usize, size: usize) -> Self {
        Memory {
            pieces,
            size,
            fail_after: None,
            bad_verdict: false,
            read: Arc::default(),
        }
    }

    fn reading(self) -> Reading {
        let Memory {
            pieces,
            size,
            fail_after,
            bad_verdict,
            read,
        } = self;
        let body = stream::iter(0..pieces)
            .map(move |index| {
                if fail_after == Some(index) {
                    return Err(io::Error::other("the disk went away"));
                }
                read.fetch_add(size as u64, Ordering::SeqCst);
                Ok(Bytes::from(vec![index as u8; size]))
            })
            .boxed();
        Reading {
            body,
            length: Some((pieces * size) as u64),
            verdict: Some(Box::pin(async move {
                if bad_verdict {
                    Err(errors::transfer("the export task failed"))
                } else {
                    Ok(())
                }
            })),
            plain: None,
        }
    }
}

/// A sink that keeps what it receives, slowly if `delay` is set; it fails after `fail_after`
/// bytes if set, and stops reading (without failing) after `stop_after` bytes if set.
struct Keep {
    name: &'static str,
    delay: Option<Duration>,
    fail_after: Option<u64>,
    stop_after: Option<u64>,
    ledger: Ledger,
    received: Arc<AtomicU64>,
}

impl Keep {
    fn new(name: &'static str, ledger: &Ledger) -> Self {
        Keep {
            name,
            delay: None,
            fail_after: None,
            stop_after: None,
            ledger: ledger.clone(),
            received: Arc::default(),
        }
    }
}

#[async_trait]
impl Sink for Keep {
    fn describe(&self) -> String {
        self.name.to_owned()
    }

    async fn write(
        self: Box<Self>,
        mut body: ByteStream,
        _length: Option<u64>,
    ) -> Result<Box<dyn Written>, Error> {
        let mut kept = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| errors::transfer(error.to_string()))?;
            if let Some(delay) = self.delay {
                tokio::time::sleep(delay).await;
            }
            kept.extend_from_slice(&chunk);
            self.received
                .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            if self
                .fail_after
                .is_some_and(|limit| kept.len() as u64 >= limit)
            {
                return Err(errors::transfer(format!("{} is full", self.name)));
            }
            if self
                .stop_after
                .is_some_and(|limit| kept.len() as u64 >= limit)
            {
                break;
            }
        }
        Ok(Box::new(Kept {
            name: self.name,
            data: kept,
            ledger: self.ledger,
        }))
    }
}

struct Kept {
    name: &'static str,
    data: Vec<u8>,
    ledger: Ledger,
}

#[async_trait]
impl Written for Kept {
    fn created(&self) -> Vec<String> {
        vec![self.name.to_owned()]
    }

    async fn commit(self: Box<Self>) -> Result<(), Error> {
        self.ledger
            .committed
            .lock()
            .unwrap()
            .push((self.name.to_owned(), self.data));
        Ok(())
    }

    async fn abort(self: Box<Self>) {
        self.ledger
            .aborted
            .lock()
            .unwrap()
            .push(self.name.to_owned());
    }
}

/// Sinks `a` and `b`, keeping their ends in `ledger`.
fn two_sinks(ledger: &Ledger) -> Vec<Box<dyn Sink>> {
    sinks(vec![Keep::new("a", ledger), Keep::new("b", ledger)])
}

fn sinks(list: Vec<Keep>) -> Vec<Box<dyn Sink>> {
    list.into_iter()
        .map(|sink| Box::new(sink) as Box<dyn Sink>)
        .collect()
}

#[tokio::test]
async fn one_source_reaches_every_sink_whole() {
    let ledger = Ledger::default();
    let outcomes = copy(
        "memory",
        Ok(Memory::new(40, 100_000).reading()),
        sinks(vec![
            Keep::new("a", &ledger),
            Keep::new("b", &ledger),
            Keep::new("c", &ledger),
        ]),
        None,
    )
    .await;
    for (outcome, name) in outcomes.into_iter().zip(["a", "b", "c"]) {
        assert_eq!(
            outcome.unwrap(),
            Done {
                bytes: 4_000_000,
                created: vec![name.to_owned()]
            }
        );
    }
    let committed = ledger.committed.lock().unwrap();
    assert_eq!(committed.len(), 3);
    for (_, data) in committed.iter() {
        assert_eq!(data.len(), 4_000_000);
        assert!(data[..100_000].iter().all(|&byte| byte == 0));
        assert!(data[3_900_000..].iter().all(|&byte| byte == 39));
    }
}

#[tokio::test]
async fn a_sink_failing_half_way_leaves_the_others_to_finish() {
    let ledger = Ledger::default();
    let mut full = Keep::new("full", &ledger);
    full.fail_after = Some(1_000_000);
    let outcomes = copy(
        "memory",
        Ok(Memory::new(40, 100_000).reading()),
        sinks(vec![Keep::new("a", &ledger), full, Keep::new("b", &ledger)]),
        None,
    )
    .await;
    assert_eq!(outcomes[0].as_ref().unwrap().bytes, 4_000_000);
    assert!(
        outcomes[1]
            .as_ref()
            .unwrap_err()
            .message
            .contains("full is full")
    );
    assert_eq!(outcomes[2].as_ref().unwrap().bytes, 4_000_000);
    let committed: Vec<String> = ledger
        .committed
        .lock()
        .unwrap()
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(committed, ["a", "b"]);
}

#[tokio::test]
async fn a_source_failing_commits_nothing() {
    // Failing while being read: the sinks are stopped, nothing is committed.
    let ledger = Ledger::default();
    let mut source = Memory::new(40, 100_000);
    source.fail_after = Some(20);
    let outcomes = copy("memory", Ok(source.reading()), two_sinks(&ledger), None).await;
    for outcome in &outcomes {
        let error = outcome.as_ref().unwrap_err();
        assert!(error.message.contains("the disk went away"), "{error:?}");
    }
    assert!(ledger.committed.lock().unwrap().is_empty());

    // Read to its end but failed by its verdict: every sink wrote, and every sink is aborted.
    let ledger = Ledger::default();
    let mut source = Memory::new(10, 100_000);
    source.bad_verdict = true;
    let outcomes = copy("memory", Ok(source.reading()), two_sinks(&ledger), None).await;
    assert!(outcomes.iter().all(Result::is_err));
    assert!(ledger.committed.lock().unwrap().is_empty());
    let mut aborted = ledger.aborted.lock().unwrap().clone();
    aborted.sort();
    assert_eq!(aborted, ["a", "b"]);

    // Failed by its verdict while one sink had finished and another was still writing: both are
    // awaited and aborted (an import still settling may yet make its VM).
    let ledger = Ledger::default();
    let mut source = Memory::new(10, 100_000);
    source.bad_verdict = true;
    let mut slow = Keep::new("slow", &ledger);
    slow.delay = Some(Duration::from_millis(200));
    let outcomes = copy(
        "memory",
        Ok(source.reading()),
        sinks(vec![Keep::new("fast", &ledger), slow]),
        None,
    )
    .await;
    assert!(outcomes.iter().all(Result::is_err));
    assert!(ledger.committed.lock().unwrap().is_empty());
    let mut aborted = ledger.aborted.lock().unwrap().clone();
    aborted.sort();
    assert_eq!(aborted, ["fast", "slow"]);

    // Not opened at all: every sink gets the source's error.
    let outcomes = copy(
        "memory",
        Err(errors::not_found("no such file")),
        sinks(vec![Keep::new("a", &ledger)]),
        None,
    )
    .await;
    assert_eq!(outcomes[0].as_ref().unwrap_err().message, "no such file");
}

#[tokio::test]
async fn the_slowest_sink_sets_the_pace_and_bounds_memory() {
    // 64 MiB through a fast sink and a slow one: the source may run ahead of the slow sink by
    // at most its channel and the pieces in hand, never by the size of the transfer.
    let ledger = Ledger::default();
    let source = Memory::new(256, PIECE);
    let read = source.read.clone();
    let mut slow = Keep::new("slow", &ledger);
    slow.delay = Some(Duration::from_millis(2));
    let slow_received = slow.received.clone();
    let watching = tokio::spawn(async move {
        let mut lead = 0u64;
        loop {
            let ahead = read
                .load(Ordering::SeqCst)
                .saturating_sub(slow_received.load(Ordering::SeqCst));
            lead = lead.max(ahead);
            if slow_received.load(Ordering::SeqCst) >= (256 * PIECE) as u64 {
                return lead;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let outcomes = copy(
        "memory",
        Ok(source.reading()),
        sinks(vec![Keep::new("fast", &ledger), slow]),
        None,
    )
    .await;
    assert!(outcomes.iter().all(Result::is_ok));
    let lead = watching.await.unwrap();
    // The channel, the piece the slow sink holds, the piece being sent and the one being read.
    let bound = ((CHUNKS_PER_SINK + 3) * PIECE) as u64;
    assert!(
        lead <= bound,
        "the source ran {lead} bytes ahead of the slow sink (bound {bound})"
    );
    assert!(
        lead >= PIECE as u64,
        "the watcher saw the copy run ({lead})"
    );
}

#[tokio::test]
async fn a_sink_that_stops_reading_early_is_not_committed() {
    // One sink fails, the other ends without reading the whole source: the source is never
    // read to its end, so its verdict is unknown and nothing may be committed.
    let ledger = Ledger::default();
    let mut early = Keep::new("early", &ledger);
    early.stop_after = Some(300_000);
    let mut full = Keep::new("full", &ledger);
    full.fail_after = Some(300_000);
    let outcomes = copy(
        "memory",
        Ok(Memory::new(40, 100_000).reading()),
        sinks(vec![early, full]),
        None,
    )
    .await;
    let early_error = outcomes[0].as_ref().unwrap_err();
    assert!(
        early_error
            .message
            .contains("every sink stopped reading before its end"),
        "{early_error:?}"
    );
    assert!(
        outcomes[1]
            .as_ref()
            .unwrap_err()
            .message
            .contains("full is full")
    );
    assert!(ledger.committed.lock().unwrap().is_empty());
    assert_eq!(*ledger.aborted.lock().unwrap(), ["early"]);
}
