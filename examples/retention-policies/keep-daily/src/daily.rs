//! The policy's logic, free of the component's glue so that it is tested on the host.

use lifeboat_sdk::retention::Candidate;
use std::collections::BTreeMap;

const MS_PER_DAY: u64 = 86_400_000;

/// The ids of the candidates that expire, in the order given: all but the newest of each UTC
/// day from `days - 1` days before `now_ms`'s day on (later days too, should a clock be ahead)
/// and the newest candidate of all. Between equal timestamps, the one given later is newer.
pub fn expired(candidates: &[Candidate], days: u64, now_ms: u64) -> Vec<String> {
    let first_day = (now_ms / MS_PER_DAY).saturating_sub(days - 1);
    let newer =
        |a: usize, b: usize| (candidates[a].timestamp_ms, a) > (candidates[b].timestamp_ms, b);
    let mut newest_of_day: BTreeMap<u64, usize> = BTreeMap::new();
    let mut newest: Option<usize> = None;
    for (index, candidate) in candidates.iter().enumerate() {
        if newest.is_none_or(|other| newer(index, other)) {
            newest = Some(index);
        }
        let day = candidate.timestamp_ms / MS_PER_DAY;
        if day >= first_day {
            let kept = newest_of_day.entry(day).or_insert(index);
            if newer(index, *kept) {
                *kept = index;
            }
        }
    }
    let mut keep = vec![false; candidates.len()];
    for index in newest_of_day.into_values().chain(newest) {
        keep[index] = true;
    }
    candidates
        .iter()
        .zip(keep)
        .filter(|(_, keep)| !keep)
        .map(|(candidate, _)| candidate.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-10 12:00 UTC.
    const NOW: u64 = 1_704_888_000_000;
    const HOUR: u64 = 3_600_000;

    fn candidates(list: &[(&str, u64)]) -> Vec<Candidate> {
        list.iter()
            .map(|(id, timestamp_ms)| Candidate {
                id: id.to_string(),
                timestamp_ms: *timestamp_ms,
                schedule: "nightly".into(),
                size: 0,
                tags: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn keeps_the_newest_of_each_recent_day() {
        let list = candidates(&[
            ("8th-early", NOW - 2 * MS_PER_DAY - 10 * HOUR),
            ("8th-late", NOW - 2 * MS_PER_DAY + 10 * HOUR),
            ("9th", NOW - MS_PER_DAY),
            ("10th-early", NOW - 11 * HOUR),
            ("10th-late", NOW),
        ]);
        assert_eq!(expired(&list, 3, NOW), ["8th-early", "10th-early"]);
        assert_eq!(
            expired(&list, 2, NOW),
            ["8th-early", "8th-late", "10th-early"]
        );
        assert_eq!(
            expired(&list, 1, NOW),
            ["8th-early", "8th-late", "9th", "10th-early"]
        );
    }

    #[test]
    fn never_expires_the_newest_even_when_old() {
        let list = candidates(&[
            ("old", NOW - 30 * MS_PER_DAY),
            ("older", NOW - 40 * MS_PER_DAY),
        ]);
        assert_eq!(expired(&list, 7, NOW), ["older"]);
        assert_eq!(expired(&[], 7, NOW), Vec::<String>::new());
    }

    #[test]
    fn days_are_utc_days_and_ties_go_to_the_later() {
        let midnight = NOW - 12 * HOUR;
        let list = candidates(&[("a", midnight - 1), ("b", midnight), ("c", midnight)]);
        assert_eq!(expired(&list, 1, NOW), ["a", "b"]);
        assert_eq!(expired(&list, 2, NOW), ["b"]);
        assert_eq!(expired(&list, u64::MAX, NOW), ["b"]);
    }
}
