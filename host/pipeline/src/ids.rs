//! Default ids for jobs and schedules: UUID v5, so that a pipeline file without ids still gets the
//! same ids on every run (the job's marks on its replicas, retention's per-schedule counts).
//!
//! - job id = UUIDv5([`JOB_ID_NAMESPACE`], name)
//! - schedule id = UUIDv5([`SCHEDULE_ID_NAMESPACE`], job id + "/" + schedule name)
//!
//! Renaming a job or a schedule therefore changes its id, unless the file sets `id:`.

use uuid::Uuid;

/// The UUID v5 namespace of default job ids (chosen once for Lifeboat; never change it).
pub const JOB_ID_NAMESPACE: Uuid = uuid::uuid!("0e4f2d0c-3b5a-4c8e-9a51-6c1f7b2d9e40");

/// The UUID v5 namespace of default schedule ids (chosen once for Lifeboat; never change it).
pub const SCHEDULE_ID_NAMESPACE: Uuid = uuid::uuid!("8a3c6e1b-5d27-4f90-b4e6-2d9a0c7f1e53");

/// The id of a job named `name` whose file sets none.
pub fn default_job_id(name: &str) -> String {
    Uuid::new_v5(&JOB_ID_NAMESPACE, name.as_bytes()).to_string()
}

/// The id of the schedule `schedule` of job `job_id` when the file sets none.
pub fn default_schedule_id(job_id: &str, schedule: &str) -> String {
    // Schedule names cannot contain `/`, so distinct (job, schedule) pairs give distinct input.
    Uuid::new_v5(
        &SCHEDULE_ID_NAMESPACE,
        format!("{job_id}/{schedule}").as_bytes(),
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ids_are_pinned() {
        // These ids are written into pools and remotes: they must never change.
        assert_eq!(
            default_job_id("nightly-dr"),
            "773b54c9-35a6-5e39-bb24-6269000f7e14"
        );
        assert_eq!(
            default_schedule_id("773b54c9-35a6-5e39-bb24-6269000f7e14", "nightly"),
            "c43e44b8-e7c2-5fda-bd11-4eb970416ff1"
        );
    }

    #[test]
    fn default_ids_differ_by_name() {
        assert_ne!(default_job_id("nightly-dr"), default_job_id("weekly-dr"));
        let job = default_job_id("nightly-dr");
        assert_ne!(
            default_schedule_id(&job, "nightly"),
            default_schedule_id(&job, "weekly")
        );
        assert_ne!(
            default_schedule_id(&job, "nightly"),
            default_schedule_id("other", "nightly")
        );
    }
}
