//! Connections: the fields each kind takes, URLs, and credentials that come from secrets only.

use std::collections::BTreeMap;
use std::path::Path;

use url::Url;

use super::{Declared, Report, names};
use crate::diagnostic::Diagnostic;
use lifeboat_net::tls::Fingerprint;

use crate::digest::Sha256Digest;
use crate::document::{self, Tls};
use crate::location::{Located, Location};
use crate::model::{
    Connection, ConnectionKind, RemoteConnection, RemoteUrl, TlsPolicy, Username, XapiConnection,
};
use crate::template::{Segment, segments};

pub(super) fn check(
    report: &mut Report,
    declared: &Declared<'_>,
    connections: BTreeMap<Located<String>, document::Connection>,
    base_dir: &Path,
) -> BTreeMap<String, Connection> {
    let mut checked = BTreeMap::new();
    for (name, connection) in connections {
        let name_ok = names::check(report, "connection", &name);
        let connection = match connection.kind.value {
            ConnectionKind::Xapi => xapi(report, declared, &name, connection, base_dir),
            ConnectionKind::Remote | ConnectionKind::Fs => {
                remote(report, declared, &name, connection, base_dir)
            }
        };
        if let (true, Some(connection)) = (name_ok, connection) {
            checked.insert(name.value, connection);
        }
    }
    checked
}

// A credential or TLS setting that fails its check is reported and left out; the connection
// built without it is never used, since the pipeline is refused whenever anything is reported.
fn xapi(
    report: &mut Report,
    declared: &Declared<'_>,
    name: &Located<String>,
    connection: document::Connection,
    base_dir: &Path,
) -> Option<Connection> {
    if let Some(path) = &connection.path {
        not_for_kind(
            report,
            "path",
            path.location,
            "xapi",
            "`url`, `username`, `password` and `tls`",
        );
    }
    let username = connection
        .username
        .as_ref()
        .and_then(|username| username_of(report, declared, username));
    let password_secret = connection
        .password
        .as_ref()
        .and_then(|password| password_secret(report, declared, password));
    if let (None, Some(password)) = (&connection.username, &connection.password) {
        report.error(password.location, "a `password` needs a `username`");
    }
    let Some(url_text) = connection.url else {
        report.push(
            Diagnostic::new(
                name.location,
                format!("connection `{}` needs a `url`", name.value),
            )
            .with_hint("`https://HOST` for a pool, or `sim://NAME` for a simulated one"),
        );
        return None;
    };
    let url = url(report, &url_text)?;
    if url.scheme() != "sim" && (connection.username.is_none() || connection.password.is_none()) {
        report.push(
            Diagnostic::new(
                name.location,
                format!(
                    "connection `{}` needs a `username` and a `password`",
                    name.value
                ),
            )
            .with_hint("only `sim://` pools can be reached without credentials"),
        );
    }
    let tls = match connection.tls {
        None => TlsPolicy::SystemRoots,
        Some(tls) => {
            if url.scheme() != "https" {
                report.error(tls.location, "`tls` applies only to `https://` URLs");
            }
            tls_policy(report, tls, base_dir)?
        }
    };
    Some(Connection::Xapi(XapiConnection {
        url,
        username,
        password_secret,
        tls,
    }))
}

