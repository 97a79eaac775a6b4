//! Replaces secret values in text (events, logs, error messages) with `***`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Masks every occurrence of any of its secrets.
///
/// Where occurrences overlap (secrets that share text, or a secret that overlaps itself, as
/// `aa` in `aaa`), the whole overlapping stretch is masked, so no part of either leaks.
#[derive(Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    /// A masker for `secrets`; empty strings are ignored (there is nothing to hide).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|secret| !secret.is_empty())
            .map(str::to_owned)
            .collect();
        secrets.sort();
        secrets.dedup();
        Masker { secrets }
    }

    /// `text` with every stretch that is part of an occurrence of a secret replaced by `***`.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut ranges: Vec<Range<usize>> = self
            .secrets
            .iter()
            .flat_map(|secret| occurrences(text, secret))
            .collect();
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        ranges.sort_by_key(|range| range.start);
        let mut masked = String::with_capacity(text.len());
        let mut copied_to = 0;
        let mut ranges = ranges.into_iter().peekable();
        while let Some(mut range) = ranges.next() {
            // Merge every occurrence that overlaps or touches this one.
            while let Some(next) = ranges.next_if(|next| next.start <= range.end) {
                range.end = range.end.max(next.end);
            }
            masked.push_str(&text[copied_to..range.start]);
            masked.push_str("***");
            copied_to = range.end;
        }
        masked.push_str(&text[copied_to..]);
        Cow::Owned(masked)
    }
}

/// Every occurrence of `secret` in `text`, overlapping ones included.
fn occurrences<'a>(text: &'a str, secret: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + text.get(from..)?.find(secret)?;
        // Resume one character later: `find` only returns character boundaries.
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        Some(start..start + secret.len())
    })
}

/// Shows how many secrets, never which.
impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Masker({} secrets)", self.secrets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_of_every_secret() {
        let masker = Masker::new(["hunter2", "tok-en"]);
        assert_eq!(
            masker.mask("login hunter2, token tok-en, again hunter2"),
            "login ***, token ***, again ***"
        );
        assert!(matches!(
            masker.mask("nothing here"),
            Cow::Borrowed("nothing here")
        ));
    }

    #[test]
    fn overlapping_occurrences_are_masked_whole() {
        assert_eq!(Masker::new(["abc", "cde"]).mask("xabcdex"), "x***x");
        assert_eq!(Masker::new(["aa"]).mask("baaab"), "b***b");
        assert_eq!(Masker::new(["ab"]).mask("abab"), "***");
    }

    #[test]
    fn handles_multibyte_text_and_ignores_empty_secrets() {
        let masker = Masker::new(["", "pässwörd"]);
        assert_eq!(masker.mask("é pässwörd é"), "é *** é");
        assert_eq!(masker.mask(""), "");
        assert_eq!(format!("{masker:?}"), "Masker(1 secrets)");
    }
}
