//! Connections: the fields each kind takes, URLs, and credentials that come from secrets only.
//! One module per kind ([`xapi`], [`remote`], [`openstack`]); [`fields`] holds what they share.

mod fields;
mod openstack;
mod remote;
mod xapi;

use std::collections::BTreeMap;
use std::path::Path;

use super::{Declared, Report, names};
use crate::document;
use crate::location::Located;
use crate::model::{Connection, ConnectionKind};

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
            ConnectionKind::Xapi => {
                openstack::not_taken(report, &connection);
                xapi::check(report, declared, &name, connection, base_dir)
            }
            ConnectionKind::Remote | ConnectionKind::Fs => {
                openstack::not_taken(report, &connection);
                remote::check(report, declared, &name, connection, base_dir)
            }
            ConnectionKind::Openstack => {
                openstack::check(report, declared, &name, connection, base_dir)
            }
        };
        if let (true, Some(connection)) = (name_ok, connection) {
            checked.insert(name.value, connection);
        }
    }
    checked
}
