//! VDI operations shared by the VDI and VM messages: snapshot, clone, copy, destroy and in-place
//! revert, each changing both the VHD files ([`chain`](super::chain)) and the records.
//!
//! Snapshots and clones only rename and create small files, so they run under the pool's lock
//! and no other call sees a half-made chain. A full copy reads the whole chain: the chain is
//! opened under the lock (open files keep reading the same data whatever is renamed later) and
//! read after it.

use std::path::PathBuf;

use lifeboat_formats::blocks::for_each_changed_block;
use lifeboat_formats::vhd::{VhdChain, open_vhd_for_write};
use lifeboat_formats::xmlrpc::{Value, xapi_now};
use lifeboat_xapi::ApiError;
use uuid::Uuid;

use super::build::strings;
use super::chain;
use super::db::Database;
use super::errors;
use super::pool::{Pool, cls};
use super::records::{map_with, put};
use super::schema::NULL;
use super::storage;

/// The operations a new managed VDI allows.
pub const VDI_OPERATIONS: &[&str] = &["clone", "snapshot", "copy", "destroy", "resize"];

/// The `sm_config` key that names a VHD's parent node.
const VHD_PARENT: &str = "vhd-parent";

/// What a snapshot or clone makes of a VDI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derivation {
    Snapshot,
    Clone,
}

/// The folder of the SR holding `vdi`.
fn sr_dir(pool: &Pool, db: &Database, vdi: &str) -> PathBuf {
    let sr = db.get_str(cls("VDI"), vdi, "SR");
    storage::sr_dir(&pool.storage_root, db.get_str(cls("SR"), sr, "uuid"))
}

fn io_error(vdi: &str, error: impl std::fmt::Display) -> ApiError {
    errors::internal(format!("storage failure on VDI {vdi}: {error}"))
}

fn check_vdi(db: &Database, vdi: &str) -> Result<(), ApiError> {
    if db.exists(cls("VDI"), vdi) {
        Ok(())
    } else {
        Err(errors::handle_invalid("VDI", vdi))
    }
}

/// Whether the SR lists `operation` (`vdi_snapshot`, `vdi_revert`, …) as allowed.
pub fn sr_allows(db: &Database, sr: &str, operation: &str) -> bool {
    db.get(cls("SR"), sr, "allowed_operations")
        .and_then(Value::as_array)
        .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some(operation)))
}

/// Refuses an operation the VDI's SR does not allow.
fn check_sr_allows(db: &Database, vdi: &str, operation: &str) -> Result<(), ApiError> {
    let sr = db.get_str(cls("VDI"), vdi, "SR");
    if sr_allows(db, sr, operation) {
        Ok(())
    } else {
        Err(errors::sr_operation_not_supported(sr))
    }
}

