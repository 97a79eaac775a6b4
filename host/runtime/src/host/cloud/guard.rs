//! The cloud guard's rules: which objects are the job's, and the marks the host writes on what
//! a component creates.
//!
//! An object is the job's if its run created it, or if it carries the job's mark. A mark alone
//! proves little where the cloud copies it: a Cinder restore merges the backed-up volume's
//! metadata into the new volume, so a user who restores one of the job's volumes gets a volume
//! with the job's mark. A volume is therefore the job's only if it also names itself
//! (`lifeboat:volume` equal to its own id), which no copy does. Snapshots, backups and servers
//! are never copied with their metadata (an imported backup keeps its id and its data: it is
//! the same backup, the job's if the one exported was), so the job's mark is enough for them.

use std::collections::BTreeMap;

/// The metadata key holding the id of the job that made an object.
pub const JOB_MARK: &str = "lifeboat:job";
/// The metadata key by which a volume names itself.
pub const VOLUME_MARK: &str = "lifeboat:volume";
/// Keys under this prefix are the host's.
const HOST_PREFIX: &str = "lifeboat:";

/// What kind of object a guarded call acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Volume,
    Snapshot,
    Backup,
    Server,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Volume => "volume",
            Kind::Snapshot => "snapshot",
            Kind::Backup => "backup",
            Kind::Server => "server",
        }
    }
}

/// Whether `metadata` proves that the object `id` of `kind` is job `job`'s.
pub fn is_marked(kind: Kind, id: &str, metadata: &BTreeMap<String, String>, job: &str) -> bool {
    let job_mark = metadata.get(JOB_MARK).map(String::as_str) == Some(job);
    match kind {
        Kind::Volume => job_mark && metadata.get(VOLUME_MARK).map(String::as_str) == Some(id),
        Kind::Snapshot | Kind::Backup | Kind::Server => job_mark,
    }
}

/// The first key of a component's metadata that is the host's, if any.
pub fn host_key(metadata: &[(String, String)]) -> Option<&str> {
    metadata
        .iter()
        .map(|(key, _)| key.as_str())
        .find(|key| key.starts_with(HOST_PREFIX))
}

/// The job's mark, added to the metadata of what a component creates.
pub fn mark(metadata: &mut BTreeMap<String, String>, job: &str) {
    metadata.insert(JOB_MARK.to_owned(), job.to_owned());
}

/// The marks that make volume `id` the job's.
pub fn volume_marks(id: &str, job: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (JOB_MARK.to_owned(), job.to_owned()),
        (VOLUME_MARK.to_owned(), id.to_owned()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_volume_is_the_jobs_only_if_it_names_itself() {
        let own = volume_marks("v1", "job-1");
        assert!(is_marked(Kind::Volume, "v1", &own, "job-1"));
        // A restore of v1's backup into v2 copies v1's metadata.
        assert!(!is_marked(Kind::Volume, "v2", &own, "job-1"));
        assert!(!is_marked(Kind::Volume, "v1", &own, "job-2"));
        let job_only = metadata(&[(JOB_MARK, "job-1")]);
        assert!(!is_marked(Kind::Volume, "v1", &job_only, "job-1"));
    }

    #[test]
    fn other_objects_need_the_jobs_mark() {
        let marked = metadata(&[(JOB_MARK, "job-1")]);
        for kind in [Kind::Snapshot, Kind::Backup, Kind::Server] {
            assert!(is_marked(kind, "x", &marked, "job-1"), "{kind:?}");
            assert!(!is_marked(kind, "x", &marked, "job-2"), "{kind:?}");
            assert!(!is_marked(kind, "x", &BTreeMap::new(), "job-1"), "{kind:?}");
        }
    }

    #[test]
    fn host_keys_are_found_in_a_components_metadata() {
        let given = vec![
            ("mount".to_owned(), "/srv".to_owned()),
            ("lifeboat:job".to_owned(), "other".to_owned()),
        ];
        assert_eq!(host_key(&given), Some("lifeboat:job"));
        assert_eq!(host_key(&given[..1]), None);
    }
}
