//! Dispatch of API calls, in xapi's order of checks.
//!
//! For a known method: (1) the parameter count (trailing parameters with defaults may be left
//! out, and extra ones are then ignored), (2) each parameter's type, (3) the session,
//! (4) the implementation. An unknown method still has its first parameter checked as a session
//! before `MESSAGE_METHOD_UNKNOWN`. `Async.` runs the method as a task and returns the task at
//! once; getters and setters refuse it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::{Call, Outcome};

use super::errors;
use super::messages;
use super::params::{Param, coerce};
use super::pool::{Pool, cls};
use super::tasks;

/// What a handler knows about its call.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The caller's session reference (empty for calls without one).
    pub session: String,
    /// The task running the call, for `Async.` calls.
    pub task: Option<String>,
    /// The host whose address received the call.
    pub host: String,
}

/// A synchronous handler: validated arguments in, outcome out.
pub type Handler = fn(&Pool, &Ctx, Vec<Value>) -> Outcome;

/// How a method is carried out.
#[derive(Clone, Copy)]
pub enum Action {
    Sync(Handler),
    /// `event.from`, which waits without holding a thread.
    EventFrom,
    /// A getter, setter, map or set message generated from the schema.
    Generic(messages::generic::Generic),
}

/// One API message.
#[derive(Clone)]
pub struct Method {
    pub name: String,
    /// Parameters after the session, with names for errors.
    pub params: Vec<(&'static str, Param)>,
    /// How many trailing parameters have defaults.
    pub optional: usize,
    pub takes_session: bool,
    pub allows_async: bool,
    pub action: Action,
}

impl Method {
    pub fn new(
        name: impl Into<String>,
        params: &[(&'static str, Param)],
        action: Handler,
    ) -> Method {
        Method {
            name: name.into(),
            params: params.to_vec(),
            optional: 0,
            takes_session: true,
            allows_async: true,
            action: Action::Sync(action),
        }
    }

    /// The last `count` parameters have defaults.
    pub fn optional(mut self, count: usize) -> Method {
        self.optional = count;
        self
    }

    /// Getters, setters and other messages without an async form.
    pub fn sync_only(mut self) -> Method {
        self.allows_async = false;
        self
    }

    pub fn without_session(mut self) -> Method {
        self.takes_session = false;
        self
    }
}

/// Every method the simulator knows, by name.
pub static METHODS: LazyLock<HashMap<String, Method>> = LazyLock::new(|| {
    let mut methods = HashMap::new();
    for method in messages::generic::methods()
        .into_iter()
        .chain(messages::all())
    {
        methods.insert(method.name.clone(), method);
    }
    methods
});

/// What a call produced.
#[derive(Debug)]
pub enum Reply {
    Outcome(Outcome),
    /// A value sent without the `Status` envelope over XML-RPC (`system.listMethods`).
    Unwrapped(Value),
}

/// Handles one call against `pool`, received on `host`.
pub async fn dispatch(pool: &Arc<Pool>, host: &str, call: Call) -> Reply {
    let (name, is_async) = split_async(&call.method);
    let name = canonical_name(name);
    if name == "system.listMethods" {
        return Reply::Unwrapped(messages::system::list_methods());
    }
    if let Some(delay) = pool.faults.latency_for(&name) {
        tokio::time::sleep(delay).await;
    }
    Reply::Outcome(run(pool, host, &name, is_async, call.params).await)
}

async fn run(
    pool: &Arc<Pool>,
    host: &str,
    name: &str,
    is_async: bool,
    mut params: Vec<Value>,
) -> Outcome {
    let Some(method) = METHODS.get(name) else {
        if let Some(session) = params.first() {
            check_session(pool, session)?;
        }
        return Err(errors::method_unknown(name));
    };
    let given = params.len() as i64 - i64::from(method.takes_session);
    let required = method.params.len() - method.optional;
    if given < required as i64 || (method.optional == 0 && given > required as i64) {
        return Err(errors::count_mismatch(name, required, given));
    }
    let session = if method.takes_session {
        params.remove(0)
    } else {
        Value::String(String::new())
    };
    params.truncate(method.params.len());
    let args = params
        .into_iter()
        .zip(&method.params)
        .map(|(value, (param_name, param))| coerce(*param, value, param_name))
        .collect::<Result<Vec<_>, _>>()?;
    let session = if method.takes_session {
        check_session(pool, &session)?
    } else {
        String::new()
    };
    if let Some(error) = pool.faults.error_for_call(name) {
        return Err(error);
    }
    let ctx = Ctx {
        session,
        task: None,
        host: host.to_owned(),
    };
    if is_async {
        if !method.allows_async {
            return Err(ApiError::new(
                "Fault",
                [format!("No async mode for this operation (rpc: {name})")],
            ));
        }
        return Ok(Value::String(tasks::spawn(pool, ctx, method, args)));
    }
    execute(pool, ctx, method, args).await
}

/// Runs a method now (in a blocking thread: handlers may touch disk files).
pub async fn execute(pool: &Arc<Pool>, ctx: Ctx, method: &Method, args: Vec<Value>) -> Outcome {
    match method.action {
        Action::EventFrom => messages::events::event_from(pool, &ctx, args).await,
        Action::Generic(generic) => generic.run(pool, args),
        Action::Sync(handler) => {
            let pool = pool.clone();
            tokio::task::spawn_blocking(move || handler(&pool, &ctx, args))
                .await
                .unwrap_or_else(|error| Err(errors::internal(format!("handler failed: {error}"))))
        }
    }
}

fn check_session(pool: &Pool, session: &Value) -> Result<String, ApiError> {
    let reference = session.as_str().unwrap_or_default();
    if pool.read(|db| db.exists(cls("session"), reference)) {
        Ok(reference.to_owned())
    } else {
        Err(errors::session_invalid(reference))
    }
}

/// Strips `Async.` (and xapi's internal `InternalAsync.`).
fn split_async(method: &str) -> (&str, bool) {
    for prefix in ["Async.", "InternalAsync."] {
        if let Some(rest) = method.strip_prefix(prefix) {
            return (rest, true);
        }
    }
    (method, false)
}

/// `Class.message`, also accepting xapi's alternative spelling `Class_message`.
fn canonical_name(name: &str) -> String {
    if name.contains('.') {
        return name.to_owned();
    }
    let mut best: Option<&str> = None;
    for class in super::schema::CLASSES {
        if name.starts_with(class.name)
            && name.as_bytes().get(class.name.len()) == Some(&b'_')
            && best.is_none_or(|b| b.len() < class.name.len())
        {
            best = Some(class.name);
        }
    }
    match best {
        Some(class) => format!("{class}.{}", &name[class.len() + 1..]),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternative_names_map_to_dotted_ones() {
        assert_eq!(canonical_name("VM_get_all"), "VM.get_all");
        assert_eq!(
            canonical_name("VM_metrics_get_record"),
            "VM_metrics.get_record"
        );
        assert_eq!(canonical_name("VM.get_all"), "VM.get_all");
        assert_eq!(canonical_name("nonsense"), "nonsense");
        assert_eq!(split_async("Async.VM.clone"), ("VM.clone", true));
    }
}
