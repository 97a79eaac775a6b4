//! The policy's logic, free of the component's glue so that it is tested on the host.

use lifeboat_sdk::retention::Candidate;
use lifeboat_sdk::types::Error;
use serde::Deserialize;

/// The settings keys that may hold the count, the neutral one first.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    retention: Option<u64>,
    copy_retention: Option<u64>,
    export_retention: Option<u64>,
    snapshot_retention: Option<u64>,
}

/// How many candidates to keep, from the step's settings (JSON text).
pub fn count(settings: &str) -> Result<usize, Error> {
    let settings: Settings = lifeboat_sdk::params(settings)?;
    let given: Vec<(&str, u64)> = [
        ("retention", settings.retention),
        ("copyRetention", settings.copy_retention),
        ("exportRetention", settings.export_retention),
        ("snapshotRetention", settings.snapshot_retention),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key, value?)))
    .collect();
    match given.as_slice() {
        [] => Err(Error::invalid_input(
            "keep-last needs the count to keep: `retention`, `copyRetention`, \
             `exportRetention` or `snapshotRetention`",
        )),
        [(key, 0)] => Err(Error::invalid_input(format!(
            "`{key}` must be at least 1: keep-last never deletes the newest candidate"
        ))),
        [(_, count)] => Ok(usize::try_from(*count).unwrap_or(usize::MAX)),
        several => {
            let keys: Vec<String> = several.iter().map(|(key, _)| format!("`{key}`")).collect();
            Err(Error::invalid_input(format!(
                "keep-last takes one count, not {}",
                keys.join(" and ")
            )))
        }
    }
}

/// The ids of every candidate but the newest `keep`, in the order given. Newest means the
/// latest `timestamp_ms`; between equal timestamps, the one given later.
pub fn expired(candidates: &[Candidate], keep: usize) -> Vec<String> {
    let mut by_age: Vec<usize> = (0..candidates.len()).collect();
    by_age.sort_by_key(|&index| (candidates[index].timestamp_ms, index));
    let mut expires = vec![false; candidates.len()];
    for &index in &by_age[..candidates.len().saturating_sub(keep)] {
        expires[index] = true;
    }
    candidates
        .iter()
        .zip(expires)
        .filter(|(_, expires)| *expires)
        .map(|(candidate, _)| candidate.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_sdk::types::ErrorKind;

    fn candidate(id: &str, timestamp_ms: u64) -> Candidate {
        Candidate {
            id: id.into(),
            timestamp_ms,
            schedule: "daily".into(),
            size: 0,
            tags: Vec::new(),
        }
    }

    fn ids(candidates: &[(&str, u64)]) -> Vec<Candidate> {
        candidates
            .iter()
            .map(|(id, timestamp)| candidate(id, *timestamp))
            .collect()
    }

    #[test]
    fn keeps_the_newest_n_including_the_new_copy() {
        let candidates = ids(&[("a", 1), ("b", 2), ("c", 3), ("new", 4)]);
        assert_eq!(expired(&candidates, 2), ["a", "b"]);
        assert_eq!(expired(&candidates, 1), ["a", "b", "c"]);
        assert_eq!(expired(&candidates, 4), Vec::<String>::new());
        assert_eq!(expired(&candidates, 10), Vec::<String>::new());
        assert_eq!(expired(&[], 1), Vec::<String>::new());
    }

    #[test]
    fn ranks_by_timestamp_and_answers_in_input_order() {
        let candidates = ids(&[("c", 30), ("a", 10), ("new", 40), ("b", 20)]);
        assert_eq!(expired(&candidates, 2), ["a", "b"]);
        let ties = ids(&[("x", 5), ("y", 5), ("z", 5)]);
        assert_eq!(expired(&ties, 1), ["x", "y"]);
    }

    #[test]
    fn reads_the_count_from_one_key() {
        assert_eq!(count(r#"{"copyRetention": 3}"#).unwrap(), 3);
        assert_eq!(
            count(r#"{"exportRetention": 2, "deleteFirst": true}"#).unwrap(),
            2
        );
        assert_eq!(
            count(r#"{"retention": 1, "copyRetention": null}"#).unwrap(),
            1
        );
        assert_eq!(count(r#"{"snapshotRetention": 7}"#).unwrap(), 7);
    }

    #[test]
    fn refuses_a_missing_zero_ambiguous_or_malformed_count() {
        for (settings, message) in [
            ("{}", "keep-last needs the count"),
            (
                r#"{"copyRetention": 0}"#,
                "`copyRetention` must be at least 1",
            ),
            (
                r#"{"copyRetention": 2, "exportRetention": 3}"#,
                "keep-last takes one count, not `copyRetention` and `exportRetention`",
            ),
            (r#"{"copyRetention": "3"}"#, "`copyRetention`: invalid type"),
            (r#"{"copyRetention": -1}"#, "`copyRetention`: invalid value"),
        ] {
            let error = count(settings).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidInput);
            assert!(error.message.starts_with(message), "{}", error.message);
        }
    }
}
