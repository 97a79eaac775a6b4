//! What a step costs beyond its operation's own work: the no-op operation (`noop.wasm`) loaded
//! from the compiled-component cache, then run 2,000 times one after another, each run in a fresh
//! store and instance as the executor runs every item; against a plain async call that does the
//! same JSON work (the parameters serialised, the outputs parsed) in the same process.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use lifeboat_runtime::task_log::NoEvents;
use lifeboat_runtime::{
    CacheOutcome, ComponentCache, Grants, Limits, OperationComponent, RunContext, RunObjects,
    Runtime, RuntimeOptions, StepEnv, TaskLog,
};
use serde_json::{Value as Json, json};

/// Steps timed, one after another.
const STEPS: usize = 2_000;
/// Untimed steps first, so that the timed ones find the pooling allocator's slots in use.
const WARM_UP: usize = 100;
/// Loads from the cache timed; the median is reported.
const CACHE_HITS: usize = 20;

pub fn run(dir: &Path) -> Result<()> {
    let path = Path::new(lifeboat_builtins::COMPONENTS_DIR).join("noop.wasm");
    let wasm = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let runtime = Runtime::new(RuntimeOptions {
        cache: Some(ComponentCache::new(dir.join("overhead-cache"))),
        ..RuntimeOptions::default()
    })?;
    let started = Instant::now();
    let (_, outcome) = runtime.load_operation("noop", &wasm)?;
    let compile = started.elapsed();
    ensure!(outcome == CacheOutcome::Compiled, "the cache was not empty");
    let mut hits = Vec::with_capacity(CACHE_HITS);
    let mut loaded = None;
    for _ in 0..CACHE_HITS {
        let started = Instant::now();
        let (operation, outcome) = runtime.load_operation("noop", &wasm)?;
        hits.push(started.elapsed());
        ensure!(
            outcome == CacheOutcome::Hit,
            "a second load of noop.wasm compiled it again"
        );
        loaded = Some(operation);
    }
    let noop = loaded.context("no load")?;
    hits.sort();

    // What dr-copy receives: the parameters of a realistic step.
    let params = json!({
        "vm": "aaaaaaaa-0000-4000-8000-000000000001",
        "source": "production",
        "target": "recovery",
        "sr": "bbbbbbbb-0000-4000-8000-000000000001",
        "settings": { "": { "copyRetention": 2 } },
    });
    let context = RunContext {
        job_id: "7b0c4a9e-0000-4000-8000-00000000a001".into(),
        job_name: "Nightly DR".into(),
        schedule_id: "7b0c4a9e-0000-4000-8000-00000000b001".into(),
        run_id: "run".into(),
        step_id: "replicate".into(),
        now_ms: 1_730_516_645_000,
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (cold, sandboxed) = tokio.block_on(sandboxed_steps(&noop, &context, &params))?;
    let plain = tokio.block_on(plain_steps(&context, &params))?;

    println!(
        "# overhead: noop.wasm ({} KiB), {STEPS} steps one after another after {WARM_UP} untimed",
        wasm.len() / 1024
    );
    println!(
        "overhead: load noop.wasm: compile + cache write {:.1} ms; cache hit {:.3} ms (median of {CACHE_HITS})",
        millis(compile),
        millis(hits[hits.len() / 2])
    );
    let lifeboat = Stats::of(sandboxed);
    let reference = Stats::of(plain);
    lifeboat.print("lifeboat step (store + instance + run)");
    reference.print("plain async call, same JSON");
    println!(
        "overhead: first step {:.1} µs; per-step overhead mean {:.1} µs, p99 {:.1} µs (target < 1000 µs); lifeboat/plain = {:.0}x (informative)",
        micros(cold),
        lifeboat.mean,
        lifeboat.p99,
        lifeboat.mean / reference.mean
    );
    Ok(())
}

/// The first step's time, then each timed step's: a step environment as the executor builds
/// one per item (its task, grants, context), then the operation run in it.
async fn sandboxed_steps(
    noop: &OperationComponent,
    context: &RunContext,
    params: &Json,
) -> Result<(Duration, Vec<Duration>)> {
    let log = TaskLog::new("bench", Arc::new(NoEvents));
    let objects = Arc::new(RunObjects::default());
    let step = async || {
        let env = StepEnv {
            component: "noop".into(),
            context: context.clone(),
            clock: lifeboat_runtime::Clock::system(),
            item_vm: None,
            grants: Grants::default(),
            objects: objects.clone(),
            task: log.start(None, "replicate", None),
            policy: None,
        };
        noop.run(env, params, Limits::OPERATION).await
    };
    let started = Instant::now();
    black_box(step().await?);
    let cold = started.elapsed();
    for _ in 1..WARM_UP {
        black_box(step().await?);
    }
    let mut times = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let started = Instant::now();
        black_box(step().await?);
        times.push(started.elapsed());
    }
    Ok((cold, times))
}

/// The reference: the same parameters serialised, handed to an async function that answers
/// `{}` as noop does, and its answer parsed.
async fn plain_steps(context: &RunContext, params: &Json) -> Result<Vec<Duration>> {
    let step = async || {
        let text = params.to_string();
        let outputs = plain_noop(black_box(context), black_box(&text)).await;
        serde_json::from_str::<Json>(&outputs)
    };
    for _ in 0..WARM_UP {
        black_box(step().await?);
    }
    let mut times = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let started = Instant::now();
        black_box(step().await?);
        times.push(started.elapsed());
    }
    Ok(times)
}

/// The operation as a plain function; kept out of line so that the call is a real one.
#[inline(never)]
async fn plain_noop(context: &RunContext, params: &str) -> String {
    black_box((context, params));
    "{}".to_owned()
}

/// Mean and percentiles of a series of times, in microseconds.
struct Stats {
    mean: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Stats {
    fn of(mut times: Vec<Duration>) -> Stats {
        times.sort();
        let at = |fraction: f64| micros(times[((times.len() - 1) as f64 * fraction) as usize]);
        Stats {
            mean: times.iter().map(|&t| micros(t)).sum::<f64>() / times.len() as f64,
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }

    fn print(&self, what: &str) {
        println!(
            "overhead: {what:<38} mean {:>8.2} µs  p50 {:>8.2} µs  p99 {:>8.2} µs  max {:>8.1} µs",
            self.mean, self.p50, self.p99, self.max
        );
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
