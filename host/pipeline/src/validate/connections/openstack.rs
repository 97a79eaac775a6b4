//! Connections of kind `openstack`: Keystone's URL, a user's password or an application
//! credential (secrets from `secrets:` only), the project, domain and region, and TLS.

use std::path::Path;

use super::fields::{credentials, not_for_kind, required_url, tls_policy, url};
use crate::diagnostic::Diagnostic;
use crate::document;
use crate::location::Located;
use crate::model::{Connection, OpenstackConnection, OpenstackCredentials};
use crate::validate::{Declared, Report};

const URL_HINT: &str =
    "write Keystone's address, `https://HOST:5000/v3` or `https://HOST/identity`";
const TAKES: &str = "`url`, `username` or `application_credential`, `password`, `project`, `domain`, `region` and `tls`";

/// Reports the fields only an `openstack` connection takes, on a connection of another kind.
pub(super) fn not_taken(report: &mut Report, connection: &document::Connection) {
    let kind = connection.kind.value.as_str();
    let fields = [
        ("project", &connection.project),
        ("domain", &connection.domain),
        ("region", &connection.region),
        ("application_credential", &connection.application_credential),
    ];
    for (field, value) in fields {
        if let Some(value) = value {
            report.push(
                Diagnostic::new(
                    value.location,
                    format!("`{field}` does not apply to a connection of kind `{kind}`"),
                )
                .with_hint("only connections of kind `openstack` take it"),
            );
        }
    }
}

pub(super) fn check(
    report: &mut Report,
    declared: &Declared<'_>,
    name: &Located<String>,
    connection: document::Connection,
    base_dir: &Path,
) -> Option<Connection> {
    if let Some(path) = &connection.path {
        not_for_kind(report, "path", path.location, "openstack", TAKES);
    }
    for field in [
        &connection.project,
        &connection.domain,
        &connection.region,
        &connection.application_credential,
    ]
    .into_iter()
    .flatten()
    {
        literal(report, field);
    }
    let (username, password_secret) = credentials(
        report,
        declared,
        connection.username.as_ref(),
        connection.password.as_ref(),
    );
    let Some(secret) = password_secret else {
        if connection.password.is_none() {
            report.push(
                Diagnostic::new(
                    name.location,
                    format!("connection `{}` needs a `password`", name.value),
                )
                .with_hint("add a secret and write `password: \"${{ secrets.NAME }}\"` (a user's password, or the application credential's secret)"),
            );
        }
        return None;
    };
    let credentials = match (username, &connection.application_credential) {
        (Some(username), None) => OpenstackCredentials::Password {
            username,
            password_secret: secret,
        },
        (None, Some(id)) => {
            if let Some(project) = &connection.project {
                report.push(
                    Diagnostic::new(
                        project.location,
                        "an application credential is bound to its project and takes no `project`",
                    )
                    .with_hint("remove `project`, or log in as a user with `username`"),
                );
            }
            OpenstackCredentials::ApplicationCredential {
                id: id.value.clone(),
                credential_secret: secret,
            }
        }
        (Some(_), Some(id)) => {
            report.push(
                Diagnostic::new(
                    id.location,
                    "a connection logs in with a `username` or an `application_credential`, not both",
                )
                .with_hint("keep one of them"),
            );
            return None;
        }
        (None, None) => {
            if connection.username.is_none() {
                report.push(
                    Diagnostic::new(
                        name.location,
                        format!(
                            "connection `{}` needs a `username` or an `application_credential`",
                            name.value
                        ),
                    )
                    .with_hint("the user to log in as (a literal or `${{ secrets.NAME }}`), or the id of an application credential"),
                );
            }
            return None;
        }
    };
    let url_text = required_url(report, name, connection.url, URL_HINT)?;
    let auth_url = url(report, &url_text, &["https", "http"], URL_HINT)?;
    let https = auth_url.scheme() == "https";
    let tls = tls_policy(report, connection.tls, https, "`https://`", base_dir)?;
    Some(Connection::Openstack(OpenstackConnection {
        auth_url,
        credentials,
        project: connection.project.map(|project| project.value),
        domain: connection
            .domain
            .map_or_else(|| "Default".to_owned(), |domain| domain.value),
        region: connection.region.map(|region| region.value),
        tls,
    }))
}

/// Reports a field that must be written as it is, not taken from a secret.
fn literal(report: &mut Report, field: &Located<String>) {
    if field.value.contains("${{") {
        report.push(
            Diagnostic::new(field.location, "this field cannot use `${{ … }}`")
                .with_hint("write its value; only `username` and `password` take secrets"),
        );
    }
}
