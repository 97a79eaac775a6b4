//! The disks of a VM: the VDIs its `Disk` VBDs attach (not its CD drives, nor empty drives).

use lifeboat_sdk::types::Error;
use lifeboat_sdk::xapi::{Pool, VdiRecord, VmRecord};

/// The disks of `vm`, in the order of its VBDs.
pub fn of(pool: &Pool, vm: &VmRecord) -> Result<Vec<VdiRecord>, Error> {
    let mut disks = Vec::new();
    for vbd in &vm.vbds {
        let vbd = pool.vbd(vbd)?;
        if vbd.vbd_type == "Disk" && !vbd.empty {
            disks.push(pool.vdi(&vbd.vdi)?);
        }
    }
    Ok(disks)
}
