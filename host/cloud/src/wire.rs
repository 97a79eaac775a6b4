//! Reading the services' JSON where it is loose: `null` for empty values, Cinder's `bootable`
//! as the string `"true"`, Nova's `swap` as `""`, timestamps with or without a zone, and
//! status strings read as enums that keep values they do not know.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A value that may be `null`, read as its default.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string map whose values may come as numbers or booleans (image metadata written by
/// other tools), read as their JSON text; `null` values and a `null` map are left out.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let map = Option::<BTreeMap<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .filter_map(|(key, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((key, text)),
            other => Some((key, other.to_string())),
        })
        .collect())
}

/// A flag sent as a boolean or as the string `"true"`/`"false"` (Cinder's `bootable`).
pub(crate) fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Option::<Flag>::deserialize(deserializer)? {
        None => Ok(false),
        Some(Flag::Bool(value)) => Ok(value),
        Some(Flag::Text(text)) => parse_flag(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not true or false"))),
    }
}

fn parse_flag(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A count sent as a number, or as `""` for none (Nova's flavor `swap` before 2.75).
pub(crate) fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(u64),
        Text(String),
    }
    match Option::<Count>::deserialize(deserializer)? {
        None => Ok(0),
        Some(Count::Number(value)) => Ok(value),
        Some(Count::Text(text)) if text.trim().is_empty() => Ok(0),
        Some(Count::Text(text)) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a count"))),
    }
}

/// An optional timestamp (see [`parse_timestamp`]).
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => parse_timestamp(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a timestamp"))),
    }
}

/// An ISO 8601 timestamp as the services write them: Keystone and Nova with a zone
/// (`2024-05-01T10:00:00.000000Z`), Cinder without one (`2024-05-01T10:00:00.000000`), which
/// means UTC.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
        return Some(zoned.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// An enum of the status strings a service documents, with `Other` for the rest: a newer
/// service may add statuses, and reading one must not fail a whole answer.
macro_rules! status_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// A status this client does not know.
            Other(String),
        }

        impl $name {
            /// The status as the service writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok($name::from(text.as_ref()))
            }
        }
    };
}

pub(crate) use status_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Sample {
        #[serde(default, deserialize_with = "flag")]
        bootable: bool,
        #[serde(default, deserialize_with = "count")]
        swap: u64,
        #[serde(default, deserialize_with = "nullable")]
        name: String,
        #[serde(default, deserialize_with = "timestamp")]
        at: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "string_map")]
        map: BTreeMap<String, String>,
    }

    fn sample(json: &str) -> Sample {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn bootable_as_string_or_bool() {
        assert!(sample(r#"{"bootable": "true"}"#).bootable);
        assert!(!sample(r#"{"bootable": "false"}"#).bootable);
        assert!(sample(r#"{"bootable": "True"}"#).bootable);
        assert!(sample(r#"{"bootable": true}"#).bootable);
        assert!(!sample(r#"{"bootable": false}"#).bootable);
        assert!(!sample(r#"{"bootable": null}"#).bootable);
        assert!(!sample("{}").bootable);
        assert!(serde_json::from_str::<Sample>(r#"{"bootable": "yes"}"#).is_err());
    }

    #[test]
    fn swap_empty_string_is_zero() {
        assert_eq!(sample(r#"{"swap": ""}"#).swap, 0);
        assert_eq!(sample(r#"{"swap": 512}"#).swap, 512);
        assert_eq!(sample(r#"{"swap": "1024"}"#).swap, 1024);
        assert_eq!(sample("{}").swap, 0);
        assert!(serde_json::from_str::<Sample>(r#"{"swap": "lots"}"#).is_err());
    }

    #[test]
    fn string_maps_take_scalars() {
        let parsed = sample(r#"{"map": {"a": "x", "min_ram": 512, "hw": true, "gone": null}}"#);
        let expected = [("a", "x"), ("hw", "true"), ("min_ram", "512")];
        let expected: BTreeMap<String, String> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(parsed.map, expected);
        assert!(sample(r#"{"map": null}"#).map.is_empty());
    }

    #[test]
    fn null_is_default() {
        assert_eq!(sample(r#"{"name": null}"#).name, "");
        assert_eq!(sample(r#"{"name": "n"}"#).name, "n");
    }

    #[test]
    fn timestamps_with_and_without_zone() {
        let expected = "2024-05-01T10:00:00.250Z";
        for text in [
            "2024-05-01T10:00:00.250000Z",
            "2024-05-01T10:00:00.250000",
            "2024-05-01T12:00:00.25+02:00",
            "2024-05-01 10:00:00.25",
        ] {
            let parsed = parse_timestamp(text).unwrap();
            assert_eq!(parsed, parse_timestamp(expected).unwrap(), "{text}");
        }
        assert_eq!(
            parse_timestamp("2012-08-20T21:11:09Z")
                .unwrap()
                .to_rfc3339(),
            "2012-08-20T21:11:09+00:00"
        );
        assert!(parse_timestamp("yesterday").is_none());
        assert_eq!(sample(r#"{"at": null}"#).at, None);
        assert!(serde_json::from_str::<Sample>(r#"{"at": "noon"}"#).is_err());
    }

    status_enum! {
        /// A test enum.
        pub enum Colour {
            Red = "red",
            DeepBlue = "deep-blue",
        }
    }

    #[test]
    fn status_enums_keep_unknown_values() {
        let parsed: Vec<Colour> = serde_json::from_str(r#"["red", "deep-blue", "mauve"]"#).unwrap();
        assert_eq!(
            parsed,
            [Colour::Red, Colour::DeepBlue, Colour::Other("mauve".into())]
        );
        assert_eq!(Colour::DeepBlue.to_string(), "deep-blue");
        assert_eq!(Colour::from("mauve").as_str(), "mauve");
    }
}