fn remote(
    report: &mut Report,
    declared: &Declared<'_>,
    name: &Located<String>,
    connection: document::Connection,
    base_dir: &Path,
) -> Option<Connection> {
    let kind = connection.kind.value.as_str();
    let url = match (connection.url, connection.path) {
        (Some(url), Some(path)) => {
            report.push(
                Diagnostic::new(path.location, "a remote has a `url` or a `path`, not both")
                    .with_hint("a `path` is the same as `url: file:///PATH`"),
            );
            remote_url(report, &url)?
        }
        (Some(url), None) => remote_url(report, &url)?,
        (None, Some(path)) => RemoteUrl::Local(base_dir.join(path.value)),
        (None, None) => {
            report.push(
                Diagnostic::new(
                    name.location,
                    format!("connection `{}` needs a `url` or a `path`", name.value),
                )
                .with_hint(
                    "a folder (`path: /srv/backups`), or an S3 bucket (`url: s3://HOST/BUCKET/PREFIX`)",
                ),
            );
            return None;
        }
    };
    let location = match &url {
        RemoteUrl::Local(_) => {
            let foreign = [
                ("username", connection.username.as_ref().map(|f| f.location)),
                ("password", connection.password.as_ref().map(|f| f.location)),
                ("tls", connection.tls.as_ref().map(|f| f.location)),
            ];
            for (field, location) in foreign {
                if let Some(location) = location {
                    report.push(
                        Diagnostic::new(
                            location,
                            format!("`{field}` does not apply to a remote in a local folder"),
                        )
                        .with_hint(format!(
                            "a connection of kind `{kind}` in a folder takes only `path` or `url: file:///PATH`"
                        )),
                    );
                }
            }
            return Some(Connection::Remote(RemoteConnection {
                url,
                access_key: None,
                secret_key_secret: None,
                tls: TlsPolicy::SystemRoots,
            }));
        }
        RemoteUrl::S3(location) => location,
    };
    let access_key = connection
        .username
        .as_ref()
        .and_then(|username| username_of(report, declared, username));
    let secret_key_secret = connection
        .password
        .as_ref()
        .and_then(|password| password_secret(report, declared, password));
    if connection.username.is_none() && location.access_key.is_none() {
        report.push(
            Diagnostic::new(
                name.location,
                format!("connection `{}` needs an access key", name.value),
            )
            .with_hint("write it as `username` (a literal or `${{ secrets.NAME }}`), or in the URL: `s3://KEY@HOST/BUCKET`"),
        );
    }
    if connection.password.is_none() {
        report.push(
            Diagnostic::new(
                name.location,
                format!("connection `{}` needs a secret key", name.value),
            )
            .with_hint("add a secret and write `password: \"${{ secrets.NAME }}\"`"),
        );
    }
    let tls = match connection.tls {
        None => TlsPolicy::SystemRoots,
        Some(tls) => {
            if !location.endpoint.starts_with("https://") {
                report.error(tls.location, "`tls` applies only to `s3://` (HTTPS) URLs");
            }
            tls_policy(report, tls, base_dir)?
        }
    };
    Some(Connection::Remote(RemoteConnection {
        url,
        access_key,
        secret_key_secret,
        tls,
    }))
}

/// A remote's URL, or the problem with it: a secret written in it is refused.
fn remote_url(report: &mut Report, text: &Located<String>) -> Option<RemoteUrl> {
    if text.value.contains("${{") {
        report.push(
            Diagnostic::new(text.location, "a `url` cannot use `${{ … }}`")
                .with_hint("write the address itself; only `username` and `password` take secrets"),
        );
        return None;
    }
    match RemoteUrl::parse(&text.value) {
        Ok(RemoteUrl::S3(location)) if location.secret_key.is_some() => {
            report.push(
                Diagnostic::new(text.location, "the URL holds a secret key")
                    .with_hint("remove it from the URL, keep it in a secret and write `password: \"${{ secrets.NAME }}\"`"),
            );
            None
        }
        Ok(url) => Some(url),
        Err(error) => {
            report.push(Diagnostic::new(text.location, error.to_string()).with_hint(
                "write `file:///PATH`, `s3://HOST/BUCKET/PREFIX` or `s3+http://HOST/BUCKET/PREFIX`",
            ));
            None
        }
    }
}

fn not_for_kind(
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

const URL_HINT: &str = "write `https://HOST`, `http://HOST` or `sim://NAME`";

fn url(report: &mut Report, text: &Located<String>) -> Option<Url> {
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
                .with_hint(URL_HINT),
            );
            return None;
        }
    };
    if !matches!(url.scheme(), "https" | "http" | "sim") {
        report.push(
            Diagnostic::new(
                text.location,
                format!("unsupported URL scheme `{}`", url.scheme()),
            )
            .with_hint(URL_HINT),
        );
        return None;
    }
    if url.host_str().is_none_or(str::is_empty) {
        report.push(
            Diagnostic::new(text.location, format!("`{}` names no host", text.value))
                .with_hint(URL_HINT),
        );
        return None;
    }
    Some(url)
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

fn tls_policy(report: &mut Report, tls: Located<Tls>, base_dir: &Path) -> Option<TlsPolicy> {
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
