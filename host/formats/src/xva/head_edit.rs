//! Edits an XVA's `ova.xml` while the archive streams past, so that the objects an import
//! creates carry the edit from their first moment.
//!
//! The first entry is held until it is whole, decoded, edited, and written again with its new
//! size (and the original's modification time); every byte after it passes through untouched.
//! The editor works on a plain tar: a compressed archive must be decompressed before it.
//! Memory is the first entry, at most [`MAX_OVA_XML_SIZE`], whatever the archive's size.

use super::error::XvaError;
use super::ova::{MAX_OVA_XML_SIZE, OVA_XML, OvaXml};
use super::tar_read::TarReader;
use super::tar_write::write_entry;

/// Size of a tar block.
const BLOCK: usize = 512;

/// What to send on after [`OvaXmlEditor::push`].
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Nothing yet: the first entry is not whole.
    Held,
    /// These bytes: the edited first entry and what followed it in the input so far.
    Emit(Vec<u8>),
    /// The input, unchanged: the edit is done.
    Pass,
}

/// Rewrites the first entry of a streamed XVA with an edit of its `ova.xml`.
pub struct OvaXmlEditor<F> {
    held: Vec<u8>,
    /// The edit, until it has been applied.
    edit: Option<F>,
}

impl<F: FnOnce(&mut OvaXml) -> Result<(), XvaError>> OvaXmlEditor<F> {
    pub fn new(edit: F) -> Self {
        OvaXmlEditor {
            held: Vec::new(),
            edit: Some(edit),
        }
    }

    /// Takes the next bytes of the archive.
    pub fn push(&mut self, input: &[u8]) -> Result<Pushed, XvaError> {
        let Some(edit) = self.edit.take() else {
            return Ok(Pushed::Pass);
        };
        self.held.extend_from_slice(input);
        let Some(whole) = self.first_entry_len()? else {
            self.edit = Some(edit);
            return Ok(Pushed::Held);
        };
        let held = std::mem::take(&mut self.held);
        let (entry, rest) = held.split_at(whole);
        let mut ova = OvaXml::parse(&entry[BLOCK..BLOCK + self.size_of(entry)?])?;
        edit(&mut ova)?;
        let mut xml = Vec::new();
        ova.write_xml(&mut xml).map_err(|source| XvaError::Write {
            entry: OVA_XML.into(),
            source,
        })?;
        let mut out = Vec::with_capacity(xml.len() + 2 * BLOCK + rest.len());
        write_entry(&mut out, OVA_XML, &xml, mtime(entry))?;
        out.extend_from_slice(rest);
        Ok(Pushed::Emit(out))
    }

    /// Says whether the archive was edited; call it at the end of the input. An archive that
    /// ended before its first entry was whole is [`XvaError::Truncated`].
    pub fn finish(&self) -> Result<(), XvaError> {
        match self.edit {
            None => Ok(()),
            Some(_) => Err(XvaError::Truncated {
                entry: OVA_XML.into(),
                detail: format!(
                    "the archive ended after {} bytes, before its first entry was whole",
                    self.held.len()
                ),
            }),
        }
    }

    /// The length of the first entry (header, data, padding) once all of it is held.
    fn first_entry_len(&self) -> Result<Option<usize>, XvaError> {
        if self.held.len() < BLOCK {
            return Ok(None);
        }
        let size = self.size_of(&self.held)?;
        let whole = BLOCK + size.next_multiple_of(BLOCK);
        Ok((self.held.len() >= whole).then_some(whole))
    }

    /// The data size of the entry whose header starts `archive`, checked to be `ova.xml` of a
    /// size an `ova.xml` may have.
    fn size_of(&self, archive: &[u8]) -> Result<usize, XvaError> {
        let header = &archive[..BLOCK];
        let empty = || XvaError::Truncated {
            entry: OVA_XML.into(),
            detail: "the archive holds no entries".into(),
        };
        if header.iter().all(|&b| b == 0) {
            return Err(empty());
        }
        let entry = TarReader::new(header).next_entry()?.ok_or_else(empty)?;
        if entry.name != OVA_XML {
            return Err(XvaError::FirstEntryNotOvaXml { entry: entry.name });
        }
        if entry.size > MAX_OVA_XML_SIZE {
            return Err(XvaError::EntryTooLarge {
                entry: entry.name,
                size: entry.size,
                limit: MAX_OVA_XML_SIZE,
            });
        }
        usize::try_from(entry.size).map_err(|_| XvaError::EntryTooLarge {
            entry: entry.name,
            size: entry.size,
            limit: MAX_OVA_XML_SIZE,
        })
    }
}

