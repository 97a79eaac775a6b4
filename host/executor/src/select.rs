//! The VMs a `for_each` step runs over, read from the pool at the start of the step.

use lifeboat_xapi::Client;
use lifeboat_xapi::records::Vm;

use lifeboat_pipeline::model::VmFilter;

/// A VM selected for a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SelectedVm {
    pub uuid: String,
    pub name_label: String,
}

/// What selection found: the VMs to run over, and what it left out and why.
#[derive(Debug, Default)]
pub struct Selection {
    pub vms: Vec<SelectedVm>,
    /// Uuids the pipeline names that the pool does not have.
    pub missing: Vec<String>,
    /// Copies this job made, which a job never copies again (Xen Orchestra skips them too).
    pub own_copies: Vec<SelectedVm>,
}

/// Selects the VMs of `client`'s pool that `filter` asks for: never templates, snapshots or
/// control domains, nor the replicas the job `job_id` made (marked and blocked from starting).
pub async fn select(
    client: &Client,
    filter: &VmFilter,
    job_id: &str,
) -> Result<Selection, lifeboat_xapi::Error> {
    let all = client.get_all_records::<Vm>().await?;
    let candidates = all
        .values()
        .filter(|vm| !vm.is_a_template && !vm.is_a_snapshot && !vm.is_control_domain);
    let mut selection = Selection::default();
    let chosen: Vec<&Vm> = match filter {
        VmFilter::Uuids(uuids) => {
            let mut chosen = Vec::new();
            for uuid in uuids {
                let uuid = uuid.to_string();
                match candidates.clone().find(|vm| vm.uuid == uuid) {
                    Some(vm) => chosen.push(vm),
                    None => selection.missing.push(uuid),
                }
            }
            chosen
        }
        VmFilter::Tags(tags) => {
            let mut chosen: Vec<&Vm> = candidates
                .filter(|vm| tags.iter().all(|tag| vm.tags.contains(tag)))
                .collect();
            chosen.sort_by(|a, b| (&a.name_label, &a.uuid).cmp(&(&b.name_label, &b.uuid)));
            chosen
        }
    };
    for vm in chosen {
        let selected = SelectedVm {
            uuid: vm.uuid.clone(),
            name_label: vm.name_label.clone(),
        };
        let own = vm.other_config.get("xo:backup:job").map(String::as_str) == Some(job_id)
            && vm.blocked_operations.contains_key("start");
        if own {
            selection.own_copies.push(selected);
        } else {
            selection.vms.push(selected);
        }
    }
    Ok(selection)
}
