//! `event.from` and `event.inject`.
//!
//! `event.from(classes, token, timeout)` reports each subscribed object that changed after the
//! token once: `add` (with its current record) if it was created after the token, else `mod`;
//! `del` without a record if it was deleted; nothing if it was created and deleted since. It
//! blocks until there is something to report or the timeout passes. Tokens are
//! `"<generation>,<message generation>"`, each zero-padded to 20 digits.

use std::time::Duration;

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;

use crate::xapi::db::{ChangeKind, Database, Subscription};
use crate::xapi::dispatch::{Action, Ctx, Method};
use crate::xapi::errors;
use crate::xapi::params::Param::{Float, Set, Str};
use crate::xapi::pool::{Pool, cls};
use crate::xapi::schema::CLASSES;

/// The longest an `event.from` may block, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(3600);

pub fn methods() -> Vec<Method> {
    let mut from = Method::new(
        "event.from",
        &[("classes", Set), ("token", Str), ("timeout", Float)],
        |_, _, _| Err(errors::internal("event.from runs asynchronously")),
    );
    from.action = Action::EventFrom;
    vec![
        from,
        Method::new("event.inject", &[("class", Str), ("ref", Str)], inject),
        Method::new("event.get_current_id", &[], current_id).sync_only(),
    ]
}

/// The token that stands for generation `generation`.
pub fn token(generation: u64) -> String {
    format!("{generation:020},{:020}", 0)
}

fn parse_token(token: &str) -> Result<u64, ApiError> {
    if token.is_empty() {
        return Ok(0);
    }
    let bad = || ApiError::new("EVENT_FROM_TOKEN_PARSE_FAILURE", [token]);
    let (generation, messages) = token.split_once(',').ok_or_else(bad)?;
    messages.trim().parse::<u64>().map_err(|_| bad())?;
    generation.trim().parse().map_err(|_| bad())
}

fn parse_subscription(text: &str) -> Result<Subscription, ApiError> {
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        ["*"] => Ok(Subscription::All),
        [class] => Ok(Subscription::Class(class.to_lowercase())),
        [class, object] => Ok(Subscription::Object(
            class.to_lowercase(),
            (*object).to_owned(),
        )),
        _ => Err(ApiError::new("EVENT_SUBSCRIPTION_PARSE_FAILURE", [text])),
    }
}

pub async fn event_from(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let subscriptions = args[0]
        .as_array()
        .unwrap_or_default()
        .iter()
        .map(|s| parse_subscription(s.as_str().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()?;
    let since = parse_token(args[1].as_str().unwrap_or_default())?;
    let timeout = match &args[2] {
        Value::Double(seconds) if *seconds > 0.0 => {
            Duration::from_secs_f64(seconds.min(MAX_WAIT.as_secs_f64()))
        }
        _ => Duration::ZERO,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut generation = pool.watch_generation();
    loop {
        generation.borrow_and_update();
        let found = pool.read(|db| {
            if !db.exists(cls("session"), &ctx.session) {
                return Err(errors::session_invalid(&ctx.session));
            }
            let changes = db
                .changes_since(since, &subscriptions)
                .ok_or_else(|| ApiError::new("EVENTS_LOST", Vec::<String>::new()))?;
            Ok((!changes.is_empty()).then(|| batch(db, &changes)))
        })?;
        if let Some(found) = found {
            return Ok(found);
        }
        let waited = tokio::time::timeout_at(deadline, generation.changed()).await;
        if waited.is_err() {
            return pool.read(|db| {
                if db.exists(cls("session"), &ctx.session) {
                    Ok(batch(db, &[]))
                } else {
                    Err(errors::session_invalid(&ctx.session))
                }
            });
        }
    }
}

/// The result struct of `event.from` for `changes`, with the current token and ref counts.
fn batch(db: &Database, changes: &[crate::xapi::db::Change]) -> Value {
    let events = changes
        .iter()
        .map(|change| {
            let operation = match change.kind {
                ChangeKind::Add => "add",
                ChangeKind::Mod => "mod",
                ChangeKind::Del => "del",
            };
            let mut members = vec![
                (
                    "id".to_owned(),
                    Value::String(change.generation.to_string()),
                ),
                ("timestamp".to_owned(), Value::string("0.0")),
                ("class".to_owned(), Value::string(change.class.event_name)),
                ("operation".to_owned(), Value::string(operation)),
                ("ref".to_owned(), Value::String(change.reference.clone())),
            ];
            if change.kind != ChangeKind::Del
                && let Some(record) = db.record(change.class, &change.reference)
            {
                members.push(("snapshot".to_owned(), record));
            }
            Value::Struct(members)
        })
        .collect();
    let counts = CLASSES
        .iter()
        .map(|class| {
            let count = i32::try_from(db.count(class)).unwrap_or(i32::MAX);
            (class.event_name.to_owned(), Value::Int32(count))
        })
        .collect();
    Value::record([
        ("events", Value::Array(events)),
        ("valid_ref_counts", Value::Struct(counts)),
        ("token", Value::String(token(db.generation()))),
    ])
}

fn inject(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let name = args[0].as_str().unwrap_or_default();
    let reference = args[1].as_str().unwrap_or_default();
    let class = CLASSES
        .iter()
        .find(|c| c.name == name || c.event_name == name.to_lowercase());
    let Some(class) = class else {
        return Err(errors::handle_invalid(name, reference));
    };
    pool.write(|db| {
        if db.touch(class, reference) {
            Ok(Value::String(token(db.generation() - 1)))
        } else {
            Err(errors::handle_invalid(class.name, reference))
        }
    })
}

fn current_id(pool: &Pool, _: &Ctx, _: Vec<Value>) -> Outcome {
    Ok(Value::Int(pool.read(|db| db.generation()) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(token(42), "00000000000000000042,00000000000000000000");
        assert_eq!(parse_token(&token(42)), Ok(42));
        assert_eq!(parse_token(""), Ok(0));
        assert!(parse_token("abc").is_err());
        assert!(parse_token("1,x").is_err());
    }

    #[test]
    fn subscriptions_parse_like_xapi() {
        assert_eq!(parse_subscription("*"), Ok(Subscription::All));
        assert_eq!(
            parse_subscription("VM"),
            Ok(Subscription::Class("vm".into()))
        );
        assert_eq!(
            parse_subscription("vm/OpaqueRef:a"),
            Ok(Subscription::Object("vm".into(), "OpaqueRef:a".into()))
        );
        assert!(parse_subscription("a/b/c").is_err());
    }
}
