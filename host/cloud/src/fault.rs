//! OpenStack error answers: the message inside the body, and the [`ErrorKind`] of the status.
//!
//! The services wrap the message in an object named after the fault: Nova and Cinder send
//! `{"itemNotFound": {"code": 404, "message": "..."}}`, Keystone `{"error": {"code": 401,
//! "title": "...", "message": "..."}}`, Neutron `{"NeutronError": {"type": "...", "message":
//! "..."}}`. Anything else (a proxy's HTML page, plain text) is kept as a bounded excerpt.
//!
//! Secrets are scrubbed from the whole text before anything is cut from it: a secret that
//! straddled the cut would otherwise survive as a prefix.

use serde_json::Value;

use crate::error::ErrorKind;

/// How much of an unstructured body an error keeps.
const MAX_RAW_MESSAGE: usize = 500;

/// The message of an error body, without any of `secrets` (a service may echo a request's
/// credentials in its error message).
pub(crate) fn message(body: &[u8], secrets: &[&str]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(message) = structured_message(&value)
    {
        return scrub(message, secrets);
    }
    let text = scrub(String::from_utf8_lossy(body).into_owned(), secrets);
    excerpt(&text)
}

fn structured_message(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    if let Some(message) = object.get("message").and_then(Value::as_str) {
        return Some(message.to_owned());
    }
    // The fault object: the one member that is itself an object with a message or a title.
    object.values().find_map(|fault| {
        let fault = fault.as_object()?;
        fault
            .get("message")
            .or_else(|| fault.get("title"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// The start of `text`, trimmed and cut on a character boundary.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    if text.len() <= MAX_RAW_MESSAGE {
        return text.to_owned();
    }
    let mut end = MAX_RAW_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The kind of error an HTTP status means.
pub(crate) fn kind(status: u16, message: String) -> ErrorKind {
    match status {
        400 => ErrorKind::BadRequest(message),
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden(message),
        404 => ErrorKind::NotFound(message),
        406 => ErrorKind::NotAcceptable(message),
        409 => ErrorKind::Conflict(message),
        413 | 429 => ErrorKind::OverLimit(message),
        503 => ErrorKind::Unavailable(message),
        _ => ErrorKind::Server(status, message),
    }
}

/// `text` with every occurrence of the secrets replaced.
fn scrub(mut text: String, secrets: &[&str]) -> String {
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        if text.contains(secret) {
            text = text.replace(secret, "***");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nova_and_cinder_faults() {
        for (body, expected) in [
            (
                r#"{"badRequest":{"code":400,"message":"Invalid volume: must be available"}}"#,
                "Invalid volume: must be available",
            ),
            (
                r#"{"itemNotFound":{"code":404,"message":"Backup b1 could not be found."}}"#,
                "Backup b1 could not be found.",
            ),
            (
                r#"{"overLimit":{"code":413,"message":"Quota exceeded","retryAfter":"0"}}"#,
                "Quota exceeded",
            ),
            (
                r#"{"conflictingRequest":{"code":409,"message":"Instance is locked"}}"#,
                "Instance is locked",
            ),
            (
                r#"{"forbidden":{"code":403,"message":"Policy doesn't allow backup:export-import"}}"#,
                "Policy doesn't allow backup:export-import",
            ),
        ] {
            assert_eq!(message(body.as_bytes(), &[]), expected);
        }
    }

    #[test]
    fn keystone_and_neutron_faults() {
        let keystone = r#"{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}"#;
        assert_eq!(
            message(keystone.as_bytes(), &[]),
            "The request you have made requires authentication."
        );
        let title_only = r#"{"error":{"code":401,"title":"Unauthorized"}}"#;
        assert_eq!(message(title_only.as_bytes(), &[]), "Unauthorized");
        let neutron = r#"{"NeutronError":{"type":"NetworkNotFound","message":"Network n1 could not be found.","detail":""}}"#;
        assert_eq!(
            message(neutron.as_bytes(), &[]),
            "Network n1 could not be found."
        );
        let flat = r#"{"message":"Version 3.99 is not supported by the API.","code":406}"#;
        assert_eq!(
            message(flat.as_bytes(), &[]),
            "Version 3.99 is not supported by the API."
        );
    }

    #[test]
    fn raw_text_is_trimmed_and_bounded() {
        assert_eq!(
            message(b"  The resource could not be found.\n", &[]),
            "The resource could not be found."
        );
        assert_eq!(message(b"", &[]), "(empty body)");
        assert_eq!(
            message(br#"{"unrelated":[1,2]}"#, &[]),
            r#"{"unrelated":[1,2]}"#
        );
        let long = "é".repeat(400);
        let cut = message(long.as_bytes(), &[]);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= MAX_RAW_MESSAGE + '…'.len_utf8());
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn statuses_map_to_kinds() {
        let m = || "m".to_owned();
        assert_eq!(kind(400, m()), ErrorKind::BadRequest(m()));
        assert_eq!(kind(401, m()), ErrorKind::Unauthorized);
        assert_eq!(kind(403, m()), ErrorKind::Forbidden(m()));
        assert_eq!(kind(404, m()), ErrorKind::NotFound(m()));
        assert_eq!(kind(406, m()), ErrorKind::NotAcceptable(m()));
        assert_eq!(kind(409, m()), ErrorKind::Conflict(m()));
        assert_eq!(kind(413, m()), ErrorKind::OverLimit(m()));
        assert_eq!(kind(429, m()), ErrorKind::OverLimit(m()));
        assert_eq!(kind(503, m()), ErrorKind::Unavailable(m()));
        assert_eq!(kind(500, m()), ErrorKind::Server(500, m()));
    }

    #[test]
    fn secrets_are_scrubbed() {
        let text = "Invalid input for field 'password': 'hunter2' is too short".to_owned();
        assert_eq!(
            scrub(text, &["hunter2", ""]),
            "Invalid input for field 'password': '***' is too short"
        );
        let structured = r#"{"badRequest":{"code":400,"message":"bad password 'hunter2'"}}"#;
        assert_eq!(
            message(structured.as_bytes(), &["hunter2"]),
            "bad password '***'"
        );
    }

    /// A long unstructured body that echoes the secret across the cut: scrubbing the excerpt
    /// would leave the secret's first bytes in the message.
    #[test]
    fn secrets_cut_by_the_excerpt_are_scrubbed() {
        let secret = "correct-horse-battery-staple";
        for start in MAX_RAW_MESSAGE - secret.len()..=MAX_RAW_MESSAGE {
            let body = format!("{}{secret} and more text after it", "x".repeat(start));
            let shown = message(body.as_bytes(), &[secret]);
            for prefix in 4..=secret.len() {
                assert!(
                    !shown.contains(&secret[..prefix]),
                    "the first {prefix} bytes of the secret survive at {start}: {shown}"
                );
            }
            assert!(shown.len() <= MAX_RAW_MESSAGE + '…'.len_utf8());
        }
        // Invalid UTF-8 before the secret (each byte read as a 3-byte U+FFFD) does not move
        // it out of the scrubbing's sight: the secret starts 4 bytes before the cut.
        let mut body = vec![0xff];
        body.extend_from_slice("x".repeat(MAX_RAW_MESSAGE - 3 - 4).as_bytes());
        body.extend_from_slice(secret.as_bytes());
        let shown = message(&body, &[secret]);
        assert!(!shown.contains("corr"), "{shown}");
    }
}
