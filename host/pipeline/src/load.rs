//! Loading a pipeline: read, parse, check, in one call.

use std::path::Path;

use crate::diagnostic::{InvalidPipeline, LoadError};
use crate::model::Pipeline;
use crate::{read, validate};

impl Pipeline {
    /// Reads and checks the pipeline file at `path`. Relative paths in it (components, secret
    /// files, fs remotes, CA files) are taken relative to the file's directory. `builtins` are
    /// the names of the host's built-in components (e.g. `&["dr-copy", "keep-last"]`).
    pub fn load(path: &Path, builtins: &[&str]) -> Result<Pipeline, LoadError> {
        let origin = path.display().to_string();
        let bytes = read_capped(path)?;
        let text = read::text(&bytes)
            .map_err(|diagnostic| InvalidPipeline::new(&origin, vec![diagnostic]))?;
        let base_dir = path.parent().unwrap_or(Path::new(""));
        Ok(parse_in(text, &origin, base_dir, builtins)?)
    }

    /// Checks a pipeline given as text; `origin` names it in errors. Relative paths in it stay
    /// as written (relative to the process's working directory).
    pub fn parse(text: &str, origin: &str, builtins: &[&str]) -> Result<Pipeline, InvalidPipeline> {
        parse_in(text, origin, Path::new(""), builtins)
    }
}

fn parse_in(
    text: &str,
    origin: &str,
    base_dir: &Path,
    builtins: &[&str],
) -> Result<Pipeline, InvalidPipeline> {
    let document = read::document(text)
        .map_err(|diagnostic| InvalidPipeline::new(origin, vec![diagnostic]))?;
    validate::pipeline(document, builtins, base_dir)
        .map_err(|diagnostics| InvalidPipeline::new(origin, diagnostics))
}

/// The file's bytes, reading at most one byte more than a pipeline may have (so that a huge or
/// endless file, such as a device, costs nothing).
fn read_capped(path: &Path) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;

    let read_error = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(read::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(bytes)
}
