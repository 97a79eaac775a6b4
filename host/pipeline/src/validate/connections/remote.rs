//! Connections of kind `remote` (or its older name `fs`): a folder, or an S3 bucket with its
//! credentials from secrets and its TLS policy.

use std::path::Path;

use super::fields::{credentials, tls_policy};
use crate::diagnostic::Diagnostic;
use crate::document;
use crate::location::Located;
use crate::model::{Connection, RemoteConnection, RemoteUrl, TlsPolicy};
use crate::validate::{Declared, Report};

pub(super) fn check(
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
    let (access_key, secret_key_secret) = credentials(
        report,
        declared,
        connection.username.as_ref(),
        connection.password.as_ref(),
    );
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
    let https = location.endpoint.starts_with("https://");
    let tls = tls_policy(report, connection.tls, https, "`s3://` (HTTPS)", base_dir)?;
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
        Ok(RemoteUrl::S3(location)) if location.allow_unauthorized => {
            report.push(
                Diagnostic::new(
                    text.location,
                    "`allowUnauthorized` in the URL would turn certificate checks off",
                )
                .with_hint("opt out explicitly with `tls: { verify: false }`, or pin the certificate with `tls: { fingerprint: … }`"),
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
