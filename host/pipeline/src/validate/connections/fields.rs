//! What every kind of connection shares: fields that are literal or a secret, passwords that
//! must be secrets, TLS policies, and fields a kind does not take.

use std::path::Path;

use lifeboat_net::tls::Fingerprint;
use url::Url;

use crate::diagnostic::Diagnostic;
use crate::digest::Sha256Digest;
use crate::document::Tls;
use crate::location::{Located, Location};
use crate::model::{TlsPolicy, Username};
use crate::template::{Segment, segments};
use crate::validate::{Declared, Report, names};

pub(super) fn not_for_kind(
    report: &mut Report,
    field: &str,
    location: Option<Location>,
    kind: &str,
    takes: &str,
) {
    report.push(
        Diagnostic::new(
            location,
            format!("`{field}` does not apply to a connection of kind `{kind}`"),
        )
        .with_hint(format!("a connection of kind `{kind}` takes {takes}")),
    );
}

/// What a connection field holds: literal text, or exactly one `${{ secrets.NAME }}`.
enum Field<'a> {
    Literal,
    Secret(&'a str),
}

/// Reads `text` as a [`Field`]; any other use of `${{ … }}` is reported.
fn field<'a>(
    report: &mut Report,
    declared: &Declared<'_>,
    text: &'a Located<String>,
) -> Option<Field<'a>> {
    let parts = match segments(&text.value) {
        Ok(parts) => parts,
        Err(error) => {
            report.error(text.location, error.to_string());
            return None;
        }
    };
    let references: Vec<&Vec<&str>> = parts
        .iter()
        .filter_map(|part| match part {
            Segment::Reference(path) => Some(path),
            Segment::Text(_) => None,
        })
        .collect();
    match (parts.as_slice(), references.as_slice()) {
        (_, []) => Some(Field::Literal),
        ([Segment::Reference(_)], [path]) => match path.as_slice() {
            ["secrets", secret] => {
                if declared.secrets.contains(*secret) {
                    Some(Field::Secret(secret))
                } else {
                    report.push(
                        Diagnostic::new(text.location, format!("unknown secret `{secret}`"))
                            .with_hint(format!(
                                "declare it under `secrets:`; declared: {}",
                                names::listed(declared.secrets.iter().map(String::as_str))
                            )),
                    );
                    None
                }
            }
            _ => {
                report.push(
                    Diagnostic::new(
                        text.location,
                        format!(
                            "`${{{{ {} }}}}` cannot be used in a connection",
                            path.join(".")
                        ),
                    )
                    .with_hint(
                        "a connection field is literal text or exactly `${{ secrets.NAME }}`",
                    ),
                );
                None
            }
        },
        _ => {
            report.push(
                Diagnostic::new(
                    text.location,
                    "a connection field cannot splice `${{ … }}` into text",
                )
                .with_hint("a connection field is literal text or exactly `${{ secrets.NAME }}`"),
            );
            None
        }
    }
}

/// The connection's user (literal or a secret) and the name of its password's secret, each
/// checked; what fails its check is reported and left out.
pub(super) fn credentials(
    report: &mut Report,
    declared: &Declared<'_>,
    username: Option<&Located<String>>,
    password: Option<&Located<String>>,
) -> (Option<Username>, Option<String>) {
    let user = username.and_then(|username| username_of(report, declared, username));
    let password = password.and_then(|password| password_secret(report, declared, password));
    (user, password)
}

fn username_of(
    report: &mut Report,
    declared: &Declared<'_>,
    text: &Located<String>,
) -> Option<Username> {
    Some(match field(report, declared, text)? {
        Field::Literal => Username::Literal(text.value.clone()),
        Field::Secret(secret) => Username::Secret(secret.to_owned()),
    })
}

fn password_secret(
    report: &mut Report,
    declared: &Declared<'_>,
    text: &Located<String>,
) -> Option<String> {
    match field(report, declared, text)? {
        Field::Secret(secret) => Some(secret.to_owned()),
        Field::Literal => {
            report.push(
                Diagnostic::new(
                    text.location,
                    "a password cannot be written in the pipeline file",
                )
                .with_hint(
                    "declare a secret (`secrets: { NAME: { env: VARIABLE } }` or `{ file: PATH }`) \
                     and write `password: \"${{ secrets.NAME }}\"`",
                ),
            );
            None
        }
    }
}

/// The connection's TLS policy: the system's roots by default; a `tls` setting is refused on a
/// connection that is not over HTTPS (`https` false), whose URLs `over` names.
pub(super) fn tls_policy(
    report: &mut Report,
    tls: Option<Located<Tls>>,
    https: bool,
    over: &str,
    base_dir: &Path,
) -> Option<TlsPolicy> {
    let Some(tls) = tls else {
        return Some(TlsPolicy::SystemRoots);
    };
    if !https {
        report.error(tls.location, format!("`tls` applies only to {over} URLs"));
    }
    Some(match tls.value {
        Tls::Verify(true) => TlsPolicy::SystemRoots,
        Tls::Verify(false) => TlsPolicy::Insecure,
        Tls::CaFile(path) => TlsPolicy::CaBundle(base_dir.join(path)),
        Tls::Fingerprint(fingerprint) => {
            // openssl prints fingerprints in uppercase pairs separated by colons; accept that.
            let normalized = fingerprint.value.replace(':', "").to_ascii_lowercase();
            match normalized
                .replacen("sha256", "sha256:", 1)
                .parse::<Sha256Digest>()
            {
                Ok(digest) => TlsPolicy::Pinned(Fingerprint::from_sha256(digest.0)),
                Err(_) => {
                    report.push(
                        Diagnostic::new(
                            fingerprint.location,
                            format!(
                                "`{}` is not a SHA-256 certificate fingerprint",
                                fingerprint.value
                            ),
                        )
                        .with_hint(
                            "write `sha256:` and the 64 hexadecimal digits of \
                             `openssl x509 -in CERT -noout -fingerprint -sha256`",
                        ),
                    );
                    return None;
                }
            }
        }
    })
}

/// `text` as a URL of one of `schemes` with a host; the problem is reported otherwise, with
/// `hint`.
pub(super) fn url(
    report: &mut Report,
    text: &Located<String>,
    schemes: &[&str],
    hint: &str,
) -> Option<Url> {
    if text.value.contains("${{") {
        report.push(
            Diagnostic::new(text.location, "a `url` cannot use `${{ … }}`")
                .with_hint("write the address itself; only `username` and `password` take secrets"),
        );
        return None;
    }
    let url = match Url::parse(&text.value) {
        Ok(url) => url,
        Err(error) => {
            report.push(
                Diagnostic::new(
                    text.location,
                    format!("`{}` is not a URL: {error}", text.value),
                )
                .with_hint(hint),
            );
            return None;
        }
    };
    if !schemes.contains(&url.scheme()) {
        report.push(
            Diagnostic::new(
                text.location,
                format!("unsupported URL scheme `{}`", url.scheme()),
            )
            .with_hint(hint),
        );
        return None;
    }
    if url.host_str().is_none_or(str::is_empty) {
        report.push(
            Diagnostic::new(text.location, format!("`{}` names no host", text.value))
                .with_hint(hint),
        );
        return None;
    }
    Some(url)
}

/// The connection's `url`, or the report that it needs one.
pub(super) fn required_url(
    report: &mut Report,
    name: &Located<String>,
    url: Option<Located<String>>,
    hint: &str,
) -> Option<Located<String>> {
    if url.is_none() {
        report.push(
            Diagnostic::new(
                name.location,
                format!("connection `{}` needs a `url`", name.value),
            )
            .with_hint(hint),
        );
    }
    url
}
