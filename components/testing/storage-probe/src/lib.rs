//! A test operation that uses every call of the `storage` interface on the remote named in
//! its parameters — write, read, list, rename, copy through `transfers`, delete, and 0.1.1's
//! stat, listing with times, ranged reads and folder locks — and then tries to reach outside
//! the remote's root; it reports what each call answered.

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
        // 0.1.1: times, stat, a ranged copy, folder locks.
        let stat = remote.stat("dir/b.json")?;
        let timed = remote
            .list_entries("dir")?
            .iter()
            .all(|entry| entry.modified_ms.is_some());
        let ranged = transfers::copy(
            remote.open_range("dir/b.json", 1, 3)?,
            vec![remote.create("copies/range")?],
            None,
        )
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("no outcome"))??
        .bytes;
        let held = remote.lock("dir", 60)?;
        let second_lock = answer(remote.lock("dir", 60).map(|_| 0));
        held.release()?;
        let relocked = answer(remote.lock("dir", 60).map(|_| 0));
        let missing = answer(remote.stat("dir/none").map(|_| 0));
        remote.delete("dir")?;
        let after_delete = remote.list("dir")?.len();
        lifeboat_sdk::output(&json!({
            "read": read,
            "listed": listed,
            "copied_bytes": copied_bytes,
            "after_delete": after_delete,
            "stat": { "name": stat.name, "size": stat.size, "timed": stat.modified_ms.is_some() },
            "listed_with_times": timed,
            "ranged_bytes": ranged,
            "second_lock": second_lock,
            "relocked": relocked,
            "missing": missing,
            "escape_read": answer(remote.read("../outside.txt").map(|b| b.len())),
            "escape_write": answer(remote.write("/tmp/lifeboat-escape", b"x").map(|()| 0)),
            "ungranted": answer(Remote::connect("elsewhere").map(|_| 0)),
        }))
    }
}

lifeboat_sdk::export_operation!(StorageProbe);
