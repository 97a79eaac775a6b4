//! A test operation that uses every call of the `storage` interface on the remote named in
//! its parameters — write, read, list, rename, copy through `transfers`, delete — and then tries
//! to reach outside the remote's root; it reports what each call answered.

use lifeboat_sdk::storage::Remote;
use lifeboat_sdk::transfers;
use lifeboat_sdk::types::{Description, Error, RunContext};
use serde::Deserialize;
use serde_json::{Value, json};

/// The operation.
struct StorageProbe;

/// The remote to probe.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    remote: String,
}

/// What a call answered: its value, or its error's kind.
fn answer<T: Into<Value>>(result: Result<T, Error>) -> Value {
    match result {
        Ok(value) => json!({ "ok": value.into() }),
        Err(error) => json!({ "error": error.kind.as_str() }),
    }
}

impl lifeboat_sdk::Operation for StorageProbe {
    fn describe() -> Description {
        Description::new(
            "storage-probe",
            env!("CARGO_PKG_VERSION"),
            "Exercises the storage interface.",
            json!({ "type": "object", "required": ["remote"] }),
            json!({ "type": "object" }),
        )
    }

    fn run(_context: RunContext, params: String) -> Result<String, Error> {
        let params: Params = lifeboat_sdk::params(&params)?;
        let remote = Remote::connect(&params.remote)?;
        remote.write("dir/a.json", b"{\"n\":1}")?;
        let read = String::from_utf8_lossy(&remote.read("dir/a.json")?).into_owned();
        remote.rename("dir/a.json", "dir/b.json")?;
        let copied = transfers::copy(
            remote.open("dir/b.json")?,
            vec![remote.create("copies/c.json")?],
            None,
        );
        let copied_bytes = copied
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("no outcome"))??
            .bytes;
        let listed: Vec<String> = remote
            .list("dir")?
            .into_iter()
            .map(|entry| format!("{}:{}", entry.name, entry.size))
            .collect();
        remote.delete("dir")?;
        let after_delete = remote.list("dir")?.len();
        lifeboat_sdk::output(&json!({
            "read": read,
            "listed": listed,
            "copied_bytes": copied_bytes,
            "after_delete": after_delete,
            "escape_read": answer(remote.read("../outside.txt").map(|b| b.len())),
            "escape_write": answer(remote.write("/tmp/lifeboat-escape", b"x").map(|()| 0)),
            "ungranted": answer(Remote::connect("elsewhere").map(|_| 0)),
        }))
    }
}

lifeboat_sdk::export_operation!(StorageProbe);
