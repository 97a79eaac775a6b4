//! Waiting for a resource to reach a status, or to be gone, by polling it with backoff until a
//! deadline.
//!
//! Polls start 50 ms apart, for operations that finish at once (in a simulator, or a small
//! volume), and the gap grows by half each time up to 2 s, which keeps a wait of an hour to
//! about two thousand requests. Time is tokio's clock, so tests with paused time run at once.
//! A failed poll that may pass (no connection, 503, another 5xx) does not end the wait: a
//! backup of hours should not fail for a moment's outage.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::error::{CloudError, ErrorKind, Result};

const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// The gaps between polls: 50 ms growing ×1.5 up to 2 s.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub fn new() -> Self {
        Backoff { next: FIRST_DELAY }
    }

    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 3 / 2).min(MAX_DELAY);
        delay
    }
}

/// A resource whose status can be waited for.
pub(crate) trait Polled {
    type Status: PartialEq + fmt::Display;
    /// The resource's kind, in errors: `volume`, `backup`…
    const KIND: &'static str;
    fn status(&self) -> &Self::Status;
    /// Why the resource failed, where it says (a backup's `fail_reason`).
    fn fail_reason(&self) -> Option<&str> {
        None
    }
}

/// Polls `fetch` until the resource `id` is `wanted`, failing if it reaches one of
/// `failures` or if `timeout` passes.
pub(crate) async fn wait_for<R, F, Fut>(
    id: &str,
    wanted: &R::Status,
    failures: &[R::Status],
    timeout: Duration,
    mut fetch: F,
) -> Result<R>
where
    R: Polled,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<R>>,
{
    let call = format!("wait for {} {id} to be {wanted}", R::KIND);
    let call_name = call.as_str();
    wait(call.clone(), timeout, || {
        let fetched = fetch();
        async move {
            let resource = fetched.await?;
            let status = resource.status();
            if status == wanted {
                Ok(Progress::Done(resource))
            } else if failures.contains(status) {
                Err(failed(call_name, &resource))
            } else {
                Ok(Progress::Waiting(status.to_string()))
            }
        }
    })
    .await
}

/// Polls `fetch` until it answers 404 or the resource is in one of the statuses `gone` (Nova
/// keeps a soft-deleted server visible), failing if it reaches one of `failures` or if
/// `timeout` passes.
pub(crate) async fn wait_for_deletion<R, F, Fut>(
    id: &str,
    gone: &[R::Status],
    failures: &[R::Status],
    timeout: Duration,
    mut fetch: F,
) -> Result<()>
where
    R: Polled,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<R>>,
{
    let call = format!("wait for {} {id} to be deleted", R::KIND);
    let call_name = call.as_str();
    wait(call.clone(), timeout, || {
        let fetched = fetch();
        async move {
            match fetched.await {
                Ok(resource) if gone.contains(resource.status()) => Ok(Progress::Done(())),
                Ok(resource) if failures.contains(resource.status()) => {
                    Err(failed(call_name, &resource))
                }
                Ok(resource) => Ok(Progress::Waiting(resource.status().to_string())),
                Err(error) if error.is_not_found() => Ok(Progress::Done(())),
                Err(error) => Err(error),
            }
        }
    })
    .await
}

fn failed<R: Polled>(call: &str, resource: &R) -> CloudError {
    CloudError::new(
        call,
        ErrorKind::Failed {
            resource: R::KIND,
            status: resource.status().to_string(),
            reason: resource.fail_reason().map(str::to_owned),
        },
    )
}

/// What one poll saw.
pub(crate) enum Progress<T> {
    Done(T),
    /// Not yet: the status seen.
    Waiting(String),
}

/// Polls until `poll` is done, fails, or `timeout` passes; the last poll is at the deadline.
pub(crate) async fn wait<T, F, Fut>(call: String, timeout: Duration, mut poll: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Progress<T>>>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    let mut backoff = Backoff::new();
    let mut last_status = None;
    loop {
        match poll().await {
            Ok(Progress::Done(value)) => return Ok(value),
            Ok(Progress::Waiting(status)) => last_status = Some(status),
            Err(error) if is_transient(&error.kind) => {
                tracing::debug!(%error, "poll failed; trying again");
            }
            Err(error) => return Err(error),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(CloudError::new(
                call,
                ErrorKind::Timeout {
                    waited: now - start,
                    last_status,
                },
            ));
        }
        sleep_until((now + backoff.next_delay()).min(deadline)).await;
    }
}

