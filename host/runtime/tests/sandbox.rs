//! The sandbox holds: a component that crashes, loops or eats memory fails with an error that
//! says so, and the host goes on; compiled components come from the cache the second time.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Call, Recorded, operation, runtime, wasm};
use lifeboat_runtime::{CacheOutcome, Limits, RunObjects, RuntimeError, TaskStatus};
use serde_json::json;

fn limits(memory_mib: usize, deadline: Duration) -> Limits {
    Limits {
        memory: memory_mib * 1024 * 1024,
        deadline,
    }
}

#[tokio::test]
async fn a_noop_runs_and_describes_itself() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let noop = operation(&runtime, "noop");
    let description = noop.describe().await.unwrap();
    assert_eq!(description.name, "noop");
    assert_eq!(description.params_schema, json!({ "type": "object" }));
    let events = Arc::new(Recorded::default());
    let outputs = noop
        .call(
            &[],
            Arc::new(RunObjects::default()),
            events,
            &json!({}),
            Limits::default(),
        )
        .await
        .unwrap();
    assert_eq!(outputs, json!({}));
}

#[tokio::test]
async fn a_panic_is_a_trap_that_says_what_the_component_wrote() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let trap = operation(&runtime, "trap");
    let events = Arc::new(Recorded::default());
    let error = trap
        .call(
            &[],
            Arc::new(RunObjects::default()),
            events,
            &json!({}),
            Limits::default(),
        )
        .await
        .unwrap_err();
    let RuntimeError::Trap {
        component, stderr, ..
    } = &error
    else {
        panic!("expected a trap, got {error:?}");
    };
    assert_eq!(component, "trap");
    assert!(stderr.contains("panicked"), "stderr: {stderr:?}");
    assert!(
        error.to_string().starts_with("component trap crashed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_loop_is_stopped_at_its_deadline() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let spin = operation(&runtime, "spin");
    let events = Arc::new(Recorded::default());
    let started = Instant::now();
    let error = spin
        .call(
            &[],
            Arc::new(RunObjects::default()),
            events,
            &json!({}),
            limits(64, Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, RuntimeError::Deadline { .. }),
        "expected a deadline, got {error:?}"
    );
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn a_loop_does_not_stop_other_runs() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let spin = operation(&runtime, "spin");
    let noop = operation(&runtime, "noop");
    let no_params = json!({});
    let spinning = spin.call(
        &[],
        Arc::new(RunObjects::default()),
        Arc::default(),
        &no_params,
        limits(64, Duration::from_secs(2)),
    );
    let quick = async {
        let mut done = 0;
        for _ in 0..20 {
            noop.call(
                &[],
                Arc::new(RunObjects::default()),
                Arc::default(),
                &json!({}),
                Limits::default(),
            )
            .await
            .unwrap();
            done += 1;
        }
        done
    };
    let (spun, done) = tokio::join!(spinning, quick);
    assert!(spun.is_err());
    assert_eq!(done, 20);
}

#[tokio::test]
async fn memory_beyond_the_limit_is_reported_as_such() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let hog = operation(&runtime, "memory_hog");
    let error = hog
        .call(
            &[],
            Arc::new(RunObjects::default()),
            Arc::default(),
            &json!({}),
            limits(32, Duration::from_secs(30)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, RuntimeError::MemoryLimit { limit, .. } if limit == 32 << 20),
        "expected the memory limit, got {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "component memory_hog exceeded its memory limit of 32 MiB"
    );
}

#[tokio::test]
async fn tasks_left_open_are_ended_as_interrupted() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let trap = operation(&runtime, "trap");
    let events = Arc::new(Recorded::default());
    let _ = trap
        .call(
            &[],
            Arc::new(RunObjects::default()),
            events.clone(),
            &json!({}),
            Limits::default(),
        )
        .await;
    let started: Vec<String> = events
        .events()
        .iter()
        .filter_map(|event| match event {
            lifeboat_runtime::Event::Start {
                task,
                parent: Some(_),
                ..
            } => Some(task.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 1, "the trap component starts one task");
    for task in &started {
        let ended = events.events().into_iter().any(|event| {
            matches!(event, lifeboat_runtime::Event::End { task: t, status: TaskStatus::Interrupted, .. } if &t == task)
        });
        assert!(ended, "task {task} was left open");
    }
}

#[test]
fn the_second_load_comes_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let first = runtime(cache.path());
    let (_, outcome) = first.load_operation("noop", &wasm("noop")).unwrap();
    assert_eq!(outcome, CacheOutcome::Compiled);
    drop(first);
    let second = runtime(cache.path());
    let (_, outcome) = second.load_operation("noop", &wasm("noop")).unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
}

#[test]
fn bytes_that_are_not_a_component_are_refused_with_the_name() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let error = runtime
        .load_operation("garbage", b"not wasm at all")
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .starts_with("component garbage: cannot compile it"),
        "{error}"
    );
}
