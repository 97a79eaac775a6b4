//! A pool's database on disk, so that a simulator started with a state folder finds its pools
//! as it left them.
//!
//! The file (`<state>/<pool>/db.json`) is JSON meant to be read by people too:
//!
//! ```json
//! {"format": "lifeboat-sim-pool", "version": 1, "generation": 812,
//!  "objects": {"VM": {"OpaqueRef:…": {"uuid": "…", "name_label": "web01", …}}, …}}
//! ```
//!
//! Objects keep their references and uuids (the VHD files are named after the uuids). Only stored
//! fields are written, as xapi's JSON-RPC encodes them; the schema gives each field its type back
//! on loading (dates, doubles); map keys come back in name order, which xapi's unordered maps
//! allow. Sessions and tasks are left out, and `current_operations` is emptied, because xapi
//! keeps none of them across a restart. Files are replaced atomically (written beside, synced,
//! renamed).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use lifeboat_formats::atomic::AtomicFile;
use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::wire::json::{from_json, to_json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::db::Database;
use super::schema::{CLASSES, Ty, class};

/// The name of a pool's database file in its folder.
pub const DB_FILE: &str = "db.json";

const FORMAT: &str = "lifeboat-sim-pool";
const VERSION: u32 = 1;

/// Classes that do not survive a restart of xapi: clients log in again, and the tasks of the old
/// process are gone.
const EPHEMERAL_CLASSES: &[&str] = &["session", "task"];

/// Fields that do not survive a restart: the operations in progress belonged to old tasks.
const EPHEMERAL_FIELDS: &[&str] = &["current_operations"];

/// A saved database that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a saved simulator pool: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("cannot save {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The file's content.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    format: String,
    version: u32,
    /// The database's generation when it was saved.
    pub generation: u64,
    /// Class name → reference → stored fields.
    objects: BTreeMap<String, BTreeMap<String, Map<String, Json>>>,
}

impl Snapshot {
    /// Copies what must be saved out of `db` (cheap enough to do under the pool's lock; the
    /// encoding and writing happen outside it).
    pub fn of(db: &Database) -> Snapshot {
        let mut objects = BTreeMap::new();
        for class in CLASSES {
            if EPHEMERAL_CLASSES.contains(&class.name) {
                continue;
            }
            let mut table = BTreeMap::new();
            for reference in db.references(class) {
                let Some(object) = db.object(class, reference) else {
                    continue;
                };
                let record = class
                    .fields
                    .iter()
                    .zip(&object.values)
                    .filter(|(field, _)| {
                        !matches!(field.ty, Ty::Derived { .. })
                            && !EPHEMERAL_FIELDS.contains(&field.name)
                    })
                    .map(|(field, value)| (field.name.to_owned(), to_json(value)))
                    .collect();
                table.insert(reference.to_owned(), record);
            }
            objects.insert(class.name.to_owned(), table);
        }
        Snapshot {
            format: FORMAT.to_owned(),
            version: VERSION,
            generation: db.generation(),
            objects,
        }
    }

    /// The database this snapshot describes. Fields the schema no longer has are dropped, and
    /// fields it gained get their defaults.
    fn restore(self) -> Result<Database, String> {
        let mut db = Database::new();
        for (name, table) in self.objects {
            let class = class(&name).ok_or_else(|| format!("unknown class {name:?}"))?;
            for (reference, record) in table {
                let fields = record
                    .into_iter()
                    .filter_map(|(field, json)| {
                        let def = class.fields.iter().find(|f| f.name == field)?;
                        Some((def.name, typed(def.ty, json)))
                    })
                    .collect();
                db.create_with_ref(class, reference, fields);
            }
        }
        db.resume_at(self.generation);
        Ok(db)
    }
}

/// The value of a field of type `ty` from its JSON form, which says nothing of dates and of
/// doubles that happen to be whole.
fn typed(ty: Ty, json: Json) -> Value {
    match (ty, json) {
        (Ty::Date, Json::String(text)) => Value::DateTime(text),
        (Ty::Float, Json::Number(n)) => Value::Double(n.as_f64().unwrap_or_default()),
        (_, json) => from_json(json),
    }
}

