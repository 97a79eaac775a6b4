//! Nova (reference §2.7): flavors, the fixture's instance as Nova shows it, boot from volumes
//! with Nova's checks, the build, the attachments, and the delete.

use lifeboat_sim::cloud::state::{Fault, Operation};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Session, example, settle};

#[tokio::test]
async fn flavors_and_the_instance_look_as_nova_shows_them() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let listed = admin
        .compute(Method::GET, "/flavors/detail?is_public=None", "2.61", None)
        .await;
    assert_eq!(listed.status, 200);
    let small = listed.body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "m1.small")
        .unwrap()
        .clone();
    assert_eq!(
        (
            small["vcpus"].as_u64(),
            small["ram"].as_u64(),
            small["disk"].as_u64()
        ),
        (Some(1), Some(2048), Some(20))
    );
    assert_eq!(small["os-flavor-access:is_public"], true);
    let one = admin
        .compute(
            Method::GET,
            &format!("/flavors/{}", small["id"].as_str().unwrap()),
            "2.61",
            None,
        )
        .await;
    assert_eq!(one.body["flavor"]["name"], "m1.small");
    let medium = listed.body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "m1.medium")
        .unwrap()
        .clone();
    let specs_path = format!("/flavors/{}/os-extra_specs", medium["id"].as_str().unwrap());
    let specs = admin.compute(Method::GET, &specs_path, "2.1", None).await;
    assert_eq!(
        specs.body["extra_specs"],
        json!({"hw:cpu_policy": "shared"})
    );
    let found = |query: &'static str| {
        let admin = &admin;
        async move {
            let answer = admin
                .compute(
                    Method::GET,
                    &format!("/servers/detail?{query}"),
                    "2.96",
                    None,
                )
                .await;
            answer.body["servers"].as_array().unwrap().len()
        }
    };
    assert_eq!(found("name=^web").await, 1, "name is a regular expression");
    assert_eq!(found("name=^nomatch$").await, 0);
    assert_eq!(found("status=ERROR").await, 0);
    assert_eq!(found("status=active").await, 1);
    admin
        .compute(Method::GET, "/servers/detail?name=(", "2.96", None)
        .await
        .error(400, "badRequest");
    let groups_url = format!(
        "{}/network/v2.0/security-groups?name=web",
        admin.cloud.base_url
    );
    let groups = super::send(Method::GET, &groups_url, Some(&admin.token), None, None).await;
    assert_eq!(groups.body["security_groups"].as_array().unwrap().len(), 1);

    let id = admin.cloud.server_id("web-1").unwrap();
    let server = admin
        .compute(Method::GET, &format!("/servers/{id}"), "2.96", None)
        .await
        .body["server"]
        .clone();
    assert_eq!(server["status"], "ACTIVE");
    assert_eq!(server["image"], "", "booted from a volume");
    assert_eq!(server["flavor"]["original_name"], "m1.small");
    assert_eq!(server["flavor"]["ram"], 2048);
    assert_eq!(server["key_name"], "ops");
    assert_eq!(server["tags"], json!(["dr", "web"]));
    assert_eq!(server["metadata"]["role"], "web");
    assert_eq!(
        server["security_groups"],
        json!([{"name": "default"}, {"name": "web"}])
    );
    let address = &server["addresses"]["production-net"][0];
    assert_eq!(address["addr"], "10.0.0.2");
    assert!(
        address["OS-EXT-IPS-MAC:mac_addr"]
            .as_str()
            .unwrap()
            .starts_with("fa:16:3e:")
    );
    assert_eq!(
        server["os-extended-volumes:volumes_attached"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let old = admin
        .compute(Method::GET, &format!("/servers/{id}"), "2.46", None)
        .await;
    assert!(
        old.body["server"]["flavor"].get("id").is_some(),
        "before 2.47 the flavor is a reference"
    );

    let attachments = admin
        .compute(
            Method::GET,
            &format!("/servers/{id}/os-volume_attachments"),
            "2.79",
            None,
        )
        .await;
    let devices: Vec<(&str, &str)> = attachments.body["volumeAttachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["device"].as_str().unwrap(),
                a["volumeId"].as_str().unwrap(),
            )
        })
        .collect();
    let names =
        ["web-1-system", "web-1-data", "web-1-logs"].map(|n| admin.cloud.volume_id(n).unwrap());
    assert_eq!(
        devices,
        [
            ("/dev/vda", names[0].as_str()),
            ("/dev/vdb", names[1].as_str()),
            ("/dev/vdc", names[2].as_str())
        ]
    );
    assert_eq!(
        attachments.body["volumeAttachments"][0]["delete_on_termination"],
        true
    );
}

fn boot(flavor: &str, mappings: Value, networks: Option<Value>) -> Value {
    let mut server =
        json!({"name": "booted", "flavorRef": flavor, "block_device_mapping_v2": mappings});
    if let Some(networks) = networks {
        server["networks"] = networks;
    }
    json!({"server": server})
}

