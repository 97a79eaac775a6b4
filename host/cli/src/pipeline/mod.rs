//! `lifeboat run`, `lifeboat validate` and `lifeboat schema`: pipeline files.

mod connector;
mod output;
mod summary;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use lifeboat_executor::{RunOptions, RunStatus, Runner};
use lifeboat_pipeline::{InvalidPipeline, Pipeline};
use lifeboat_runtime::{Runtime, RuntimeOptions};

/// Exit codes of `lifeboat run` (and `validate`), for job runners.
pub const EXIT_CODES: &str = "Exit codes:
  0  success: every step and every VM succeeded
  1  failed: a step failed, or no VM succeeded
  2  invalid input: the pipeline file, a secret, a connection or the command line is wrong
     (nothing was run)
  3  partly failed: some VMs failed in steps with continue_on_error, the others succeeded";

/// What `--events` writes.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    /// One JSON object per line, in Xen Orchestra's job-log shape: job.start, task.start,
    /// task.info, task.warning, task.progress, task.end, job.end.
    Ndjson,
    /// No events.
    None,
}

/// Runs a pipeline file.
///
/// Each step runs its component (a sandboxed WebAssembly component: built in, or a file
/// pinned by its sha256) once per selected VM, with only the connections the step grants. On
/// a terminal, progress bars show each VM's transfer; at the end a summary lists every step
/// and VM.
#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct RunArgs {
    /// The pipeline file (YAML, `version: 1`).
    pipeline: PathBuf,
    /// The schedule this run belongs to, by its name in the pipeline's `schedules` (retention
    /// counts copies per schedule). Default: the pipeline's only schedule, else `manual`.
    #[arg(long)]
    schedule: Option<String>,
    /// Write the run's events as NDJSON to standard output (`ndjson`) or not at all.
    #[arg(long, value_enum, default_value_t = EventFormat::None)]
    events: EventFormat,
    /// Write the NDJSON events to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    events_file: Option<PathBuf>,
    /// The fixture that `sim://NAME` connections start their pool from (default: the
    /// built-in pools, see `lifeboat sim fixture`).
    #[arg(long, value_name = "FILE")]
    sim_fixture: Option<PathBuf>,
    /// Keep the state of `sim://` pools in this folder, so that the next run finds what this
    /// one did (without it they vanish when the run ends).
    #[arg(long, value_name = "DIR")]
    sim_state: Option<PathBuf>,
    /// Never show progress bars, even on a terminal.
    #[arg(long)]
    no_progress: bool,
}

/// Checks a pipeline file: its YAML, every field, every reference between its parts, its
/// durations, cron expressions and time zones, that each component it uses exists (a file's
/// digest included), and each step's `with` against the JSON Schema of parameters its
/// component describes. Every problem is listed with its file:line:column. Runs nothing and
/// connects to nothing.
#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct ValidateArgs {
    /// The pipeline file.
    pipeline: PathBuf,
}

fn load(path: &std::path::Path) -> Result<Pipeline, ExitCode> {
    Pipeline::load(path, lifeboat_builtins::NAMES).map_err(|error| {
        eprintln!("{error}");
        ExitCode::from(2)
    })
}

pub fn validate(args: ValidateArgs) -> ExitCode {
    let pipeline = match load(&args.pipeline) {
        Ok(pipeline) => pipeline,
        Err(code) => return code,
    };
    let problems = match check_params(&pipeline) {
        Ok(problems) => problems,
        Err(message) => {
            eprintln!("lifeboat: {message}");
            return ExitCode::FAILURE;
        }
    };
    if !problems.is_empty() {
        let origin = args.pipeline.display().to_string();
        eprintln!("{}", InvalidPipeline::new(&origin, problems));
        return ExitCode::from(2);
    }
    println!(
        "{}: valid: job {:?} ({}), {} step(s), {} finally step(s)",
        args.pipeline.display(),
        pipeline.name,
        pipeline.id,
        pipeline.steps.len(),
        pipeline.finally.len()
    );
    ExitCode::SUCCESS
}

/// Each step's `with` checked against its component's schema of parameters.
fn check_params(pipeline: &Pipeline) -> Result<Vec<lifeboat_pipeline::Diagnostic>, String> {
    let tokio = tokio::runtime::Runtime::new()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let runtime = Runtime::new(RuntimeOptions::default()).map_err(|error| error.to_string())?;
    Ok(tokio.block_on(lifeboat_executor::check_params(&runtime, pipeline)))
}

pub fn schema() -> ExitCode {
    println!("{}", lifeboat_pipeline::schema_text());
    ExitCode::SUCCESS
}

pub fn run(args: RunArgs) -> ExitCode {
    let pipeline = match load(&args.pipeline) {
        Ok(pipeline) => pipeline,
        Err(code) => return code,
    };
    let secrets = match lifeboat_pipeline::resolve_secrets(&pipeline) {
        Ok(secrets) => secrets,
        Err(error) => {
            eprintln!("lifeboat: {}: {error}", args.pipeline.display());
            return ExitCode::from(2);
        }
    };
    let ndjson: Option<Box<dyn std::io::Write + Send>> = match (&args.events_file, args.events) {
        (Some(path), _) => match std::fs::File::create(path) {
            Ok(file) => Some(Box::new(std::io::BufWriter::new(file))),
            Err(error) => {
                eprintln!("lifeboat: cannot write {}: {error}", path.display());
                return ExitCode::from(2);
            }
        },
        (None, EventFormat::Ndjson) => Some(Box::new(std::io::stdout())),
        (None, EventFormat::None) => None,
    };
    let events_on_stdout = args.events_file.is_none() && args.events == EventFormat::Ndjson;
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let output = Arc::new(output::Output::new(ndjson, secrets.masker(), progress));

    let tokio = match tokio::runtime::Runtime::new() {
        Ok(tokio) => tokio,
        Err(error) => {
            eprintln!("lifeboat: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match Runtime::new(RuntimeOptions::default()) {
        Ok(runtime) => Arc::new(runtime),
        Err(error) => {
            eprintln!("lifeboat: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runner = Runner {
        runtime,
        connector: Arc::new(connector::CliConnector {
            sim_fixture: args.sim_fixture,
            sim_state: args.sim_state,
        }),
    };
    let options = RunOptions {
        schedule: args.schedule,
        sink: output.clone(),
        now_ms: None,
    };
    let report = tokio.block_on(runner.run(&pipeline, &secrets, options));
    let _ = output.flush();
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!(
                "lifeboat: {}: {}",
                args.pipeline.display(),
                output.mask(&error.to_string())
            );
            return ExitCode::from(2);
        }
    };
    let text = summary::render(&pipeline, &report);
    if events_on_stdout {
        eprint!("{}", output.mask(&text));
    } else {
        print!("{}", output.mask(&text));
    }
    match report.status {
        RunStatus::Success => ExitCode::SUCCESS,
        RunStatus::Failure => ExitCode::FAILURE,
        RunStatus::Partial => ExitCode::from(3),
    }
}
