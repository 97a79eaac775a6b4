//! Which backups expire, with the semantics of Xen Orchestra's `getOldEntries`: walking from
//! the newest backup to the oldest, keep the newest `count`, and for each period the oldest
//! backup of each of its `retention` newest buckets that hold a backup (an empty bucket does
//! not count, so a gap extends the retention).

use std::collections::BTreeMap;

use crate::buckets::bucket;
use crate::settings::Policy;

/// A backup as the policy sees it.
pub struct Entry<'a> {
    pub id: &'a str,
    pub timestamp_ms: u64,
}

/// The ids that expire, in the order given. Newest means the latest timestamp; between equal
/// timestamps, the one given later.
pub fn expired(entries: &[Entry<'_>], policy: &Policy) -> Vec<String> {
    let mut newest_first: Vec<usize> = (0..entries.len()).collect();
    newest_first.sort_by_key(|&index| std::cmp::Reverse((entries[index].timestamp_ms, index)));
    let mut keep = vec![false; entries.len()];
    for &index in newest_first.iter().take(policy.count) {
        keep[index] = true;
    }
    for rule in &policy.rules {
        let mut remaining = rule.retention;
        let mut current: Option<String> = None;
        // The bucket's entry is overwritten while walking back: the oldest one stays.
        let mut kept_per_bucket: BTreeMap<String, usize> = BTreeMap::new();
        for &index in &newest_first {
            let ms = i64::try_from(entries[index].timestamp_ms).unwrap_or(i64::MAX);
            let Some(name) = bucket(rule.period, ms, policy.zone, rule.shift) else {
                continue;
            };
            if current.as_ref() != Some(&name) {
                if remaining == 0 {
                    continue;
                }
                remaining -= 1;
                current = Some(name.clone());
            }
            kept_per_bucket.insert(name, index);
        }
        for index in kept_per_bucket.into_values() {
            keep[index] = true;
        }
    }
    entries
        .iter()
        .zip(keep)
        .filter(|(_, keep)| !keep)
        .map(|(entry, _)| entry.id.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::Period;
    use crate::settings::Rule;

    const DAY: u64 = 86_400_000;
    /// 2024-01-01 12:00 UTC, a Monday.
    const START: u64 = 1_704_110_400_000;

    fn policy(count: usize, rules: &[(Period, usize)]) -> Policy {
        Policy {
            count,
            rules: rules
                .iter()
                .map(|&(period, retention)| Rule {
                    period,
                    retention,
                    shift: 0,
                })
                .collect(),
            zone: chrono_tz::UTC,
        }
    }

    fn daily_backups(days: u64) -> Vec<(String, u64)> {
        (0..days)
            .map(|day| (format!("d{day}"), START + day * DAY))
            .collect()
    }

    fn run(backups: &[(String, u64)], policy: &Policy) -> Vec<String> {
        let entries: Vec<Entry> = backups
            .iter()
            .map(|(id, ms)| Entry {
                id,
                timestamp_ms: *ms,
            })
            .collect();
        expired(&entries, policy)
    }

    #[test]
    fn without_long_term_retention_the_newest_count_stays() {
        let backups = daily_backups(5);
        assert_eq!(run(&backups, &policy(2, &[])), ["d0", "d1", "d2"]);
    }

    #[test]
    fn each_bucket_keeps_its_oldest_backup() {
        // Two backups a day for three days: daily 2 keeps the first of each of the last two
        // days (b2, b4), the count the newest (b5).
        let backups: Vec<(String, u64)> = (0..6)
            .map(|n| (format!("b{n}"), START + (n / 2) * DAY + (n % 2) * 3_600_000))
            .collect();
        assert_eq!(
            run(&backups, &policy(1, &[(Period::Daily, 2)])),
            ["b0", "b1", "b3"]
        );
    }

    #[test]
    fn empty_buckets_extend_the_retention() {
        // Backups on days 0, 1 and 5: daily 3 keeps all three, although day 5 minus 3 days
        // would leave out days 0 and 1.
        let backups = vec![
            ("a".to_owned(), START),
            ("b".to_owned(), START + DAY),
            ("c".to_owned(), START + 5 * DAY),
        ];
        assert!(run(&backups, &policy(1, &[(Period::Daily, 3)])).is_empty());
        assert_eq!(run(&backups, &policy(1, &[(Period::Daily, 2)])), ["a"]);
    }

    #[test]
    fn periods_add_up() {
        // Five weeks of daily backups (Monday 1 January to Sunday 4 February 2024): daily 3
        // keeps the last three days; weekly 2 the oldest of the last two weeks (Sunday 28
        // January and Sunday 4 February, the first of its week); monthly 2 the first of
        // February and of January.
        let backups = daily_backups(35);
        let kept: Vec<String> = {
            let expired = run(
                &backups,
                &policy(
                    1,
                    &[
                        (Period::Daily, 3),
                        (Period::Weekly, 2),
                        (Period::Monthly, 2),
                    ],
                ),
            );
            backups
                .iter()
                .map(|(id, _)| id.clone())
                .filter(|id| !expired.contains(id))
                .collect()
        };
        assert_eq!(kept, ["d0", "d27", "d31", "d32", "d33", "d34"]);
    }
}
