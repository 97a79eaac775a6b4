//! Retention policies run in their own sandbox, import only the task log, and their answers
//! are checked: a subset of the candidates, never the newest.

mod common;

use common::{runtime, wasm};
use lifeboat_runtime::task_log::NoEvents;
use lifeboat_runtime::{Candidate, Limits, RuntimeError, TaskLog};
use std::sync::Arc;

fn candidates() -> Vec<Candidate> {
    (1..=4)
        .map(|day| Candidate {
            id: format!("copy-{day}"),
            timestamp_ms: day * 86_400_000,
            schedule: "nightly".into(),
            size: 0,
            tags: Vec::new(),
        })
        .collect()
}

fn task() -> lifeboat_runtime::Task {
    TaskLog::new("t", Arc::new(NoEvents)).start(None, "retention", None)
}

#[tokio::test]
async fn keep_last_keeps_the_newest() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let (policy, _) = runtime
        .load_policy("keep-last", lifeboat_builtins::KEEP_LAST, Limits::POLICY)
        .unwrap();
    let expired = policy
        .select_expired(
            &candidates(),
            r#"{"copyRetention": 2}"#,
            5 * 86_400_000,
            &task(),
        )
        .await
        .unwrap();
    assert_eq!(expired, ["copy-1", "copy-2"]);
}

#[tokio::test]
async fn answers_outside_the_rules_are_refused() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let (policy, _) = runtime
        .load_policy("rogue-policy", &wasm("rogue_policy"), Limits::POLICY)
        .unwrap();
    for (mode, refusal) in [
        ("foreign", "not one of the candidates"),
        ("newest", "the newest candidate"),
        ("all", "the newest candidate"),
    ] {
        let error = policy
            .select_expired(
                &candidates(),
                &format!(r#"{{"mode": "{mode}"}}"#),
                0,
                &task(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, RuntimeError::BadOutput { problem, .. } if problem.contains(refusal)),
            "{mode}: {error}"
        );
    }
}

#[test]
fn a_policy_may_not_import_xapi() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let error = runtime
        .load_policy("sneaky", &wasm("rogue_destroyer"), Limits::POLICY)
        .err()
        .expect("refused");
    assert!(
        matches!(&error, RuntimeError::ForbiddenImport { import, .. } if import.starts_with("lifeboat:plugin/xapi")),
        "{error}"
    );
}

#[tokio::test]
async fn a_third_party_policy_runs_like_a_built_in() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let (policy, _) = runtime
        .load_policy("keep-daily", &wasm("keep_daily"), Limits::POLICY)
        .unwrap();
    let mut all = candidates();
    all.push(Candidate {
        id: "copy-4-later".into(),
        timestamp_ms: 4 * 86_400_000 + 3_600_000,
        schedule: "nightly".into(),
        size: 0,
        tags: Vec::new(),
    });
    let expired = policy
        .select_expired(&all, r#"{"days": 2}"#, 4 * 86_400_000 + 7_200_000, &task())
        .await
        .unwrap();
    assert_eq!(expired, ["copy-1", "copy-2", "copy-4"]);
}

#[tokio::test]
async fn keep_gfs_keeps_the_oldest_backup_of_each_recent_week() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let (policy, _) = runtime
        .load_policy("keep-gfs", lifeboat_builtins::KEEP_GFS, Limits::POLICY)
        .unwrap();
    // Friday 2 to Monday 5 January 1970: Friday and Saturday are in week 1970-01 (Sunday 28
    // December to Saturday 3 January), Sunday and Monday in week 1970-02.
    let settings = r#"{"exportRetention": 1, "timezone": "UTC",
                       "longTermRetention": {"weekly": {"retention": 2}}}"#;
    let expired = policy
        .select_expired(&candidates(), settings, 5 * 86_400_000, &task())
        .await
        .unwrap();
    assert_eq!(expired, ["copy-2"]);

    let refused = policy
        .select_expired(
            &candidates(),
            r#"{"exportRetention": 1, "longTermRetention": {"daily": {"retention": 3}}}"#,
            5 * 86_400_000,
            &task(),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("timezone"), "{refused}");
}
