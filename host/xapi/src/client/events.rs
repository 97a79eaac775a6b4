//! Event subscriptions: `event.from` with a token, as xapi's current clients use it.
//!
//! A subscription starts either from the beginning (token `""`: the first batch holds every
//! matching object as `add`) or from now ([`Client::subscribe_from_now`], which obtains a token
//! with `event.inject` on the pool). Each [`EventSubscription::next`] blocks in xapi until
//! something changes or the timeout passes (then the batch is empty).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::error::Result;
use crate::records::{Pool, Ref};
use crate::{Value, decode};

use super::Client;

/// Default time xapi may hold an `event.from` open, as Xen Orchestra uses it.
const DEFAULT_TIMEOUT_SECONDS: f64 = 60.1;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Add,
    Mod,
    Del,
}

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The database generation of the change.
    pub id: String,
    /// The class in lowercase (`vm`, `vdi`, `task`, …).
    pub class: String,
    pub operation: Operation,
    pub reference: String,
    /// The whole record after the change; absent for `del`.
    pub snapshot: Option<Value>,
}

/// The fields of an event other than its snapshot, which stays a dynamic [`Value`].
#[derive(Deserialize)]
struct EventHeader {
    id: String,
    class: String,
    operation: Operation,
    #[serde(rename = "ref")]
    reference: String,
}

/// Decodes an `event.from` result: `{events, token, valid_ref_counts}`.
fn decode_batch(value: Value) -> std::result::Result<Batch, decode::DecodeError> {
    let Value::Struct(members) = value else {
        return Err(decode::DecodeError::new("the result is not a struct"));
    };
    let mut batch = Batch::default();
    for (name, member) in members {
        match name.as_str() {
            "events" => {
                let Value::Array(items) = member else {
                    return Err(decode::DecodeError::new("`events` is not an array"));
                };
                batch.events = items
                    .into_iter()
                    .map(decode_event)
                    .collect::<Result<_, _>>()?;
            }
            "token" => batch.token = decode::from_value(member)?,
            "valid_ref_counts" => batch.valid_ref_counts = decode::from_value(member)?,
            _ => {}
        }
    }
    Ok(batch)
}

fn decode_event(mut value: Value) -> std::result::Result<Event, decode::DecodeError> {
    let snapshot = match &mut value {
        Value::Struct(members) => members
            .iter()
            .position(|(name, _)| name == "snapshot")
            .map(|at| members.remove(at).1),
        _ => None,
    };
    let header: EventHeader = decode::from_value(value)?;
    Ok(Event {
        id: header.id,
        class: header.class,
        operation: header.operation,
        reference: header.reference,
        snapshot,
    })
}

#[derive(Default)]
struct Batch {
    events: Vec<Event>,
    token: String,
    valid_ref_counts: BTreeMap<String, i64>,
}

/// A stream of changes to some classes of objects.
pub struct EventSubscription {
    client: Client,
    classes: Vec<String>,
    token: String,
    timeout: f64,
    valid_ref_counts: BTreeMap<String, i64>,
}

impl Client {
    /// Subscribes to `classes` (`"*"`, `"vm"`, `"vm/OpaqueRef:…"`) from the beginning: the
    /// first batch lists every matching object.
    pub fn subscribe(&self, classes: &[&str]) -> EventSubscription {
        EventSubscription {
            client: self.clone(),
            classes: classes.iter().map(|c| (*c).to_owned()).collect(),
            token: String::new(),
            timeout: DEFAULT_TIMEOUT_SECONDS,
            valid_ref_counts: BTreeMap::new(),
        }
    }

    /// Subscribes to `classes` from now on, with a token obtained by `event.inject` on `pool`.
    pub async fn subscribe_from_now(
        &self,
        classes: &[&str],
        pool: &Ref<Pool>,
    ) -> Result<EventSubscription> {
        let token = self
            .call(
                "event.inject",
                vec![Value::string("pool"), Value::string(pool.as_str())],
            )
            .await?;
        let mut subscription = self.subscribe(classes);
        subscription.token =
            decode::from_value(token).map_err(|e| super::decode_error("event.inject", e))?;
        Ok(subscription)
    }
}

impl EventSubscription {
    /// How long xapi may hold each wait open, in seconds.
    pub fn set_timeout(&mut self, seconds: f64) {
        self.timeout = seconds;
    }

    /// The token of the last batch, for resuming elsewhere.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The number of objects of each class (lowercase) as of the last batch.
    pub fn valid_ref_counts(&self) -> &BTreeMap<String, i64> {
        &self.valid_ref_counts
    }

    /// The next batch of changes; empty if the timeout passed without any.
    pub async fn next(&mut self) -> Result<Vec<Event>> {
        let params = vec![
            Value::Array(
                self.classes
                    .iter()
                    .map(|c| Value::string(c.as_str()))
                    .collect(),
            ),
            Value::string(self.token.as_str()),
            Value::Double(self.timeout),
        ];
        let deadline = Duration::from_secs_f64(self.timeout.max(0.0) + 30.0);
        let value = self
            .client
            .call_with_timeout("event.from", params, deadline)
            .await?;
        let batch = decode_batch(value).map_err(|e| super::decode_error("event.from", e))?;
        self.token = batch.token;
        self.valid_ref_counts = batch.valid_ref_counts;
        Ok(batch.events)
    }
}