/// Loads the database saved at `path`; `None` if there is no such file.
pub fn load(path: &Path) -> Result<Option<Database>, PersistError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let invalid = |problem: String| PersistError::Invalid {
        path: path.to_owned(),
        problem,
    };
    let snapshot: Snapshot =
        serde_json::from_slice(&text).map_err(|error| invalid(error.to_string()))?;
    if snapshot.format != FORMAT || snapshot.version != VERSION {
        return Err(invalid(format!(
            "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
            snapshot.format, snapshot.version
        )));
    }
    snapshot.restore().map(Some).map_err(invalid)
}

/// Writes `snapshot` to `path` atomically: a reader (or a restart after a crash) sees the old
/// file or the new one, never a part.
pub fn save(snapshot: &Snapshot, path: &Path) -> Result<(), PersistError> {
    let error = |source| PersistError::Write {
        path: path.to_owned(),
        source,
    };
    let file = AtomicFile::create(path).map_err(|e| error(std::io::Error::other(e)))?;
    let mut writer = std::io::BufWriter::new(file.file());
    serde_json::to_writer(&mut writer, snapshot).map_err(|e| error(e.into()))?;
    writer.flush().map_err(error)?;
    drop(writer);
    file.commit().map_err(|e| error(std::io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xapi::build::build;
    use crate::xapi::fixture::Fixture;
    use crate::xapi::pool::cls;

    const FIXTURE: &str = "
pools:
  - name: lab
    password: x
    hosts: [{name: h1}, {name: h2}]
    vms:
      - name: vm1
        power_state: Running
        tags: [a]
        disks: [{name: d1, size: 4MiB, content: {fill: 50, seed: 7}}]
        networks: [Pool-wide network associated with eth0]
";

    fn built(dir: &Path) -> Database {
        let fixture = Fixture::parse(FIXTURE, "test").unwrap();
        let addresses = ["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()];
        build(&fixture.pools[0], dir, &addresses).unwrap()
    }

    /// `value` with the members of its structs in name order: xapi's maps have no order, and
    /// the saved file does not keep it.
    fn sorted(value: Value) -> Value {
        match value {
            Value::Struct(mut members) => {
                members.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Struct(members.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }

    #[test]
    fn a_saved_database_loads_with_the_same_objects_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = built(dir.path());
        let session = db.create(cls("session"), vec![]);
        let path = dir.path().join(DB_FILE);
        save(&Snapshot::of(&db), &path).unwrap();
        let saved = db.generation();
        let loaded = load(&path).unwrap().expect("the file exists");

        assert!(
            !loaded.exists(cls("session"), &session),
            "sessions are not saved"
        );
        db.destroy(cls("session"), &session);
        for class in CLASSES {
            let mut before: Vec<&str> = db.references(class).collect();
            let mut after: Vec<&str> = loaded.references(class).collect();
            before.sort_unstable();
            after.sort_unstable();
            assert_eq!(before, after, "{}", class.name);
            for reference in before {
                assert_eq!(
                    db.record(class, reference).map(sorted),
                    loaded.record(class, reference).map(sorted),
                    "{} {reference}",
                    class.name
                );
            }
        }
        assert_eq!(loaded.generation(), saved);
    }

    #[test]
    fn old_tokens_are_lost_after_a_restart_but_first_reads_and_new_tokens_work() {
        let dir = tempfile::tempdir().unwrap();
        let db = built(dir.path());
        let saved = db.generation();
        let path = dir.path().join(DB_FILE);
        save(&Snapshot::of(&db), &path).unwrap();
        let mut loaded = load(&path).unwrap().unwrap();
        let all = [crate::xapi::db::Subscription::All];
        assert!(loaded.changes_since(saved - 1, &all).is_none());
        assert!(!loaded.changes_since(0, &all).unwrap().is_empty());
        let vm = loaded.references(cls("VM")).next().unwrap().to_owned();
        loaded.set(cls("VM"), &vm, "name_label", Value::string("renamed"));
        let changes = loaded.changes_since(saved, &all).unwrap();
        assert!(changes.iter().any(|c| c.reference == vm));
    }

    #[test]
    fn missing_files_are_none_and_bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        assert!(load(&path).unwrap().is_none());
        for text in [
            "not json",
            r#"{"format": "other", "version": 1, "generation": 1, "objects": {}}"#,
            r#"{"format": "lifeboat-sim-pool", "version": 1, "generation": 1, "objects": {"Nope": {}}}"#,
        ] {
            std::fs::write(&path, text).unwrap();
            let error = load(&path).expect_err(text).to_string();
            assert!(error.contains("not a saved simulator pool"), "{error}");
        }
    }
}
