//! The side of a retention policy: the trait it implements and the candidates it is given.
//!
//! A policy implements [`RetentionPolicy`] and exports it with
//! [`export_policy!`](crate::export_policy). Its `Candidate` is the exported interface's type;
//! an operation that asks the host to run a policy uses `lifeboat_sdk::policy::Candidate`
//! instead, the type of the import (two distinct types when both features are enabled).

pub use crate::bindings::policy::exports::lifeboat::plugin::retention::{
    Candidate, Guest as RetentionPolicy,
};
