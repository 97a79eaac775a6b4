//! The `${{ … }}` syntax: splitting a string into literal text and references.
//!
//! A closed language on purpose: a reference is a dotted name (`item.uuid`, `secrets.NAME`),
//! nothing more. There is no escape for a literal `${{`; no parameter needs one.

/// A piece of a string: literal text, or the dotted path of a `${{ path }}` reference.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    Text(&'a str),
    Reference(Vec<&'a str>),
}

/// What is wrong with a `${{ … }}`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SyntaxError {
    #[error("`${{{{` without its closing `}}}}`")]
    Unterminated,
    #[error("`${{{{ {0} }}}}` is not a reference: write a dotted name such as `item.uuid`")]
    NotAName(String),
}

const OPEN: &str = "${{";
const CLOSE: &str = "}}";

/// The segments of `text`, in order.
pub(crate) fn segments(text: &str) -> Result<Vec<Segment<'_>>, SyntaxError> {
    let mut segments = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        if start > 0 {
            segments.push(Segment::Text(&rest[..start]));
        }
        let after_open = &rest[start + OPEN.len()..];
        let end = after_open.find(CLOSE).ok_or(SyntaxError::Unterminated)?;
        let inner = after_open[..end].trim();
        segments.push(Segment::Reference(dotted_name(inner)?));
        rest = &after_open[end + CLOSE.len()..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Text(rest));
    }
    Ok(segments)
}

/// `a.b_c.d-e` as `[a, b_c, d-e]`: each part a letter or `_`, then letters, digits, `_` or `-`.
fn dotted_name(inner: &str) -> Result<Vec<&str>, SyntaxError> {
    let parts: Vec<&str> = inner.split('.').collect();
    if parts.iter().all(|part| is_name(part)) {
        Ok(parts)
    } else {
        Err(SyntaxError::NotAName(inner.to_owned()))
    }
}

/// The syntax of a name that a reference can reach: secrets, connections, components, schedules.
pub(crate) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_references() {
        assert_eq!(
            segments("vm-${{ item.uuid }}/${{run.id}}").unwrap(),
            vec![
                Segment::Text("vm-"),
                Segment::Reference(vec!["item", "uuid"]),
                Segment::Text("/"),
                Segment::Reference(vec!["run", "id"]),
            ]
        );
        assert_eq!(
            segments("plain }} text").unwrap(),
            vec![Segment::Text("plain }} text")]
        );
        assert_eq!(segments("").unwrap(), vec![]);
    }

    #[test]
    fn refuses_unterminated_and_non_names() {
        assert_eq!(segments("a ${{ item.uuid"), Err(SyntaxError::Unterminated));
        assert_eq!(
            segments("${{ item.uuid || 'x' }}"),
            Err(SyntaxError::NotAName("item.uuid || 'x'".to_owned()))
        );
        assert_eq!(
            segments("${{ }}"),
            Err(SyntaxError::NotAName(String::new()))
        );
        assert_eq!(
            SyntaxError::NotAName("a b".to_owned()).to_string(),
            "`${{ a b }}` is not a reference: write a dotted name such as `item.uuid`"
        );
        assert_eq!(
            SyntaxError::Unterminated.to_string(),
            "`${{` without its closing `}}`"
        );
    }
}
