//! A step as written: what it runs, what it is granted, which VMs it runs over, and how.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::{Params, Retry};
use crate::location::Located;

/// One step: a component run once, or once per VM selected by `for_each`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
    /// The step's id, unique in the pipeline (`finally` included): a lowercase letter, then
    /// lowercase letters, digits, `_` or `-`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub id: Located<String>,
    /// A human-readable name for logs.
    pub name: Option<String>,
    /// The component to run: a built-in's name (such as `dr-copy`) or an entry of
    /// `components`.
    pub uses: Located<String>,
    /// The capability grant: the connections this step's component may use. It gets nothing
    /// else.
    #[serde(default)]
    pub allow: Allow,
    /// Run the step once per VM selected here.
    pub for_each: Option<ForEach>,
    /// How many VMs of `for_each` to work on at once. Default: `defaults.max_parallel`, else 2.
    #[schemars(range(min = 1))]
    pub max_parallel: Option<Located<u32>>,
    /// How to retry a failed run. Unset fields come from `defaults.retry`.
    pub retry: Option<Retry>,
    /// How long one run (one VM of a `for_each`) may take: `90s`, `30m`, `6h`, `7d`. Default:
    /// `defaults.timeout`, else no limit.
    pub timeout: Option<Located<String>>,
    /// Whether the pipeline goes on when this step fails. Default: false.
    #[serde(default)]
    pub continue_on_error: bool,
    /// The retention-policy component that prunes what this step keeps: a built-in's name or
    /// an entry of `components`. Default: the built-in `keep-last`.
    pub retention: Option<Located<String>>,
    /// Parameters for the component. String values may contain `${{ item.uuid }}`,
    /// `${{ item.name_label }}`, `${{ item.pool }}` (in a `for_each` step), `${{ job.id }}`,
    /// `${{ job.name }}`, `${{ schedule.id }}` and `${{ run.id }}`.
    #[serde(default)]
    pub with: Params,
}

/// Connections granted to a step, by kind.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Allow {
    /// Pools (connections of kind `xapi`).
    #[serde(default)]
    pub xapi: Vec<Located<String>>,
    /// Remotes (connections of kind `remote`).
    #[serde(default)]
    pub remotes: Vec<Located<String>>,
    /// The older name of `remotes`; still accepted.
    #[serde(default)]
    pub storage: Vec<Located<String>>,
    /// Projects of OpenStack clouds (connections of kind `openstack`).
    #[serde(default)]
    pub clouds: Vec<Located<String>>,
}

/// What a step runs over.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForEach {
    /// The VMs to run the step for.
    pub vms: Located<VmSelector>,
}

/// Which VMs of a pool: exactly one of `uuids`, `tags` or `pattern`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VmSelector {
    /// The pool: an xapi connection, which the step's `allow.xapi` must also list.
    pub pool: Located<String>,
    /// These VMs, by UUID.
    pub uuids: Option<Vec<Located<String>>>,
    /// The VMs that carry all of these tags.
    pub tags: Option<Vec<Located<String>>>,
    /// A Xen Orchestra VM pattern: `{ id: UUID }` or `{ id: { __or: [UUID, …] } }`.
    pub pattern: Option<VmPattern>,
}

/// A Xen Orchestra VM pattern (the `vms` of a backup job).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VmPattern {
    /// One VM's UUID, or `{ __or: [UUID, …] }`.
    pub id: Located<IdPattern>,
}

/// Xen Orchestra's id pattern: one id, or `{ __or: [ids] }`.
#[derive(Debug)]
pub(crate) enum IdPattern {
    One(String),
    AnyOf(Vec<Located<String>>),
}

/// A hand-written visitor: `#[serde(untagged)]` would lose the places of the `__or` entries and
/// answer every mistake with "data did not match any variant".
impl<'de> Deserialize<'de> for IdPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdPatternVisitor;

        impl<'de> Visitor<'de> for IdPatternVisitor {
            type Value = IdPattern;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a VM UUID or `{ __or: [UUID, …] }`")
            }

            fn visit_str<E: de::Error>(self, id: &str) -> Result<IdPattern, E> {
                Ok(IdPattern::One(id.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdPattern, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::missing_field("__or"));
                };
                if key != "__or" {
                    return Err(de::Error::unknown_field(&key, &["__or"]));
                }
                let ids = map.next_value()?;
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::unknown_field(&extra, &["__or"]));
                }
                Ok(IdPattern::AnyOf(ids))
            }
        }

        deserializer.deserialize_any(IdPatternVisitor)
    }
}

impl JsonSchema for IdPattern {
    fn schema_name() -> Cow<'static, str> {
        "IdPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "One VM's UUID, or `{ __or: [UUID, …] }` for any of several.",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": { "__or": { "type": "array", "items": { "type": "string" } } },
                    "required": ["__or"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
