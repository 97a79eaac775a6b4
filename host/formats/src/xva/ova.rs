//! `ova.xml`, the metadata entry of an XVA: the exporting xapi's version and the exported API
//! objects (VM, VBDs, VDIs, SRs, …), plus the list of disks whose data follows in the archive.
//!
//! Object records stay [`Value`] trees so that fields unknown to this crate survive a round trip;
//! only what the reader and writer need (the version and each VDI's size) is decoded into Rust
//! types.

use std::collections::{BTreeSet, HashSet};
use std::io::{self, Write};

use super::error::XvaError;
use crate::xmlrpc::Value;

/// Name of the metadata entry, always the first of the archive.
pub const OVA_XML: &str = "ova.xml";

/// Largest `ova.xml` accepted. Real ones are kilobytes; metadata exports of VMs with many
/// snapshots reach a few megabytes.
pub const MAX_OVA_XML_SIZE: u64 = 64 * 1024 * 1024;

/// The decoded `ova.xml`.
#[derive(Debug, Clone, PartialEq)]
pub struct OvaXml {
    /// The exporting xapi's version.
    pub version: ExportVersion,
    /// The exported API objects, in document order.
    pub objects: Vec<OvaObject>,
}

/// The `version` struct of `ova.xml`: who exported the archive and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportVersion {
    pub hostname: String,
    pub date: String,
    pub product_version: String,
    pub product_brand: String,
    pub build_number: String,
    /// xapi's own version; importers refuse archives from a newer xapi than themselves.
    pub xapi_major: u64,
    pub xapi_minor: u64,
    /// Export format version; above 0, every chunk is followed by a checksum entry.
    pub export_vsn: u64,
}

/// One exported API object.
#[derive(Debug, Clone, PartialEq)]
pub struct OvaObject {
    /// The API class: `VM`, `VBD`, `VDI`, `SR`, `VIF`, `network`, …
    pub class: String,
    /// The object's archive-local reference, `Ref:<n>`; other records refer to it by this id.
    pub id: String,
    /// The object's API record (a struct).
    pub snapshot: Value,
}

/// A disk whose data follows `ova.xml` as chunk entries named `<id>/<chunk number>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XvaDisk {
    /// The VDI's archive-local reference, `Ref:<n>`, which prefixes its chunk entries.
    pub id: String,
    /// Size of the disk in bytes; its chunks cover exactly this much.
    pub virtual_size: u64,
    /// The VDI's `name_label`, empty if the record has none.
    pub name_label: String,
}

impl OvaXml {
    /// Decodes the content of an `ova.xml` entry.
    pub fn parse(xml: &[u8]) -> Result<OvaXml, XvaError> {
        let value = Value::parse_xml(xml).map_err(|source| XvaError::MalformedXml {
            entry: OVA_XML.to_owned(),
            source,
        })?;
        OvaXml::from_value(&value)
    }

    /// Writes the `ova.xml` document the way xapi does (compact, no XML declaration).
    pub fn write_xml<W: Write>(&self, out: W) -> io::Result<()> {
        self.to_value().write_xml(out)
    }

