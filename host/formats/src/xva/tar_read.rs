//! A streaming reader of the tar subset XVA archives use: ustar/v7 regular-file entries and the
//! two-zero-block end marker.
//!
//! The `tar` crate's reader is not used because it reads GNU long-name and pax headers into
//! memory without a size limit, and because the XVA reader needs every failure as a typed error
//! naming the entry. Here no allocation depends on a header field: callers pass the buffer an
//! entry must fit in, and entries that are not regular files are refused.

use std::io::{self, Read};

use super::error::XvaError;

/// Size of a tar block (headers, padding unit, end marker).
const BLOCK: usize = 512;

/// A regular-file entry whose header was just read; its data comes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// The entry's path (ustar prefix joined, a leading `./` dropped).
    pub name: String,
    /// The size of the entry's data in bytes.
    pub size: u64,
}

/// Reads entries one after another from a stream.
pub struct TarReader<R: Read> {
    input: R,
    /// Data and padding bytes of the current entry that have not been consumed yet.
    unread: u64,
    /// Name of the last entry whose header was read, for errors about what follows it.
    last_entry: Option<String>,
}

impl<R: Read> TarReader<R> {
    pub fn new(input: R) -> Self {
        TarReader {
            input,
            unread: 0,
            last_entry: None,
        }
    }

    /// Reads the next entry's header, skipping whatever is left of the current entry; `None` at
    /// the end-of-archive marker. A stream that ends without that marker is
    /// [`XvaError::Truncated`].
    pub fn next_entry(&mut self) -> Result<Option<TarEntry>, XvaError> {
        self.skip_unread()?;
        let mut header = [0u8; BLOCK];
        self.read_block(&mut header)?;
        if header.iter().all(|&b| b == 0) {
            self.read_block(&mut header)?;
            if header.iter().any(|&b| b != 0) {
                return Err(self.header_error(
                    "end-of-archive marker",
                    "a zero block is followed by a non-zero block",
                ));
            }
            return Ok(None);
        }
        let entry = self.parse_header(&header)?;
        let padding = (BLOCK as u64 - entry.size % BLOCK as u64) % BLOCK as u64;
        self.unread = entry.size.checked_add(padding).ok_or_else(|| {
            self.header_error("size", format!("{} does not fit in a stream", entry.size))
        })?;
        self.last_entry = Some(entry.name.clone());
        Ok(Some(entry))
    }

