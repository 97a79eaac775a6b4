//! Errors of the runtime: a component that cannot be loaded, a run that failed, and why.

use std::time::Duration;

/// Everything loading or running a component can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine could not be set up.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),

    /// The bytes are not a component this engine can compile.
    #[error("component {component}: cannot compile it: {problem}")]
    Compile { component: String, problem: String },

    /// The component needs an import the host does not give its world, or exports the wrong
    /// things.
    #[error("component {component}: {problem}")]
    Link { component: String, problem: String },

    /// The component imports an interface its kind may not use (a retention policy asking for
    /// `xapi`, say).
    #[error("component {component} imports {import}, which a {kind} may not use")]
    ForbiddenImport {
        component: String,
        kind: &'static str,
        import: String,
    },

    /// The component trapped: a panic, an out-of-bounds access, an `unreachable`.
    #[error("component {component} crashed: {message}{}", stderr_suffix(.stderr))]
    Trap {
        component: String,
        message: String,
        /// What the component wrote to its standard error (a panic message), if anything.
        stderr: String,
    },

    /// The run went past its deadline and was stopped.
    #[error("component {component} ran past its deadline of {} and was stopped", humanize(*.deadline))]
    Deadline {
        component: String,
        deadline: Duration,
    },

    /// The component asked for more memory than its limit.
    #[error("component {component} exceeded its memory limit of {} MiB", .limit / (1024 * 1024))]
    MemoryLimit { component: String, limit: usize },

    /// The operation ran and reported a failure.
    #[error("{0}")]
    Failed(#[from] OperationError),

    /// The component returned something that is not what its world promises (outputs that are
    /// not JSON, say).
    #[error("component {component}: {problem}")]
    BadOutput { component: String, problem: String },
}

/// A failure that an operation or a host call reported: WIT's `error` record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OperationError {
    /// The kind, as WIT's `error-kind` names it (`permission-denied`, `xapi`, …).
    pub kind: String,
    pub message: String,
    /// XAPI's code, for `xapi` failures.
    pub code: Option<String>,
    pub params: Vec<String>,
}

fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(" (it wrote: {stderr})")
    }
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 1.0 {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{seconds:.1} s")
    }
}
