//! Finds which member of a JSON document a byte offset falls in, so that an error of
//! `serde_json` (which gives a line and a column) can name the field at fault.
//!
//! The document is valid JSON up to the offset whenever serde reports a data error there, so a
//! scan that tracks objects, arrays and keys is enough: no full parser is needed.

/// One open container on the way to the offset.
enum Frame {
    /// An object and the key of the member being read, if any.
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    /// An array, the index of the element being read and whether that element began.
    Array { index: usize, in_element: bool },
}

/// The byte offset of serde_json's one-based `line` and `column`: the byte at which it
/// detected the error.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column).saturating_sub(1).min(text.len())
}

/// The path of the member at `offset` (`targets[0].sr`), or an empty string for the document
/// itself. An offset on the `}` or `]` that closes a container names the container: that is
/// where serde reports a missing field or a wrong length.
pub fn member_at(text: &str, offset: usize) -> String {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < offset.min(bytes.len()) {
        let byte = bytes[i];
        if !byte.is_ascii_whitespace() {
            begin_element(&mut stack);
        }
        match byte {
            b'"' => {
                let end = string_end(bytes, i);
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut()
                    && *expect_key
                {
                    *key = serde_json::from_str(&text[i..end]).ok();
                    *expect_key = false;
                }
                i = end;
                continue;
            }
            b'{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Array {
                index: 0,
                in_element: false,
            }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                Some(Frame::Array { index, in_element }) => {
                    *index += 1;
                    *in_element = false;
                }
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    if matches!(bytes.get(offset), Some(b'}' | b']')) {
        stack.pop();
    } else if bytes.get(offset).is_some_and(|b| !b.is_ascii_whitespace()) {
        begin_element(&mut stack);
    }
    render(&stack)
}

/// Marks the element of the innermost array as begun: a byte other than a separator or a
/// closing bracket belongs to it.
fn begin_element(stack: &mut [Frame]) {
    if let Some(Frame::Array { in_element, .. }) = stack.last_mut() {
        *in_element = true;
    }
}

/// The offset just past the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `a.b[2].c` from the open frames.
fn render(stack: &[Frame]) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Array {
                index,
                in_element: true,
            } => path.push_str(&format!("[{index}]")),
            _ => break,
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(text: &str, marker: &str) -> String {
        member_at(text, text.find(marker).unwrap())
    }

    #[test]
    fn names_members_and_elements() {
        let text = r#"{"pool": "a", "targets": [{"sr": "x"}, {"sr": 3, "n": [1, 2]}]}"#;
        assert_eq!(path_of(text, "\"a\""), "pool");
        assert_eq!(path_of(text, "3"), "targets[1].sr");
        assert_eq!(path_of(text, "2]"), "targets[1].n[1]");
        assert_eq!(path_of(text, "}]}"), "targets[1]");
        assert_eq!(member_at(text, text.len() - 1), "");
    }

    #[test]
    fn keys_with_escapes_and_braces_inside_strings() {
        let text = r#"{"a\"}b": "[{", "c": true}"#;
        assert_eq!(path_of(text, "true"), "c");
        assert_eq!(path_of(text, "\"[{\""), "a\"}b");
    }

    #[test]
    fn offsets_count_lines_from_one() {
        let text = "{\n  \"a\": 1,\n  \"b\": x\n}";
        assert_eq!(offset_of(text, 3, 8), text.find('x').unwrap());
        assert_eq!(offset_of(text, 1, 1), 0);
    }
}