/// Whether a failed poll may pass if tried again.
fn is_transient(kind: &ErrorKind) -> bool {
    match kind {
        ErrorKind::Transport(_) | ErrorKind::Unavailable(_) => true,
        ErrorKind::Server(status, _) => *status >= 500,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[test]
    fn backoff_grows_to_the_cap() {
        let mut backoff = Backoff::new();
        let delays: Vec<u128> = (0..12).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(
            delays,
            [50, 75, 112, 168, 253, 379, 569, 854, 1281, 1922, 2000, 2000]
        );
    }

    #[derive(Debug)]
    struct Thing {
        status: String,
        reason: Option<String>,
    }

    impl Polled for Thing {
        type Status = String;
        const KIND: &'static str = "thing";
        fn status(&self) -> &String {
            &self.status
        }
        fn fail_reason(&self) -> Option<&str> {
            self.reason.as_deref()
        }
    }

    fn thing(status: &str) -> Result<Thing> {
        Ok(Thing {
            status: status.into(),
            reason: Some("disk full".into()),
        })
    }

    /// A fetch that answers `answers` in turn, then repeats the last, counting polls.
    fn scripted(
        answers: Vec<Result<Thing>>,
    ) -> (RefCell<usize>, RefCell<std::vec::IntoIter<Result<Thing>>>) {
        (RefCell::new(0), RefCell::new(answers.into_iter()))
    }

    #[tokio::test(start_paused = true)]
    async fn reaches_the_wanted_status() {
        let transient = Err(CloudError::new(
            "get",
            ErrorKind::Unavailable("down".into()),
        ));
        let (count, answers) = scripted(vec![thing("creating"), transient, thing("available")]);
        let start = Instant::now();
        let found = wait_for(
            "t1",
            &"available".to_owned(),
            &[],
            Duration::from_secs(10),
            || {
                *count.borrow_mut() += 1;
                let answer = answers.borrow_mut().next().unwrap();
                async move { answer }
            },
        )
        .await
        .unwrap();
        assert_eq!(found.status, "available");
        assert_eq!(*count.borrow(), 3);
        assert_eq!(start.elapsed(), Duration::from_millis(50 + 75));
    }

    #[tokio::test(start_paused = true)]
    async fn failure_status_carries_the_reason() {
        let error = wait_for(
            "t1",
            &"available".to_owned(),
            &["error".to_owned()],
            Duration::from_secs(10),
            || async { thing("error") },
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::Failed {
                resource: "thing",
                status: "error".into(),
                reason: Some("disk full".into())
            }
        );
        assert_eq!(
            error.to_string(),
            "wait for thing t1 to be available: the thing is error: disk full"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_with_the_last_status() {
        let start = Instant::now();
        let error = wait_for(
            "t1",
            &"available".to_owned(),
            &[],
            Duration::from_secs(5),
            || async { thing("creating") },
        )
        .await
        .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(
            error.kind,
            ErrorKind::Timeout {
                waited: Duration::from_secs(5),
                last_status: Some("creating".into())
            }
        );
        assert_eq!(error.call, "wait for thing t1 to be available");
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_end_the_wait() {
        let error = wait_for(
            "t1",
            &"available".to_owned(),
            &[],
            Duration::from_secs(5),
            || async { Err::<Thing, _>(CloudError::new("get", ErrorKind::Forbidden("no".into()))) },
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Forbidden("no".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn deletion_ends_at_not_found() {
        let gone = Err(CloudError::new("get", ErrorKind::NotFound("gone".into())));
        let (_, answers) = scripted(vec![thing("deleting"), gone]);
        wait_for_deletion::<Thing, _, _>(
            "t1",
            &[],
            &["error_deleting".to_owned()],
            Duration::from_secs(5),
            || {
                let answer = answers.borrow_mut().next().unwrap();
                async move { answer }
            },
        )
        .await
        .unwrap();

        wait_for_deletion::<Thing, _, _>(
            "t1",
            &["soft_deleted".to_owned()],
            &[],
            Duration::from_secs(5),
            || async { thing("soft_deleted") },
        )
        .await
        .unwrap();

        let error = wait_for_deletion::<Thing, _, _>(
            "t1",
            &[],
            &["error_deleting".to_owned()],
            Duration::from_secs(5),
            || async { thing("error_deleting") },
        )
        .await
        .unwrap_err();
        assert!(matches!(error.kind, ErrorKind::Failed { .. }));
    }
}