/// Snapshots or clones `vdi`: its VHD becomes a hidden base copy under it and the new VDI.
pub fn derive(
    pool: &Pool,
    db: &mut Database,
    vdi: &str,
    how: Derivation,
) -> Result<String, ApiError> {
    let class = cls("VDI");
    check_vdi(db, vdi)?;
    if !db.get_bool(class, vdi, "managed") {
        return Err(ApiError::new("VDI_NOT_MANAGED", [vdi]));
    }
    check_sr_allows(
        db,
        vdi,
        match how {
            Derivation::Snapshot => "vdi_snapshot",
            Derivation::Clone => "vdi_clone",
        },
    )?;
    if how == Derivation::Snapshot && db.get_bool(class, vdi, "sharable") {
        return Err(ApiError::new("VDI_IS_SHARABLE", [vdi]));
    }
    if how == Derivation::Snapshot && db.get_str(class, vdi, "on_boot") == "reset" {
        return Err(ApiError::new(
            "VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION",
            [] as [&str; 0],
        ));
    }
    let dir = sr_dir(pool, db, vdi);
    let uuid = db.get_str(class, vdi, "uuid").to_owned();
    let base_uuid = Uuid::new_v4().to_string();
    let new_uuid = Uuid::new_v4().to_string();
    chain::branch(&dir, &uuid, &base_uuid, &[&new_uuid]).map_err(|e| io_error(vdi, e))?;

    let sm_config = db
        .get(class, vdi, "sm_config")
        .cloned()
        .unwrap_or(Value::Struct(Vec::new()));
    create_base_copy(db, vdi, &base_uuid);
    let leaf_config = map_with(&sm_config, VHD_PARENT, &base_uuid);
    db.set(class, vdi, "sm_config", leaf_config.clone());
    db.set(
        class,
        vdi,
        "physical_utilisation",
        Value::Int(chain::utilisation(&dir, &uuid) as i64),
    );

    let mut fields = copied_fields(db, vdi);
    put(
        &mut fields,
        "SR",
        Value::string(db.get_str(class, vdi, "SR")),
    );
    put(&mut fields, "uuid", Value::string(new_uuid.as_str()));
    put(&mut fields, "location", Value::string(new_uuid.as_str()));
    put(&mut fields, "managed", Value::Boolean(true));
    put(&mut fields, "sm_config", leaf_config);
    put(
        &mut fields,
        "physical_utilisation",
        Value::Int(chain::utilisation(&dir, &new_uuid) as i64),
    );
    put(
        &mut fields,
        "allowed_operations",
        strings(VDI_OPERATIONS.iter().copied()),
    );
    if how == Derivation::Snapshot {
        put(&mut fields, "is_a_snapshot", Value::Boolean(true));
        put(&mut fields, "snapshot_of", Value::string(vdi));
        put(&mut fields, "snapshot_time", Value::DateTime(xapi_now()));
    }
    Ok(db.create(class, fields))
}

/// The fields a snapshot, clone or copy takes from its source VDI.
fn copied_fields(db: &Database, vdi: &str) -> Vec<(&'static str, Value)> {
    [
        "name_label",
        "name_description",
        "type",
        "sharable",
        "other_config",
        "xenstore_data",
        "on_boot",
        "allow_caching",
        "tags",
        "virtual_size",
    ]
    .into_iter()
    .filter_map(|name| Some((name, db.get(cls("VDI"), vdi, name)?.clone())))
    .collect()
}

/// The record of the hidden base copy `base_uuid` that `vdi`'s former VHD became: read-only,
/// unmanaged, with `vdi`'s former parent as its own.
fn create_base_copy(db: &mut Database, vdi: &str, base_uuid: &str) {
    let class = cls("VDI");
    let parent = vhd_parent(db, vdi).map(|parent| (VHD_PARENT.to_owned(), Value::String(parent)));
    let fields = vec![
        ("uuid", Value::string(base_uuid)),
        ("name_label", Value::string("base copy")),
        ("SR", Value::string(db.get_str(class, vdi, "SR"))),
        (
            "virtual_size",
            Value::Int(db.get_int(class, vdi, "virtual_size")),
        ),
        (
            "physical_utilisation",
            Value::Int(db.get_int(class, vdi, "physical_utilisation")),
        ),
        ("type", Value::string("user")),
        ("read_only", Value::Boolean(true)),
        ("managed", Value::Boolean(false)),
        ("location", Value::string(base_uuid)),
        ("sm_config", Value::Struct(parent.into_iter().collect())),
    ];
    db.create(class, fields);
}