fn mapping(volume: &str, boot_index: Option<i64>, delete: bool) -> Value {
    let mut mapping = json!({"uuid": volume, "source_type": "volume", "destination_type": "volume",
                             "delete_on_termination": delete});
    if let Some(index) = boot_index {
        mapping["boot_index"] = json!(index);
    }
    mapping
}

#[tokio::test]
async fn a_boot_from_volumes_is_checked_built_and_deleted() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let flavors = admin.compute(Method::GET, "/flavors", "2.96", None).await;
    let flavor = flavors.body["flavors"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let system = admin.blank_volume("boot", 1).await;
    let data = admin.blank_volume("data", 1).await;
    let in_use = admin.cloud.volume_id("web-1-data").unwrap();
    let refuse = |body: Value| {
        let admin = &admin;
        async move {
            admin
                .compute(Method::POST, "/servers", "2.96", Some(body))
                .await
        }
    };
    refuse(boot(
        &flavor,
        json!([mapping(&system, None, false)]),
        Some(json!("none")),
    ))
    .await
    .error(400, "badRequest");
    refuse(boot(
        &flavor,
        json!([mapping(&in_use, Some(0), false)]),
        Some(json!("none")),
    ))
    .await
    .error(400, "badRequest");
    let no_networks = refuse(boot(
        &flavor,
        json!([mapping(&system, Some(0), false)]),
        None,
    ))
    .await;
    assert!(no_networks.error(400, "badRequest").contains("networks"));
    refuse(boot(
        "no-such-flavor",
        json!([mapping(&system, Some(0), false)]),
        Some(json!("none")),
    ))
    .await
    .error(400, "badRequest");
    let unknown_net = json!([{"uuid": "00000000-0000-0000-0000-000000000000"}]);
    refuse(boot(
        &flavor,
        json!([mapping(&system, Some(0), false)]),
        Some(unknown_net),
    ))
    .await
    .error(400, "badRequest");
    let mut tagged = boot(
        &flavor,
        json!([mapping(&system, Some(0), false)]),
        Some(json!("none")),
    );
    tagged["server"]["tags"] = json!(["x"]);
    admin
        .compute(Method::POST, "/servers", "2.51", Some(tagged))
        .await
        .error(400, "badRequest");

    let body = boot(
        &flavor,
        json!([mapping(&data, None, true), mapping(&system, Some(0), false)]),
        Some(json!("auto")),
    );
    let created = admin
        .compute(Method::POST, "/servers", "2.96", Some(body))
        .await;
    assert_eq!(created.status, 202, "{created:?}");
    let id = created.body["server"]["id"].as_str().unwrap().to_owned();
    let path = format!("/servers/{id}");
    assert_eq!(
        admin.compute(Method::GET, &path, "2.96", None).await.body["server"]["status"],
        "BUILD"
    );
    assert_eq!(admin.get_volume(&system).await["status"], "reserved");
    settle(&admin.cloud);
    let server = admin.compute(Method::GET, &path, "2.96", None).await.body["server"].clone();
    assert_eq!(server["status"], "ACTIVE");
    assert_eq!(
        server["addresses"]["production-net"][0]["addr"], "10.0.0.3",
        "auto took the project's network"
    );
    let system_volume = admin.get_volume(&system).await;
    assert_eq!(system_volume["status"], "in-use");
    assert_eq!(
        system_volume["attachments"][0]["device"], "/dev/vda",
        "the boot volume is vda"
    );
    assert_eq!(
        admin.get_volume(&data).await["attachments"][0]["device"],
        "/dev/vdb"
    );

    assert_eq!(
        admin
            .compute(Method::DELETE, &path, "2.96", None)
            .await
            .status,
        204
    );
    settle(&admin.cloud);
    admin
        .compute(Method::GET, &path, "2.96", None)
        .await
        .error(404, "itemNotFound");
    assert_eq!(
        admin.get_volume(&system).await["status"],
        "available",
        "kept: delete_on_termination false"
    );
    settle(&admin.cloud);
    admin
        .volume(Method::GET, &format!("/volumes/{data}"), "3.71", None)
        .await
        .error(404, "itemNotFound");
}

#[tokio::test]
async fn a_failed_build_leaves_the_server_in_error_and_frees_its_volumes() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let flavors = admin.compute(Method::GET, "/flavors", "2.96", None).await;
    let flavor = flavors.body["flavors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let system = admin.blank_volume("boot", 1).await;
    admin.cloud.arm(&Fault::Fail {
        operation: Operation::ServerBuild,
        count: 1,
        reason: "No valid host was found.".into(),
    });
    let body = boot(
        &flavor,
        json!([mapping(&system, Some(0), false)]),
        Some(json!("none")),
    );
    let created = admin
        .compute(Method::POST, "/servers", "2.96", Some(body))
        .await;
    let id = created.body["server"]["id"].as_str().unwrap();
    settle(&admin.cloud);
    let server = admin
        .compute(Method::GET, &format!("/servers/{id}"), "2.96", None)
        .await
        .body["server"]
        .clone();
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["fault"]["message"], "No valid host was found.");
    assert_eq!(admin.get_volume(&system).await["status"], "available");
}