    /// Reads the data of `entry` (the entry just returned by [`TarReader::next_entry`]) into the
    /// start of `buf`, which bounds the size such an entry may have.
    pub fn read_data<'b>(
        &mut self,
        entry: &TarEntry,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], XvaError> {
        let limit = buf.len() as u64;
        let data = usize::try_from(entry.size)
            .ok()
            .and_then(|size| buf.get_mut(..size))
            .ok_or_else(|| XvaError::EntryTooLarge {
                entry: entry.name.clone(),
                size: entry.size,
                limit,
            })?;
        read_exact(&mut self.input, data, &entry.name)?;
        self.unread = self.unread.saturating_sub(entry.size);
        Ok(data)
    }

    /// Reads the data of `entry` into a vector, refusing entries larger than `limit`. The vector
    /// grows as data arrives, so a lying header cannot make it allocate.
    pub fn read_data_to_vec(&mut self, entry: &TarEntry, limit: u64) -> Result<Vec<u8>, XvaError> {
        if entry.size > limit {
            return Err(XvaError::EntryTooLarge {
                entry: entry.name.clone(),
                size: entry.size,
                limit,
            });
        }
        let mut data = Vec::new();
        let read = (&mut self.input)
            .take(entry.size)
            .read_to_end(&mut data)
            .map_err(|source| read_error(&entry.name, source))?;
        if read as u64 != entry.size {
            return Err(truncated(&entry.name, entry.size, read as u64));
        }
        self.unread = self.unread.saturating_sub(entry.size);
        Ok(data)
    }

    fn skip_unread(&mut self) -> Result<(), XvaError> {
        if self.unread == 0 {
            return Ok(());
        }
        let entry = self.last_entry.clone().unwrap_or_default();
        let skipped = io::copy(&mut (&mut self.input).take(self.unread), &mut io::sink())
            .map_err(|source| read_error(&entry, source))?;
        if skipped != self.unread {
            return Err(truncated(&entry, self.unread, skipped));
        }
        self.unread = 0;
        Ok(())
    }

    fn read_block(&mut self, block: &mut [u8; BLOCK]) -> Result<(), XvaError> {
        let what = self.next_header_name();
        match read_exact(&mut self.input, block, &what) {
            Err(XvaError::Truncated { entry, .. }) => Err(XvaError::Truncated {
                entry,
                detail: "the archive ends without its end-of-archive marker".into(),
            }),
            other => other,
        }
    }

    fn parse_header(&self, header: &[u8; BLOCK]) -> Result<TarEntry, XvaError> {
        let stored = parse_octal(&header[148..156])
            .ok_or_else(|| self.header_error("chksum", "is not an octal number"))?;
        let computed: u64 = header[..148]
            .iter()
            .chain(&[b' '; 8])
            .chain(&header[156..])
            .map(|&b| u64::from(b))
            .sum();
        if stored != computed {
            return Err(self.header_error(
                "chksum",
                format!("is {stored} but the header sums to {computed}"),
            ));
        }
        let name = self.entry_name(header)?;
        let type_flag = header[156];
        if !matches!(type_flag, b'0' | b'\0' | b'7') {
            return Err(XvaError::UnsupportedEntryType {
                entry: name,
                type_flag: char::from(type_flag),
            });
        }
        let size = parse_size(&header[124..136]).ok_or_else(|| XvaError::InvalidTarHeader {
            entry: name.clone(),
            field: "size",
            problem: "is not a number".into(),
        })?;
        Ok(TarEntry { name, size })
    }

    /// The entry's path: `name`, preceded by the ustar `prefix` when there is one.
    fn entry_name(&self, header: &[u8; BLOCK]) -> Result<String, XvaError> {
        let name = until_nul(&header[..100]);
        let is_ustar = &header[257..263] == b"ustar\0";
        let prefix = if is_ustar {
            until_nul(&header[345..500])
        } else {
            &[]
        };
        let mut path = Vec::with_capacity(prefix.len() + 1 + name.len());
        if !prefix.is_empty() {
            path.extend_from_slice(prefix);
            path.push(b'/');
        }
        path.extend_from_slice(name);
        let path =
            String::from_utf8(path).map_err(|_| self.header_error("name", "is not valid UTF-8"))?;
        Ok(match path.strip_prefix("./") {
            Some(stripped) => stripped.to_owned(),
            None => path,
        })
    }

    /// How errors refer to the header about to be read.
    fn next_header_name(&self) -> String {
        match &self.last_entry {
            Some(entry) => format!("tar header after {entry}"),
            None => "first tar header".into(),
        }
    }

    fn header_error(&self, field: &'static str, problem: impl Into<String>) -> XvaError {
        XvaError::InvalidTarHeader {
            entry: self.next_header_name(),
            field,
            problem: problem.into(),
        }
    }
}

/// `read_exact` with the archive's typed errors: an early end is [`XvaError::Truncated`].
fn read_exact(input: &mut impl Read, buf: &mut [u8], entry: &str) -> Result<(), XvaError> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => return Err(truncated(entry, buf.len() as u64, filled as u64)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(truncated(entry, buf.len() as u64, filled as u64));
            }
            Err(source) => return Err(read_error(entry, source)),
        }
    }
    Ok(())
}

fn truncated(entry: &str, needed: u64, got: u64) -> XvaError {
    XvaError::Truncated {
        entry: entry.to_owned(),
        detail: format!("needs {needed} bytes but the archive ends after {got}"),
    }
}

fn read_error(entry: &str, source: io::Error) -> XvaError {
    XvaError::Read {
        entry: entry.to_owned(),
        source,
    }
}

/// The bytes of a NUL-terminated (or full-width) header field.
fn until_nul(field: &[u8]) -> &[u8] {
    field
        .iter()
        .position(|&b| b == 0)
        .map_or(field, |end| &field[..end])
}

