//! From bytes to the file's serde types, bounded: a size cap, UTF-8, and serde-saphyr's budget so
//! that hostile YAML (alias bombs, deep nesting, huge documents) ends in an error, never a hang.

use serde_saphyr::{Budget, MessageFormatter, Options, UserMessageFormatter};

use crate::diagnostic::Diagnostic;
use crate::document;
use crate::location::Location;

/// The largest pipeline file Lifeboat reads. Real files are a few KiB.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// The file's text: at most [`MAX_FILE_BYTES`], UTF-8.
pub(crate) fn text(bytes: &[u8]) -> Result<&str, Diagnostic> {
    check_size(bytes.len())?;
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        // The bytes before `valid_up_to` are UTF-8: this borrows, replacing nothing.
        let before = String::from_utf8_lossy(valid);
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |tail| tail.chars().count())
            + 1;
        Diagnostic::new(
            Some(Location {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            }),
            "the file is not UTF-8 text",
        )
    })
}

/// The file's serde types, or the first syntax or shape error (serde stops at the first).
pub(crate) fn document(text: &str) -> Result<document::Pipeline, Diagnostic> {
    check_size(text.len())?;
    if is_empty(text) {
        return Err(Diagnostic::new(None, "the pipeline file is empty")
            .with_hint("a pipeline starts with `version: 1`, `name:` and `steps:`"));
    }
    serde_saphyr::from_str_with_options(text, options()).map_err(|error| syntax_error(&error))
}

fn check_size(len: usize) -> Result<(), Diagnostic> {
    if len > MAX_FILE_BYTES {
        return Err(Diagnostic::new(
            None,
            format!(
                "the file is {len} bytes; a pipeline file may be at most {MAX_FILE_BYTES} bytes"
            ),
        ));
    }
    Ok(())
}

/// Nothing but blanks and comments: serde-saphyr would report a missing `version`, which
/// misleads when the whole file is missing.
fn is_empty(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#') || line == "---" || line == "...")
}

fn options() -> Options {
    // A pipeline file is small: these bounds are far above any real one and far below what
    // would cost noticeable time or memory.
    let mut budget = Budget::default();
    budget.max_depth = 32;
    budget.flow_nesting_limit = 32;
    budget.max_nodes = 50_000;
    budget.max_events = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_FILE_BYTES;

    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 10_000;
    // YAML 1.2 booleans only: `yes`, `no`, `on` and `off` stay strings (a component given
    // `country: no` receives "no", not false).
    options.strict_booleans = true;
    // Tags have no meaning in a pipeline; a tag is a mistake, not something to ignore.
    options.reject_unsupported_tags = true;
    // Places are reported by [`Diagnostic`], not by serde-saphyr's snippet rendering.
    options.with_snippet = false;
    options
}

fn syntax_error(error: &serde_saphyr::Error) -> Diagnostic {
    let error = error.without_snippet();
    let message = UserMessageFormatter.format_message(error);
    Diagnostic::new(error.location().and_then(Location::from_yaml), message)
}
