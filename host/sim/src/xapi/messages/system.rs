//! `system.listMethods`: the names of every message, which clients such as Xen Orchestra scan
//! for `*.get_all_records` to learn the classes.

use lifeboat_formats::xmlrpc::Value;

use crate::xapi::dispatch::METHODS;

pub fn list_methods() -> Value {
    let mut names: Vec<&String> = METHODS.keys().collect();
    names.sort();
    Value::Array(
        names
            .into_iter()
            .map(|n| Value::string(n.as_str()))
            .collect(),
    )
}