/// A full, independent copy of `vdi` in `sr`; with `into`, the blocks where `vdi` differs from
/// `into` are written over `into` instead, and `into` is returned.
pub fn copy(pool: &Pool, vdi: &str, sr: &str, into: Option<&str>) -> Result<String, ApiError> {
    let class = cls("VDI");
    let (mut source, target) = pool.read(|db| {
        check_vdi(db, vdi)?;
        if let Some(into) = into {
            check_vdi(db, into)?;
        } else if !db.exists(cls("SR"), sr) {
            return Err(errors::handle_invalid("SR", sr));
        }
        let file = storage::vdi_file(db, &pool.storage_root, vdi).expect("checked above");
        let source = VhdChain::open(&file).map_err(|e| io_error(vdi, e))?;
        let target = match into {
            Some(into) => Target::Into(
                into.to_owned(),
                storage::vdi_file(db, &pool.storage_root, into).expect("checked above"),
            ),
            None => {
                let sr_uuid = db.get_str(cls("SR"), sr, "uuid");
                if db.get_str(cls("SR"), sr, "content_type") == "iso" {
                    return Err(errors::sr_operation_not_supported(sr));
                }
                let size = u64::try_from(db.get_int(class, vdi, "virtual_size")).unwrap_or(0);
                check_room(db, sr, size)?;
                let uuid = Uuid::new_v4().to_string();
                let dir = storage::sr_dir(&pool.storage_root, sr_uuid);
                Target::New(uuid, dir)
            }
        };
        Ok((source, target))
    })?;
    match target {
        Target::Into(into, file) => {
            let mut current = VhdChain::open(&file).map_err(|e| io_error(&into, e))?;
            let mut leaf = open_vhd_for_write(&file).map_err(|e| io_error(&into, e))?;
            for_each_changed_block(
                &mut current,
                &mut source,
                &mut |_, _| {},
                &mut |block, data| leaf.write_full_block(block, data),
            )
            .and_then(|()| leaf.flush())
            .map_err(|e| io_error(&into, e))?;
            let utilisation = std::fs::metadata(&file).map_or(0, |m| m.len()) as i64;
            pool.write(|db| {
                db.set(
                    class,
                    &into,
                    "physical_utilisation",
                    Value::Int(utilisation),
                )
            });
            Ok(into)
        }
        Target::New(uuid, dir) => {
            let path = storage::file_in(&dir, &uuid);
            std::fs::create_dir_all(&dir).map_err(|e| io_error(vdi, e))?;
            chain::copy_chain(&mut source, &path).map_err(|e| io_error(vdi, e))?;
            let utilisation = chain::utilisation(&dir, &uuid) as i64;
            let created = pool.write(|db| {
                if !db.exists(cls("SR"), sr) {
                    return None;
                }
                let mut fields = copied_fields(db, vdi);
                put(&mut fields, "uuid", Value::string(uuid.as_str()));
                put(&mut fields, "SR", Value::string(sr));
                put(&mut fields, "location", Value::string(uuid.as_str()));
                put(&mut fields, "managed", Value::Boolean(true));
                put(&mut fields, "physical_utilisation", Value::Int(utilisation));
                put(
                    &mut fields,
                    "allowed_operations",
                    strings(VDI_OPERATIONS.iter().copied()),
                );
                Some(db.create(class, fields))
            });
            created.ok_or_else(|| {
                let _ = chain::remove(&dir, &uuid);
                errors::handle_invalid("SR", sr)
            })
        }
    }
}

enum Target {
    /// An existing VDI and its file.
    Into(String, PathBuf),
    /// A new VDI's uuid and its SR folder.
    New(String, PathBuf),
}

/// Destroys `vdi`, its VBDs and its file, then the base copies nothing uses any more.
pub fn destroy(pool: &Pool, db: &mut Database, vdi: &str) -> Result<(), ApiError> {
    let class = cls("VDI");
    check_vdi(db, vdi)?;
    if !db.get_bool(class, vdi, "managed") {
        return Err(ApiError::new("VDI_NOT_MANAGED", [vdi]));
    }
    let vbds = db.referrers(cls("VBD"), "VDI", vdi);
    if vbds
        .iter()
        .any(|vbd| db.get_bool(cls("VBD"), vbd, "currently_attached"))
    {
        return Err(ApiError::new("VDI_IN_USE", [vdi, "destroy"]));
    }
    let dir = sr_dir(pool, db, vdi);
    chain::remove(&dir, db.get_str(class, vdi, "uuid")).map_err(|e| io_error(vdi, e))?;
    for vbd in vbds {
        db.destroy(cls("VBD"), &vbd);
    }
    let parent = vhd_parent(db, vdi);
    db.destroy(class, vdi);
    collect_garbage(pool, db, parent);
    Ok(())
}