    /// Decodes the root value of `ova.xml`.
    pub fn from_value(root: &Value) -> Result<OvaXml, XvaError> {
        let version = root
            .get("version")
            .ok_or_else(|| invalid("version", "missing"))?;
        let objects = root
            .get("objects")
            .ok_or_else(|| invalid("objects", "missing"))?
            .as_array()
            .ok_or_else(|| invalid("objects", "not an array"))?;
        Ok(OvaXml {
            version: ExportVersion::from_value(version)?,
            objects: objects
                .iter()
                .enumerate()
                .map(|(index, object)| OvaObject::from_value(index, object))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The root value of `ova.xml`.
    pub fn to_value(&self) -> Value {
        Value::record([
            ("version", self.version.to_value()),
            (
                "objects",
                Value::Array(self.objects.iter().map(OvaObject::to_value).collect()),
            ),
        ])
    }

    /// The disks whose data the archive carries, in archive order (xapi streams them in the
    /// lexicographic order of their ids).
    ///
    /// Those are the VDI objects except CD images: VDIs in an SR whose `content_type` is `iso`
    /// and VDIs that a VBD of type `CD` points at are exported as metadata only.
    pub fn disks(&self) -> Result<Vec<XvaDisk>, XvaError> {
        let iso_srs: HashSet<&str> = self
            .objects_of("SR")
            .filter(|(_, sr)| field_str(&sr.snapshot, "content_type") == Some("iso"))
            .map(|(_, sr)| sr.id.as_str())
            .collect();
        let cd_vdis: HashSet<&str> = self
            .objects_of("VBD")
            .filter(|(_, vbd)| field_str(&vbd.snapshot, "type") == Some("CD"))
            .filter_map(|(_, vbd)| field_str(&vbd.snapshot, "VDI"))
            .collect();
        let mut disks = Vec::new();
        let mut ids = BTreeSet::new();
        for (index, vdi) in self.objects_of("VDI") {
            let sr = field_str(&vdi.snapshot, "SR").unwrap_or_default();
            if iso_srs.contains(sr) || cd_vdis.contains(vdi.id.as_str()) {
                continue;
            }
            let field = format!("objects[{index}].snapshot.virtual_size");
            let virtual_size = vdi
                .snapshot
                .get("virtual_size")
                .ok_or_else(|| invalid(&field, "missing"))?
                .as_u64()
                .ok_or_else(|| invalid(&field, "not a non-negative integer"))?;
            if !ids.insert(vdi.id.as_str()) {
                return Err(invalid(
                    &format!("objects[{index}].id"),
                    format!("two VDIs have the id {:?}", vdi.id),
                ));
            }
            disks.push(XvaDisk {
                id: vdi.id.clone(),
                virtual_size,
                name_label: field_str(&vdi.snapshot, "name_label")
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        disks.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(disks)
    }

    /// The objects of `class` with their index in [`OvaXml::objects`].
    fn objects_of<'a>(&'a self, class: &'a str) -> impl Iterator<Item = (usize, &'a OvaObject)> {
        self.objects
            .iter()
            .enumerate()
            .filter(move |(_, object)| object.class == class)
    }
}

impl ExportVersion {
    /// Decodes the `version` struct. The descriptive strings default to empty when absent;
    /// `export_vsn` defaults to 0 (no inline checksums) like exports that predate it.
    pub fn from_value(version: &Value) -> Result<ExportVersion, XvaError> {
        if version.as_struct().is_none() {
            return Err(invalid("version", "not a struct"));
        }
        let text = |name: &str| -> Result<String, XvaError> {
            match version.get(name) {
                None => Ok(String::new()),
                Some(value) => value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(&format!("version.{name}"), "not a string")),
            }
        };
        let number = |name: &str, default: Option<u64>| -> Result<u64, XvaError> {
            let field = format!("version.{name}");
            match (version.get(name), default) {
                (None, Some(default)) => Ok(default),
                (None, None) => Err(invalid(&field, "missing")),
                (Some(value), _) => value
                    .as_u64()
                    .ok_or_else(|| invalid(&field, "not a non-negative integer")),
            }
        };
        Ok(ExportVersion {
            hostname: text("hostname")?,
            date: text("date")?,
            product_version: text("product_version")?,
            product_brand: text("product_brand")?,
            build_number: text("build_number")?,
            xapi_major: number("xapi_major", None)?,
            xapi_minor: number("xapi_minor", None)?,
            export_vsn: number("export_vsn", Some(0))?,
        })
    }

    /// The `version` struct, ints encoded as xapi does.
    pub fn to_value(&self) -> Value {
        let int =
            |n: u64| i64::try_from(n).map_or_else(|_| Value::string(n.to_string()), Value::Int);
        Value::record([
            ("hostname", Value::string(&self.hostname)),
            ("date", Value::string(&self.date)),
            ("product_version", Value::string(&self.product_version)),
            ("product_brand", Value::string(&self.product_brand)),
            ("build_number", Value::string(&self.build_number)),
            ("xapi_major", int(self.xapi_major)),
            ("xapi_minor", int(self.xapi_minor)),
            ("export_vsn", int(self.export_vsn)),
        ])
    }
}

impl OvaObject {
    /// Decodes the object at `index` of the `objects` array.
    fn from_value(index: usize, object: &Value) -> Result<OvaObject, XvaError> {
        let text = |name: &str| -> Result<String, XvaError> {
            let field = format!("objects[{index}].{name}");
            object
                .get(name)
                .ok_or_else(|| invalid(&field, "missing"))?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(&field, "not a string"))
        };
        let snapshot_field = format!("objects[{index}].snapshot");
        let snapshot = object
            .get("snapshot")
            .ok_or_else(|| invalid(&snapshot_field, "missing"))?;
        if snapshot.as_struct().is_none() {
            return Err(invalid(&snapshot_field, "not a struct"));
        }
        Ok(OvaObject {
            class: text("class")?,
            id: text("id")?,
            snapshot: snapshot.clone(),
        })
    }

    fn to_value(&self) -> Value {
        Value::record([
            ("class", Value::string(&self.class)),
            ("id", Value::string(&self.id)),
            ("snapshot", self.snapshot.clone()),
        ])
    }
}

/// A string field of a record.
fn field_str<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record.get(name)?.as_str()
}

fn invalid(field: &str, problem: impl Into<String>) -> XvaError {
    XvaError::InvalidOvaXml {
        entry: OVA_XML.to_owned(),
        field: field.to_owned(),
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(class: &str, id: &str, fields: Vec<(&str, Value)>) -> OvaObject {
        OvaObject {
            class: class.into(),
            id: id.into(),
            snapshot: Value::record(fields),
        }
    }

    fn ova(objects: Vec<OvaObject>) -> OvaXml {
        OvaXml {
            version: ExportVersion {
                hostname: "h".into(),
                date: "d".into(),
                product_version: "8.3.0".into(),
                product_brand: "XCP-ng".into(),
                build_number: "b".into(),
                xapi_major: 25,
                xapi_minor: 33,
                export_vsn: 2,
            },
            objects,
        }
    }

    #[test]
    fn round_trips_through_xml() {
        let original = ova(vec![object(
            "VDI",
            "Ref:1",
            vec![("virtual_size", Value::string("1048576"))],
        )]);
        let mut xml = Vec::new();
        original
            .write_xml(&mut xml)
            .expect("writing to a Vec cannot fail");
        assert_eq!(OvaXml::parse(&xml).expect("own output"), original);
    }

    #[test]
    fn disks_are_sorted_by_id_and_skip_cd_images() {
        let xml = ova(vec![
            object("SR", "Ref:1", vec![("content_type", Value::string("user"))]),
            object("SR", "Ref:2", vec![("content_type", Value::string("iso"))]),
            object(
                "VDI",
                "Ref:9",
                vec![
                    ("SR", Value::string("Ref:1")),
                    ("virtual_size", Value::Int(5)),
                    ("name_label", Value::string("nine")),
                ],
            ),
            object(
                "VDI",
                "Ref:10",
                vec![
                    ("SR", Value::string("Ref:1")),
                    ("virtual_size", Value::string("7")),
                ],
            ),
            object(
                "VDI",
                "Ref:11",
                vec![
                    ("SR", Value::string("Ref:2")),
                    ("virtual_size", Value::Int(3)),
                ],
            ),
            object(
                "VDI",
                "Ref:12",
                vec![
                    ("SR", Value::string("Ref:1")),
                    ("virtual_size", Value::Int(3)),
                ],
            ),
            object(
                "VBD",
                "Ref:13",
                vec![
                    ("type", Value::string("CD")),
                    ("VDI", Value::string("Ref:12")),
                ],
            ),
        ]);
        let disks = xml.disks().expect("valid VDIs");
        assert_eq!(
            disks,
            vec![
                XvaDisk {
                    id: "Ref:10".into(),
                    virtual_size: 7,
                    name_label: String::new()
                },
                XvaDisk {
                    id: "Ref:9".into(),
                    virtual_size: 5,
                    name_label: "nine".into()
                },
            ]
        );
    }

    #[test]
    fn vdi_without_a_size_is_an_error_naming_the_field() {
        let xml = ova(vec![object("VDI", "Ref:0", vec![])]);
        match xml.disks() {
            Err(XvaError::InvalidOvaXml { field, .. }) => {
                assert_eq!(field, "objects[0].snapshot.virtual_size")
            }
            other => panic!("expected InvalidOvaXml, got {other:?}"),
        }
        let xml = ova(vec![object(
            "VDI",
            "Ref:0",
            vec![("virtual_size", Value::string("-1"))],
        )]);
        assert!(matches!(xml.disks(), Err(XvaError::InvalidOvaXml { .. })));
    }

    #[test]
    fn structural_errors_name_the_field() {
        let field_of = |value: &Value| match OvaXml::from_value(value) {
            Err(XvaError::InvalidOvaXml { field, .. }) => field,
            other => panic!("expected InvalidOvaXml, got {other:?}"),
        };
        let version = ova(Vec::new()).version.to_value();
        assert_eq!(field_of(&Value::string("x")), "version");
        assert_eq!(
            field_of(&Value::record([("version", version.clone())])),
            "objects"
        );
        assert_eq!(
            field_of(&Value::record([
                ("version", Value::record([("xapi_major", Value::Int(1))])),
                ("objects", Value::Array(Vec::new())),
            ])),
            "version.xapi_minor"
        );
        assert_eq!(
            field_of(&Value::record([
                ("version", version),
                (
                    "objects",
                    Value::Array(vec![Value::record([
                        ("class", Value::string("VM")),
                        ("id", Value::Int(3)),
                        ("snapshot", Value::Struct(Vec::new())),
                    ])]),
                ),
            ])),
            "objects[0].id"
        );
    }
}
