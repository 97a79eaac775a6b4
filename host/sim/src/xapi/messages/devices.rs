//! VBD and VIF constructors and destructors: what a client uses to build a VM by hand (Xen
//! Orchestra's replication creates VMs with `VM.create`, then their VBDs and VIFs).

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;

use crate::xapi::build::random_mac;
use crate::xapi::db::Database;
use crate::xapi::dispatch::{Ctx, Method};
use crate::xapi::errors;
use crate::xapi::params::Param::{Record, Str};
use crate::xapi::pool::{Pool, cls};
use crate::xapi::records::{from_record, put, value_of};

pub fn methods() -> Vec<Method> {
    vec![
        Method::new("VBD.create", &[("args", Record)], create_vbd),
        Method::new("VBD.destroy", &[("self", Str)], destroy_vbd),
        Method::new("VIF.create", &[("args", Record)], create_vif),
        Method::new("VIF.destroy", &[("self", Str)], destroy_vif),
    ]
}

/// Fields `VBD.create` needs in its record.
const VBD_REQUIRED: &[&str] = &[
    "VM",
    "VDI",
    "userdevice",
    "bootable",
    "mode",
    "type",
    "empty",
    "other_config",
    "qos_algorithm_type",
    "qos_algorithm_params",
];

/// Fields `VIF.create` needs in its record.
const VIF_REQUIRED: &[&str] = &[
    "device",
    "network",
    "VM",
    "MAC",
    "MTU",
    "other_config",
    "qos_algorithm_type",
    "qos_algorithm_params",
];

fn text<'a>(fields: &'a [(&'static str, Value)], name: &str) -> &'a str {
    value_of(fields, name)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn create_vbd(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let record = args.into_iter().next().unwrap_or(Value::Nil);
    let mut fields = from_record(cls("VBD"), record, VBD_REQUIRED)?;
    pool.write(|db| {
        let vm = text(&fields, "VM").to_owned();
        let vdi = text(&fields, "VDI").to_owned();
        let empty = value_of(&fields, "empty").and_then(Value::as_bool) == Some(true);
        let is_cd = text(&fields, "type") == "CD";
        let read_write = text(&fields, "mode") == "RW";
        if !db.exists(cls("VM"), &vm) {
            return Err(errors::handle_invalid("VM", &vm));
        }
        if empty && !is_cd {
            return Err(ApiError::new("VBD_NOT_REMOVABLE_MEDIA", ["in constructor"]));
        }
        if !empty && !db.exists(cls("VDI"), &vdi) {
            return Err(errors::handle_invalid("VDI", &vdi));
        }
        if is_cd && read_write {
            return Err(ApiError::new("VBD_CDS_MUST_BE_READONLY", [] as [&str; 0]));
        }
        if !empty && read_write && db.get_bool(cls("VDI"), &vdi, "read_only") {
            return Err(ApiError::new("VDI_READONLY", [vdi.as_str()]));
        }
        let userdevice = userdevice(db, &vm, text(&fields, "userdevice"))?;
        put(&mut fields, "userdevice", Value::String(userdevice));
        // The device name and attachment are the host's business unless the VM is suspended.
        if db.get_str(cls("VM"), &vm, "power_state") != "Suspended" {
            put(&mut fields, "device", Value::string(""));
            put(&mut fields, "currently_attached", Value::Boolean(false));
        }
        Ok(Value::String(db.create(cls("VBD"), fields)))
    })
}

/// The VBD position: the one asked for if free, or the lowest free one for `autodetect`.
fn userdevice(db: &Database, vm: &str, asked: &str) -> Result<String, ApiError> {
    let used: Vec<String> = db
        .referrers(cls("VBD"), "VM", vm)
        .iter()
        .map(|vbd| db.get_str(cls("VBD"), vbd, "userdevice").to_owned())
        .collect();
    if asked == "autodetect" {
        let free = (0..).find(|n: &u32| !used.contains(&n.to_string()));
        return Ok(free.unwrap_or_default().to_string());
    }
    if asked.parse::<u32>().is_err() {
        return Err(ApiError::new("INVALID_DEVICE", [asked]));
    }
    if used.iter().any(|u| u == asked) {
        return Err(ApiError::new("DEVICE_ALREADY_EXISTS", [asked]));
    }
    Ok(asked.to_owned())
}

fn destroy_vbd(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let vbd = args[0].as_str().unwrap_or_default();
    pool.write(|db| {
        if !db.exists(cls("VBD"), vbd) {
            return Err(errors::handle_invalid("VBD", vbd));
        }
        if db.get_bool(cls("VBD"), vbd, "currently_attached") {
            return Err(errors::operation_not_allowed(
                "VBD is currently attached to a running VM",
            ));
        }
        db.destroy(cls("VBD"), vbd);
        Ok(Value::string(""))
    })
}

fn create_vif(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let record = args.into_iter().next().unwrap_or(Value::Nil);
    let mut fields = from_record(cls("VIF"), record, VIF_REQUIRED)?;
    pool.write(|db| {
        let vm = text(&fields, "VM").to_owned();
        let network = text(&fields, "network").to_owned();
        if !db.exists(cls("VM"), &vm) {
            return Err(errors::handle_invalid("VM", &vm));
        }
        if !db.exists(cls("network"), &network) {
            return Err(errors::handle_invalid("network", &network));
        }
        let device = text(&fields, "device").to_owned();
        let taken = db
            .referrers(cls("VIF"), "VM", &vm)
            .iter()
            .any(|vif| db.get_str(cls("VIF"), vif, "device") == device);
        if taken {
            return Err(ApiError::new("DEVICE_ALREADY_EXISTS", [device.as_str()]));
        }
        let generated = text(&fields, "MAC").is_empty();
        if generated {
            put(&mut fields, "MAC", Value::String(random_mac()));
        }
        put(&mut fields, "MAC_autogenerated", Value::Boolean(generated));
        put(&mut fields, "currently_attached", Value::Boolean(false));
        Ok(Value::String(db.create(cls("VIF"), fields)))
    })
}

fn destroy_vif(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let vif = args[0].as_str().unwrap_or_default();
    pool.write(|db| {
        if !db.exists(cls("VIF"), vif) {
            return Err(errors::handle_invalid("VIF", vif));
        }
        if db.get_bool(cls("VIF"), vif, "currently_attached") {
            return Err(errors::operation_not_allowed(
                "VIF is currently attached to a running VM",
            ));
        }
        db.destroy(cls("VIF"), vif);
        Ok(Value::string(""))
    })
}
