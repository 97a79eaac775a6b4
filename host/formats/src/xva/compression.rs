//! Whole-stream compression of XVA archives: xapi exports plain, gzip- or zstd-compressed tars
//! (`use_compression`), and importers tell them apart by their first bytes.

use std::io::{self, BufReader, BufWriter, Cursor, Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::error::XvaError;

/// How the archive stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (`use_compression=true` or `gzip`).
    Gzip,
    /// zstd (`use_compression=zstd`).
    Zstd,
}

/// Buffer between the tar framing (512-byte headers) and an unbuffered output or input.
const IO_BUFFER: usize = 256 * 1024;

/// gzip's magic bytes.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// zstd's frame magic bytes.
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// The output stream, compressed as asked.
pub enum Encoder<W: Write> {
    Plain(BufWriter<W>),
    Gzip(GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    pub fn new(out: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::Plain(BufWriter::with_capacity(IO_BUFFER, out)),
            Compression::Gzip => Encoder::Gzip(GzEncoder::new(out, flate2::Compression::default())),
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(out, 0)?),
        })
    }

    /// Flushes buffers, writes the compressor's trailer and returns the output.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(out) => out.into_inner().map_err(io::IntoInnerError::into_error),
            Encoder::Gzip(out) => out.finish(),
            Encoder::Zstd(out) => out.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(out) => out.write(buf),
            Encoder::Gzip(out) => out.write(buf),
            Encoder::Zstd(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(out) => out.flush(),
            Encoder::Gzip(out) => out.flush(),
            Encoder::Zstd(out) => out.flush(),
        }
    }
}

/// The archive's tar stream: `input` decompressed when it starts with gzip's or zstd's magic.
pub fn decompressed<'a, R: Read + 'a>(
    mut input: R,
) -> Result<(Box<dyn Read + 'a>, Compression), XvaError> {
    let mut magic = [0u8; 4];
    let mut filled = 0;
    while filled < magic.len() {
        match input.read(&mut magic[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(XvaError::Read {
                    entry: "archive start".into(),
                    source,
                });
            }
        }
    }
    let start = &magic[..filled];
    let compression = if start.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if start.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let stream = Cursor::new(magic).take(filled as u64).chain(input);
    let tar: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(IO_BUFFER, stream)),
        Compression::Gzip => Box::new(GzDecoder::new(stream)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(stream).map_err(
            |source| XvaError::Read {
                entry: "zstd stream".into(),
                source,
            },
        )?),
    };
    Ok((tar, compression))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(compression: Compression, data: &[u8]) -> (Vec<u8>, Compression) {
        let mut encoder = Encoder::new(Vec::new(), compression).expect("encoder");
        encoder.write_all(data).expect("in-memory write");
        let encoded = encoder.finish().expect("in-memory write");
        let (mut reader, detected) = decompressed(&encoded[..]).expect("detection");
        let mut decoded = Vec::new();
        reader.read_to_end(&mut decoded).expect("decoding");
        (decoded, detected)
    }

    #[test]
    fn detects_each_compression() {
        let data = vec![42u8; 100_000];
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert_eq!(round_trip(compression, &data), (data.clone(), compression));
        }
    }

    #[test]
    fn short_input_is_plain() {
        assert_eq!(
            round_trip(Compression::None, b"\x1f"),
            (b"\x1f".to_vec(), Compression::None)
        );
        assert_eq!(
            round_trip(Compression::None, b""),
            (Vec::new(), Compression::None)
        );
    }
}
