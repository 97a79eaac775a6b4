//! XAPI's string maps (`other_config`, `blocked_operations`, …), which travel as lists of
//! pairs.

/// The value of `key` in `map`, if the map holds it.
pub fn get<'a>(map: &'a [(String, String)], key: &str) -> Option<&'a str> {
    map.iter()
        .find(|(candidate, _)| candidate == key)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_key() {
        let map = vec![
            ("xo:backup:job".to_string(), "job-1".to_string()),
            ("xo:backup:schedule".to_string(), "daily".to_string()),
        ];
        assert_eq!(get(&map, "xo:backup:schedule"), Some("daily"));
        assert_eq!(get(&map, "xo:backup:vm"), None);
    }
}