/// The uuid of the VHD node under `vdi`, if any.
fn vhd_parent(db: &Database, vdi: &str) -> Option<String> {
    db.get(cls("VDI"), vdi, "sm_config")
        .and_then(|config| config.get(VHD_PARENT))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Removes the base copies from `base` down that no VHD names as parent any more (what the SM
/// garbage collector does; it would also coalesce a base into its only child, which the
/// simulator does not).
fn collect_garbage(pool: &Pool, db: &mut Database, mut base: Option<String>) {
    let class = cls("VDI");
    while let Some(uuid) = base.take() {
        let Some(reference) = db.by_uuid(class, &uuid).map(str::to_owned) else {
            return;
        };
        let in_use = db
            .references(class)
            .any(|other| vhd_parent(db, other).as_deref() == Some(uuid.as_str()));
        if db.get_bool(class, &reference, "managed") || in_use {
            return;
        }
        let dir = sr_dir(pool, db, &reference);
        if chain::remove(&dir, &uuid).is_err() {
            // A base copy whose file cannot be removed stays listed, as a real SR would keep it.
            return;
        }
        base = vhd_parent(db, &reference);
        db.destroy(class, &reference);
    }
}

/// Reverts in place: the VDI `snapshot` is a snapshot of keeps its reference and uuid and gets
/// the snapshot's content. Only on SRs that allow `vdi_revert`.
pub fn revert_in_place(pool: &Pool, db: &mut Database, snapshot: &str) -> Result<String, ApiError> {
    let class = cls("VDI");
    check_vdi(db, snapshot)?;
    if !db.get_bool(class, snapshot, "is_a_snapshot") {
        return Err(ApiError::new(
            "REVERT_ONLY_ALLOWED_ON_SNAPSHOT",
            [] as [&str; 0],
        ));
    }
    let target = db.get_str(class, snapshot, "snapshot_of").to_owned();
    if !db.exists(class, &target) {
        return Err(errors::handle_invalid("VDI", &target));
    }
    check_sr_allows(db, &target, "vdi_revert")?;
    if db.get_str(class, &target, "SR") != db.get_str(class, snapshot, "SR") {
        return Err(ApiError::new(
            "UNIMPLEMENTED_IN_SM_BACKEND",
            [db.get_str(class, &target, "SR")],
        ));
    }
    let dir = sr_dir(pool, db, snapshot);
    let snapshot_uuid = db.get_str(class, snapshot, "uuid").to_owned();
    let target_uuid = db.get_str(class, &target, "uuid").to_owned();
    let base_uuid = Uuid::new_v4().to_string();
    let staged = Uuid::new_v4().to_string();
    chain::branch(&dir, &snapshot_uuid, &base_uuid, &[&staged])
        .map_err(|e| io_error(snapshot, e))?;
    // The new leaf takes the target's name in one rename, so the target never lacks a file.
    std::fs::rename(
        storage::file_in(&dir, &staged),
        storage::file_in(&dir, &target_uuid),
    )
    .map_err(|e| io_error(&target, e))?;

    let old_parent = vhd_parent(db, &target);
    create_base_copy(db, snapshot, &base_uuid);
    for vdi in [snapshot, target.as_str()] {
        let config = db
            .get(class, vdi, "sm_config")
            .cloned()
            .unwrap_or(Value::Struct(Vec::new()));
        db.set(
            class,
            vdi,
            "sm_config",
            map_with(&config, VHD_PARENT, &base_uuid),
        );
        let uuid = db.get_str(class, vdi, "uuid").to_owned();
        db.set(
            class,
            vdi,
            "physical_utilisation",
            Value::Int(chain::utilisation(&dir, &uuid) as i64),
        );
    }
    let size = db.get_int(class, snapshot, "virtual_size");
    db.set(class, &target, "virtual_size", Value::Int(size));
    collect_garbage(pool, db, old_parent);
    Ok(target)
}

/// Creates a new, empty VDI from a constructor's checked fields.
pub fn create(
    pool: &Pool,
    db: &mut Database,
    mut fields: Vec<(&'static str, Value)>,
) -> Result<String, ApiError> {
    let sr = super::records::value_of(&fields, "SR")
        .and_then(Value::as_str)
        .unwrap_or(NULL)
        .to_owned();
    if !db.exists(cls("SR"), &sr) {
        return Err(errors::handle_invalid("SR", &sr));
    }
    if db.get_str(cls("SR"), &sr, "content_type") == "iso" {
        return Err(errors::sr_operation_not_supported(&sr));
    }
    let requested = super::records::value_of(&fields, "virtual_size")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let size = rounded_size(requested)
        .ok_or_else(|| errors::invalid_value("virtual_size", &requested.to_string()))?;
    check_room(db, &sr, size)?;
    let uuid = Uuid::new_v4().to_string();
    let dir = storage::sr_dir(&pool.storage_root, db.get_str(cls("SR"), &sr, "uuid"));
    let path = storage::file_in(&dir, &uuid);
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&uuid, e))?;
    storage::create_empty(&path, size).map_err(|e| io_error(&uuid, e))?;
    put(&mut fields, "uuid", Value::string(uuid.as_str()));
    put(&mut fields, "virtual_size", Value::Int(size as i64));
    put(&mut fields, "location", Value::string(uuid.as_str()));
    put(&mut fields, "managed", Value::Boolean(true));
    put(
        &mut fields,
        "physical_utilisation",
        Value::Int(chain::utilisation(&dir, &uuid) as i64),
    );
    put(
        &mut fields,
        "allowed_operations",
        strings(VDI_OPERATIONS.iter().copied()),
    );
    Ok(db.create(cls("VDI"), fields))
}

/// Refuses a new disk of `size` bytes on `sr` when the SR's disks would then take more than
/// its `physical_size`. Disks are counted at their full virtual size, as a thick-provisioned
/// (LVM) SR allocates them; the hidden base copies of snapshot chains are not counted.
fn check_room(db: &Database, sr: &str, size: u64) -> Result<(), ApiError> {
    let class = cls("VDI");
    let capacity = u64::try_from(db.get_int(cls("SR"), sr, "physical_size")).unwrap_or(0);
    let allocated: u64 = db
        .referrers(class, "SR", sr)
        .iter()
        .filter(|vdi| db.get_bool(class, vdi, "managed"))
        .map(|vdi| u64::try_from(db.get_int(class, vdi, "virtual_size")).unwrap_or(0))
        .sum();
    let requested = allocated.saturating_add(size);
    if capacity > 0 && requested > capacity {
        return Err(errors::sr_full(requested, capacity));
    }
    Ok(())
}

/// Largest VHD a VHD SR creates (2040 GiB).
const MAX_VHD_SR_SIZE: u64 = 2040 << 30;

/// Granularity of VHD SR sizes.
pub const SIZE_GRANULARITY: u64 = 2 << 20;

/// A requested size rounded up as a VHD SR does (2 MiB multiples, at least 2 MiB); `None` when
/// out of range.
pub fn rounded_size(requested: i64) -> Option<u64> {
    let requested = u64::try_from(requested).ok()?;
    let size = requested.max(1).next_multiple_of(SIZE_GRANULARITY);
    (size <= MAX_VHD_SR_SIZE).then_some(size)
}