/// Runs the editor on arbitrary bytes, pushed in pieces of several sizes, with an edit that
/// changes every object: see [`super::fuzz_read`].
pub(super) fn fuzz_edit(data: &[u8]) {
    for piece in [97, 512, 4096] {
        let mut editor = OvaXmlEditor::new(|ova: &mut OvaXml| {
            for object in &mut ova.objects {
                object.snapshot = crate::xmlrpc::Value::record([]);
            }
            Ok(())
        });
        for chunk in data.chunks(piece) {
            if editor.push(chunk).is_err() {
                break;
            }
        }
        let _ = editor.finish();
    }
}

/// The modification time in a tar header (0 when it cannot be read).
fn mtime(header: &[u8]) -> u64 {
    tar::Header::from_byte_slice(&header[..BLOCK])
        .mtime()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmlrpc::Value;
    use crate::xva::tar_write::write_end;
    use crate::xva::{ExportVersion, OvaObject, check_xva};

    fn archive(name: &str) -> Vec<u8> {
        let ova = OvaXml {
            version: ExportVersion {
                hostname: "host".into(),
                date: "2024-11-02".into(),
                product_version: "8.3.0".into(),
                product_brand: "XCP-ng".into(),
                build_number: "release/yangtze".into(),
                xapi_major: 24,
                xapi_minor: 19,
                export_vsn: 2,
            },
            objects: vec![OvaObject {
                class: "VM".into(),
                id: "Ref:0".into(),
                snapshot: Value::record([("name_label", Value::string(name))]),
            }],
        };
        let mut xml = Vec::new();
        ova.write_xml(&mut xml).unwrap();
        let mut bytes = Vec::new();
        write_entry(&mut bytes, OVA_XML, &xml, 1_700_000_000).unwrap();
        write_end(&mut bytes).unwrap();
        bytes
    }

    fn rename(to: &'static str) -> impl FnOnce(&mut OvaXml) -> Result<(), XvaError> {
        move |ova: &mut OvaXml| {
            ova.objects[0].snapshot = Value::record([("name_label", Value::string(to))]);
            Ok(())
        }
    }

    /// Feeds `input` in pieces of `piece` bytes; returns what the editor sent on.
    fn run(input: &[u8], piece: usize, to: &'static str) -> Vec<u8> {
        let mut editor = OvaXmlEditor::new(rename(to));
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            match editor.push(chunk).unwrap() {
                Pushed::Held => {}
                Pushed::Emit(bytes) => out.extend(bytes),
                Pushed::Pass => out.extend_from_slice(chunk),
            }
        }
        editor.finish().unwrap();
        out
    }

    #[test]
    fn the_edit_is_in_the_archive_whatever_the_pieces() {
        let input = archive("web01");
        let expected = archive("web01 - a much longer name than before, so the entry grows");
        for piece in [1, 7, 511, 512, 513, 4096, input.len()] {
            let out = run(
                &input,
                piece,
                "web01 - a much longer name than before, so the entry grows",
            );
            assert_eq!(out, expected, "pieces of {piece} bytes");
        }
        let summary = check_xva(&expected[..]).unwrap();
        assert_eq!(
            summary.ova.objects[0].snapshot.get("name_label"),
            Some(&Value::string(
                "web01 - a much longer name than before, so the entry grows"
            ))
        );
    }

    #[test]
    fn an_archive_cut_before_its_first_entry_is_whole_is_truncated() {
        let input = archive("web01");
        let mut editor = OvaXmlEditor::new(rename("x"));
        assert_eq!(editor.push(&input[..600]).unwrap(), Pushed::Held);
        assert!(matches!(
            editor.finish(),
            Err(XvaError::Truncated { entry, .. }) if entry == OVA_XML
        ));
    }

    #[test]
    fn an_archive_that_does_not_start_with_ova_xml_is_refused() {
        let mut bytes = Vec::new();
        write_entry(&mut bytes, "Ref:1/00000000", &[1; 10], 0).unwrap();
        let mut editor = OvaXmlEditor::new(rename("x"));
        assert!(matches!(
            editor.push(&bytes),
            Err(XvaError::FirstEntryNotOvaXml { entry }) if entry == "Ref:1/00000000"
        ));
        let mut editor = OvaXmlEditor::new(rename("x"));
        assert!(matches!(
            editor.push(&[0; 1024]),
            Err(XvaError::Truncated { .. })
        ));
    }

    #[test]
    fn a_failing_edit_is_the_error() {
        let mut editor = OvaXmlEditor::new(|_: &mut OvaXml| {
            Err(XvaError::InvalidOvaXml {
                entry: OVA_XML.into(),
                field: "objects".into(),
                problem: "no VM".into(),
            })
        });
        assert!(matches!(
            editor.push(&archive("web01")),
            Err(XvaError::InvalidOvaXml { problem, .. }) if problem == "no VM"
        ));
    }
}
