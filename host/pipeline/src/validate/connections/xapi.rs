//! Connections of kind `xapi`: a pool's URL, its credentials and its TLS policy.

use std::path::Path;

use super::fields::{credentials, not_for_kind, required_url, tls_policy, url};
use crate::diagnostic::Diagnostic;
use crate::document;
use crate::location::Located;
use crate::model::{Connection, XapiConnection};
use crate::validate::{Declared, Report};

// A credential or TLS setting that fails its check is reported and left out; the connection
// built without it is never used, since the pipeline is refused whenever anything is reported.
pub(super) fn check(
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
    let (username, password_secret) = credentials(
        report,
        declared,
        connection.username.as_ref(),
        connection.password.as_ref(),
    );
    if let (None, Some(password)) = (&connection.username, &connection.password) {
        report.error(password.location, "a `password` needs a `username`");
    }
    let url_text = required_url(
        report,
        name,
        connection.url,
        "`https://HOST` for a pool, or `sim://NAME` for a simulated one",
    )?;
    let url = url(report, &url_text, &["https", "http", "sim"], URL_HINT)?;
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
    let https = url.scheme() == "https";
    let tls = tls_policy(report, connection.tls, https, "`https://`", base_dir)?;
    Some(Connection::Xapi(XapiConnection {
        url,
        username,
        password_secret,
        tls,
    }))
}

const URL_HINT: &str = "write `https://HOST`, `http://HOST` or `sim://NAME`";
