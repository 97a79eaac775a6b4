//! The client's readers of what a cloud answers, in one entry point for the fuzz target
//! (`fuzz/fuzz_targets/cloud_answers.rs`) and the mutation test: error bodies, version
//! documents with their links, tokens with their catalogs, and every resource the client
//! decodes. Whatever the bytes, they are read or refused, never a panic.

use url::Url;

use crate::ServiceType;
use crate::auth::catalog::Interface;
use crate::auth::keystone::Token;
use crate::block_storage::{AcceptedTransfer, Backup, Snapshot, Volume};
use crate::compute::{Flavor, Server};
use crate::{discovery, fault};

/// Reads `body` as each kind of answer the client takes from a cloud.
pub fn read_answers(body: &[u8]) {
    let _ = fault::message(body, &["secret"]);
    let probed = Url::parse("http://cloud.invalid/volume/v3/").expect("a valid URL");
    for major in [2, 3] {
        if let Ok(version) = discovery::read_document(body, &probed, major) {
            let _ = format!("{version:?}");
        }
    }
    if let Ok(token) = Token::parse(Some("token"), body) {
        let _ = token.lifetime();
        for service in [
            ServiceType::BlockStorage,
            ServiceType::Compute,
            ServiceType::Network,
        ] {
            let _ = token
                .catalog
                .url(service, Interface::Public, Some("RegionOne"));
        }
    }
    let _ = serde_json::from_slice::<Volume>(body);
    let _ = serde_json::from_slice::<Snapshot>(body);
    let _ = serde_json::from_slice::<Backup>(body);
    let _ = serde_json::from_slice::<AcceptedTransfer>(body);
    let _ = serde_json::from_slice::<Flavor>(body);
    let _ = serde_json::from_slice::<Server>(body);
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::read_answers;

    /// Answers of the shapes a cloud sends, for the mutations to start from.
    const SEEDS: &[&str] = &[
        r#"{"badRequest": {"code": 400, "message": "Invalid volume: in-use"}}"#,
        r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#,
        r#"{"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.71", "min_version": "3.0", "links": [{"rel": "self", "href": "http://h/volume/v3/"}]}]}"#,
        r#"{"version": {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1", "links": [{"rel": "self", "href": "../v2.1/"}]}}"#,
        r#"{"versions": {"values": [{"id": "v3.14", "status": "stable", "links": [{"rel": "self", "href": "http://h/identity/v3/"}]}]}}"#,
        r#"{"token": {"methods": ["password"], "expires_at": "2026-11-22T05:00:00.000000Z", "issued_at": "2026-11-22T04:00:00.000000Z", "user": {"id": "u", "name": "admin", "domain": {"id": "default", "name": "Default"}}, "project": {"id": "p", "name": "production", "domain": {"id": "default", "name": "Default"}}, "roles": [{"id": "r", "name": "admin"}], "catalog": [{"type": "block-storage", "endpoints": [{"interface": "public", "region_id": "RegionOne", "url": "http://h/volume/v3/p"}]}]}}"#,
        r#"{"id": "v", "name": "web-1-system", "status": "in-use", "size": 2, "bootable": "true", "encrypted": false, "volume_type": "standard", "metadata": {"a": "b"}, "volume_image_metadata": {"hw_firmware_type": "uefi"}, "attachments": [{"server_id": "s", "device": "/dev/vda", "attachment_id": "x"}], "availability_zone": "nova"}"#,
        r#"{"id": "b", "name": null, "status": "available", "size": 1, "object_count": 6, "is_incremental": true, "has_dependent_backups": false, "data_timestamp": "2026-11-22T04:00:00.000000", "created_at": "2026-11-22T04:00:00.000000", "volume_id": "v", "fail_reason": null, "metadata": {}}"#,
        r#"{"id": "f", "name": "m1.small", "ram": 2048, "vcpus": 1, "disk": 20, "swap": "", "OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": true, "extra_specs": {"k": "v"}}"#,
        r#"{"id": "s", "name": "web-1", "status": "ACTIVE", "flavor": {"original_name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20, "ephemeral": 0, "swap": 0, "extra_specs": {}}, "addresses": {"net": [{"addr": "10.0.0.2", "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]}, "os-extended-volumes:volumes_attached": [{"id": "v", "delete_on_termination": true}], "security_groups": [{"name": "default"}], "metadata": {}, "tags": ["dr"], "key_name": "ops", "OS-EXT-AZ:availability_zone": "nova", "image": ""}"#,
    ];

    /// Thousands of mutated answers — bytes flipped, cut short, spliced from other answers —
    /// are read or refused without a panic. The fuzz target `cloud_answers` does the same
    /// without bounds.
    #[test]
    fn mutated_answers_never_panic() {
        let mut random = StdRng::seed_from_u64(11);
        for seed in SEEDS {
            read_answers(seed.as_bytes());
        }
        for _ in 0..20_000 {
            let mut body = SEEDS[random.random_range(0..SEEDS.len())]
                .as_bytes()
                .to_vec();
            for _ in 0..random.random_range(1..4) {
                match random.random_range(0..3) {
                    0 => {
                        let at = random.random_range(0..body.len());
                        body[at] = random.random();
                    }
                    1 => body.truncate(random.random_range(0..body.len())),
                    _ => {
                        let other = SEEDS[random.random_range(0..SEEDS.len())].as_bytes();
                        let from = random.random_range(0..other.len());
                        let at = random.random_range(0..=body.len());
                        body.splice(at..at, other[from..].iter().take(30).copied());
                    }
                }
                if body.is_empty() {
                    break;
                }
            }
            read_answers(&body);
        }
    }
}
