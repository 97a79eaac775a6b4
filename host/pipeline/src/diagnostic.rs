//! Errors of loading a pipeline: each problem is a [`Diagnostic`] that names the file, line and
//! column of the offending node, with a hint where one helps; [`InvalidPipeline`] carries all of
//! them so that a user fixes a file in one pass.

use std::fmt;
use std::path::PathBuf;

use crate::location::Location;

/// One problem in a pipeline file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The node the problem is about; `None` for the file as a whole (too large, empty).
    pub location: Option<Location>,
    pub message: String,
    /// What to write instead, when that is known.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(location: Option<Location>, message: impl Into<String>) -> Self {
        Diagnostic {
            location,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A pipeline file that cannot be used, with every problem found in it, in file order.
#[derive(Debug, thiserror::Error)]
pub struct InvalidPipeline {
    /// The name the file was loaded under (its path, or what the caller passed to `parse`).
    pub origin: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl InvalidPipeline {
    pub fn new(origin: &str, mut diagnostics: Vec<Diagnostic>) -> Self {
        // Stable: problems at the same node keep the order in which they were found.
        diagnostics.sort_by_key(|diagnostic| diagnostic.location);
        InvalidPipeline {
            origin: origin.to_owned(),
            diagnostics,
        }
    }
}

/// One line per problem, `origin:line:column: message`, each hint on an indented line below.
impl fmt::Display for InvalidPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", Printable(&self.origin))?;
            if let Some(location) = diagnostic.location {
                write!(f, ":{location}")?;
            }
            write!(f, ": {}", Printable(&diagnostic.message))?;
            if let Some(hint) = &diagnostic.hint {
                write!(f, "\n  hint: {}", Printable(hint))?;
            }
        }
        Ok(())
    }
}

/// Text that came from the file, shown with its control characters escaped so that a hostile
/// file cannot rewrite the terminal that displays its errors.
struct Printable<'a>(&'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Why [`crate::Pipeline::load`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read pipeline file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] InvalidPipeline),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_origin_line_column_message_and_hint() {
        let invalid = InvalidPipeline::new(
            "examples/x.yaml",
            vec![
                Diagnostic::new(
                    Some(Location {
                        line: 12,
                        column: 7,
                    }),
                    "second",
                ),
                Diagnostic::new(Some(Location { line: 3, column: 1 }), "first")
                    .with_hint("do this"),
                Diagnostic::new(None, "whole file"),
            ],
        );
        assert_eq!(
            invalid.to_string(),
            "examples/x.yaml: whole file\n\
             examples/x.yaml:3:1: first\n  hint: do this\n\
             examples/x.yaml:12:7: second"
        );
    }

    #[test]
    fn control_characters_from_the_file_are_escaped() {
        let invalid = InvalidPipeline::new(
            "p.yaml",
            vec![Diagnostic::new(None, "unknown field `a\u{1b}[2Jb`")],
        );
        assert_eq!(invalid.to_string(), "p.yaml: unknown field `a\\u{1b}[2Jb`");
    }
}