/// A numeric header field: octal digits surrounded by spaces or NULs, or GNU's base-256 form
/// (high bit of the first byte set) for sizes of 8 GiB and more.
fn parse_size(field: &[u8]) -> Option<u64> {
    match field.split_first() {
        Some((&first, rest)) if first & 0x80 != 0 => {
            if first != 0x80 {
                return None;
            }
            rest.iter().try_fold(0u64, |value, &byte| {
                value.checked_mul(256)?.checked_add(u64::from(byte))
            })
        }
        _ => parse_octal(field),
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let digits = until_nul(field).trim_ascii();
    digits.iter().try_fold(0u64, |value, &digit| {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        value.checked_mul(8)?.checked_add(u64::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder
                .append_data(&mut header, name, *data)
                .expect("in-memory tar");
        }
        builder.into_inner().expect("in-memory tar")
    }

    #[test]
    fn reads_entries_written_by_the_tar_crate() {
        let long_dir = "d".repeat(120);
        let long_name = format!("{long_dir}/file");
        let bytes = archive(&[("./a", b"hello"), (&long_name, b""), ("b", &[7; 600])]);
        let mut reader = TarReader::new(&bytes[..]);
        let mut buf = [0u8; 1024];

        let a = reader.next_entry().expect("header").expect("entry");
        assert_eq!(
            a,
            TarEntry {
                name: "a".into(),
                size: 5
            }
        );
        assert_eq!(reader.read_data(&a, &mut buf).expect("data"), b"hello");

        let long = reader.next_entry().expect("header").expect("entry");
        assert_eq!(long.name, long_name);

        let b = reader.next_entry().expect("header").expect("entry");
        assert_eq!(
            reader.read_data_to_vec(&b, 600).expect("data"),
            vec![7; 600]
        );
        assert_eq!(reader.next_entry().expect("end marker"), None);
    }

    #[test]
    fn skips_unread_data() {
        let bytes = archive(&[("a", &[1; 700]), ("b", b"x")]);
        let mut reader = TarReader::new(&bytes[..]);
        reader.next_entry().expect("header").expect("entry");
        let b = reader.next_entry().expect("header").expect("entry");
        assert_eq!(b.name, "b");
    }

    #[test]
    fn entry_larger_than_the_buffer_is_refused_before_reading() {
        let bytes = archive(&[("a", &[1; 100])]);
        let mut reader = TarReader::new(&bytes[..]);
        let a = reader.next_entry().expect("header").expect("entry");
        let mut buf = [0u8; 10];
        assert!(matches!(
            reader.read_data(&a, &mut buf),
            Err(XvaError::EntryTooLarge {
                size: 100,
                limit: 10,
                ..
            })
        ));
        assert!(matches!(
            reader.read_data_to_vec(&a, 99),
            Err(XvaError::EntryTooLarge {
                size: 100,
                limit: 99,
                ..
            })
        ));
    }

    #[test]
    fn truncation_and_corruption_are_typed() {
        let bytes = archive(&[("a", &[1; 100])]);
        let without_end = &bytes[..bytes.len() - 1024];
        let mut reader = TarReader::new(without_end);
        reader.next_entry().expect("header").expect("entry");
        assert!(matches!(
            reader.next_entry(),
            Err(XvaError::Truncated { entry, .. }) if entry == "tar header after a"
        ));

        let mut reader = TarReader::new(&bytes[..600]);
        let a = reader.next_entry().expect("header").expect("entry");
        assert!(matches!(
            reader.read_data_to_vec(&a, 100),
            Err(XvaError::Truncated { .. })
        ));

        let mut corrupt = bytes.clone();
        corrupt[0] ^= 1;
        assert!(matches!(
            TarReader::new(&corrupt[..]).next_entry(),
            Err(XvaError::InvalidTarHeader {
                field: "chksum",
                ..
            })
        ));
    }

    #[test]
    fn non_regular_entries_are_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        builder
            .append_data(&mut header, "Ref:0", io::empty())
            .expect("in-memory tar");
        let bytes = builder.into_inner().expect("in-memory tar");
        assert!(matches!(
            TarReader::new(&bytes[..]).next_entry(),
            Err(XvaError::UnsupportedEntryType { type_flag: '5', .. })
        ));
    }

    #[test]
    fn numeric_fields() {
        assert_eq!(parse_size(b"00000001750\0"), Some(1000));
        assert_eq!(parse_size(b"     1750 \0\0"), Some(1000));
        assert_eq!(parse_size(b"\0\0\0\0\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(
            parse_size(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0]),
            Some(2 << 16)
        );
        assert_eq!(parse_size(&[0xff; 12]), None);
        assert_eq!(parse_size(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(parse_size(b"00000001780\0"), None);
        assert_eq!(parse_octal(b"77777777777777777777777"), None);
    }
}
