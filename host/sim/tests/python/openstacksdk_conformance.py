"""openstacksdk (pinned in tests/python/requirements.txt) against Lifeboat's cloud simulator.

Usage: openstacksdk_conformance.py CONFIG_JSON

CONFIG_JSON names two clouds sharing a backup store ("east", "west"), each with its auth URL,
its region, the base URL of its /_sim control plane, and credentials: an administrator of both
east tenants (production, recovery), east's application credential of a member of production,
and west's administrator. The script runs the DR-relevant API through the official client and
exits non-zero, with the failed step, at the first surprise.
"""

import hashlib
import json
import sys
import urllib.request

import openstack
from openstack import exceptions

FAST = 0.05  # seconds between status polls: the simulator's transitions take milliseconds


def step(message):
    print(f"-- {message}", flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_raises(kind, call, message):
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"{message}: no {kind.__name__} raised")


def control(cloud, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(cloud["control"] + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:
        return response.read()


def volume_sha256(cloud, volume_id):
    return hashlib.sha256(control(cloud, "GET", f"/volumes/{volume_id}/content")).hexdigest()


def connect(cloud, user, project, auth_url=None):
    return openstack.connect(
        auth_url=auth_url or cloud["auth_url"],
        username=user["username"],
        password=user["password"],
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=cloud["region"],
    )


def wait_volume(conn, volume, status="available", failures=("error",)):
    # wait_for_status returns at once when the object in hand already has the status: read the
    # volume afresh first, or a restore just started would look finished.
    volume = conn.block_storage.get_volume(volume)
    return conn.block_storage.wait_for_status(
        volume, status, failures=list(failures), interval=FAST, wait=30
    )


def wait_backup(conn, backup):
    return conn.block_storage.wait_for_status(
        backup, "available", failures=["error"], interval=FAST, wait=30
    )


def main():
    config = json.loads(sys.argv[1])
    east, west = config["east"], config["west"]

    step("connect with a versioned auth URL, an unversioned one, and an application credential")
    admin = connect(east, east["admin"], "production")
    root = connect(east, east["admin"], "production", auth_url=east["auth_url"].rsplit("/v3", 1)[0])
    expect(len(list(root.block_storage.volumes())) >= 3, "the root auth URL reaches Cinder")
    credential = east["application_credential"]
    member = openstack.connect(
        auth_url=east["auth_url"],
        auth_type="v3applicationcredential",
        application_credential_name=credential["name"],
        application_credential_secret=credential["secret"],
        username=credential["user"],
        user_domain_name="Default",
        region_name=east["region"],
    )
    expect(member.current_project_id == admin.current_project_id, "the credential's project")

    step("list flavors")
    flavors = {f.name: f for f in admin.compute.flavors()}
    expect({"m1.tiny", "m1.small", "m1.medium"} <= set(flavors), f"flavors: {sorted(flavors)}")
    small = flavors["m1.small"]
    expect((small.vcpus, small.ram, small.disk) == (1, 2048, 20), "m1.small's shape")
    expect(flavors["m1.medium"].extra_specs == {"hw:cpu_policy": "shared"}, "extra_specs at 2.61")

    step("read the instance: server, attachments, volumes with bootable as a string")
    server = next(s for s in admin.compute.servers() if s.name == "web-1")
    expect(server.status == "ACTIVE", f"web-1 is {server.status}")
    expect(server.flavor.original_name == "m1.small", "the flavor is embedded (2.47+)")
    expect(sorted(server.tags) == ["dr", "web"], f"tags: {server.tags}")
    expect(server.key_name == "ops" and server.metadata == {"role": "web", "owner": "team-a"}, "server metadata")
    expect("production-net" in server.addresses, f"addresses: {server.addresses}")
    attachments = sorted(admin.compute.volume_attachments(server), key=lambda a: a.device)
    expect([a.device for a in attachments] == ["/dev/vda", "/dev/vdb", "/dev/vdc"], "three devices")
    system = admin.block_storage.get_volume(attachments[0].volume_id)
    data = admin.block_storage.get_volume(attachments[1].volume_id)
    expect(system.name == "web-1-system" and system.is_bootable is True, "the system volume boots")
    expect(system.volume_image_metadata.get("hw_firmware_type") == "uefi", "image metadata")
    expect(data.is_bootable is False and data.status == "in-use", "the data volume")

    step("create a volume, set it bootable with image metadata")
    scratch = admin.block_storage.create_volume(size=1, name="scratch")
    scratch = wait_volume(admin, scratch)
    expect(scratch.is_bootable is False, "a blank volume does not boot")
    admin.block_storage.set_volume_bootable_status(scratch, True)
    admin.block_storage.set_volume_image_metadata(scratch, hw_machine_type="q35")
    scratch = admin.block_storage.get_volume(scratch)
    expect(scratch.is_bootable is True, "set bootable")
    expect(scratch.volume_image_metadata == {"hw_machine_type": "q35"}, "set image metadata")

    step("back up an in-use volume: refused without force, taken with it")
    error = expect_raises(
        exceptions.BadRequestException,
        lambda: admin.block_storage.create_backup(volume_id=data.id, name="no-force"),
        "a backup of an in-use volume without force",
    )
    expect("force" in str(error), f"the refusal says why: {error}")
    full = admin.block_storage.create_backup(volume_id=data.id, name="data-full", force=True)
    expect(wait_volume(admin, data, status="in-use").status == "in-use", "back in use afterwards")
    full = wait_backup(admin, full)
    expect(full.is_incremental is False and full.size == 1, "a full backup of 1 GiB")

    step("an incremental backup after the guest changed a block")
    original_sha = volume_sha256(east, data.id)
    request = urllib.request.Request(
        east["control"] + f"/volumes/{data.id}/content?offset=70000",
        data=b"changed by the guest",
        method="PUT",
    )
    urllib.request.urlopen(request).read()
    changed_sha = volume_sha256(east, data.id)
    incremental = admin.block_storage.create_backup(
        volume_id=data.id, name="data-incr", force=True, is_incremental=True
    )
    incremental = wait_backup(admin, incremental)
    expect(incremental.is_incremental is True, "the second backup is incremental")
    full = admin.block_storage.get_backup(full)
    expect(full.has_dependent_backups is True, "the full backup has a dependent")
    state = json.loads(control(east, "GET", "/state"))
    counts = {b["id"]: b["object_count"] for b in state["backups"]}
    # 4 blocks + hash file + metadata for the full; 1 changed block + 2 for the incremental.
    expect((counts[full.id], counts[incremental.id]) == (6, 3), f"objects stored: {counts}")

    step("deleting a backup with dependents is refused")
    error = expect_raises(
        exceptions.BadRequestException,
        lambda: admin.block_storage.delete_backup(full, ignore_missing=False),
        "deleting a parent",
    )
    expect("Incremental backups exist" in str(error), f"the refusal says why: {error}")

    step("restore the incremental chain into a new volume, and into an existing one")
    restore = admin.block_storage.restore_backup(incremental, name="restored-data")
    restored = wait_volume(admin, restore.volume_id)
    expect(restored.name == "restored-data" and restored.size == 1, "a new 1 GiB volume")
    expect(volume_sha256(east, restored.id) == changed_sha, "the chain restores the changed bytes")
    expect(restored.metadata.get("src_backup_id") == incremental.id, "src_backup_id")
    expect(restored.metadata.get("mount") == "/srv", "volume metadata restored")
    admin.block_storage.restore_backup(full, volume=scratch)
    scratch = wait_volume(admin, scratch)
    expect(scratch.name == "scratch", "a named target keeps its name")
    expect(volume_sha256(east, scratch.id) == original_sha, "the full backup restores the old bytes")

    step("restore checks: a target too small, and a restore that fails")
    tiny = wait_volume(admin, admin.block_storage.create_volume(size=1, name="tiny"))
    two = wait_backup(admin, admin.block_storage.create_backup(volume_id=system.id, force=True, name="system"))
    expect_raises(
        exceptions.BadRequestException,
        lambda: admin.block_storage.restore_backup(two, volume=tiny),
        "a restore onto a smaller volume",
    )
    control(east, "POST", "/faults", {"kind": "fail", "operation": "restore", "reason": "injected"})
    admin.block_storage.restore_backup(full, volume=tiny)
    expect_raises(
        exceptions.ResourceFailure,
        lambda: wait_volume(admin, tiny, failures=("error_restoring",)),
        "the injected restore failure",
    )
    expect(admin.block_storage.get_volume(tiny).status == "error_restoring", "error_restoring")

    step("export a record (admin), import it into the other cloud by the raw endpoint")
    record = admin.block_storage.export_backup(full)
    record = record.get("backup-record", record)
    expect(set(record) == {"backup_service", "backup_url"}, f"record fields: {sorted(record)}")
    error = expect_raises(
        exceptions.ForbiddenException,
        lambda: member.block_storage.export_backup(full),
        "a member exporting a record",
    )
    far = connect(west, west["admin"], "dr-site")
    response = far.block_storage.post(
        "/backups/import_record", json={"backup-record": record}, microversion="3.64"
    )
    expect(response.status_code == 201, f"import answers {response.status_code}: {response.text}")
    imported_id = response.json()["backup"]["id"]
    expect(imported_id == full.id, "the import keeps the backup's id")
    imported = wait_backup(far, far.block_storage.get_backup(imported_id))
    again = far.block_storage.post(
        "/backups/import_record", json={"backup-record": record}, microversion="3.64"
    )
    expect(again.status_code == 400, f"a second import answers {again.status_code}")
    expect("already exists" in again.text, f"the refusal says why: {again.text}")

    step("restore the imported backup on the other cloud, byte for byte")
    far_restore = far.block_storage.restore_backup(imported, name="far-data")
    far_volume = wait_volume(far, far_restore.volume_id)
    expect(far_volume.name == "far-data", "the new volume's name")
    expect(volume_sha256(west, far_volume.id) == original_sha, "the far restore is byte for byte")

    step("boot a server from volumes (boot index 0 and a data volume)")
    booted = admin.compute.create_server(
        name="restored-web",
        flavor_id=small.id,
        networks="none",
        block_device_mapping=[
            {"boot_index": 0, "uuid": scratch.id, "source_type": "volume",
             "destination_type": "volume", "delete_on_termination": False},
            {"uuid": restored.id, "source_type": "volume", "destination_type": "volume",
             "delete_on_termination": True},
        ],
    )
    booted = admin.compute.wait_for_server(booted, interval=FAST, wait=30)
    expect(booted.status == "ACTIVE", f"the server is {booted.status}")
    attached = sorted(v["id"] for v in booted.attached_volumes)
    expect(attached == sorted([scratch.id, restored.id]), f"attached: {attached}")
    expect(admin.block_storage.get_volume(scratch).status == "in-use", "volumes in use")
    admin.compute.delete_server(booted)
    admin.compute.wait_for_delete(booted, interval=FAST, wait=30)
    admin.block_storage.wait_for_delete(restored, interval=FAST, wait=30)
    expect(wait_volume(admin, scratch).status == "available", "the kept volume is free again")

    step("delete the chain newest first")
    admin.block_storage.delete_backup(incremental)
    admin.block_storage.wait_for_delete(incremental, interval=FAST, wait=30)
    admin.block_storage.delete_backup(full)
    admin.block_storage.wait_for_delete(full, interval=FAST, wait=30)
    expect_raises(
        exceptions.NotFoundException,
        lambda: admin.block_storage.get_backup(full.id),
        "a deleted backup",
    )

    step("the import shared the deleted backup's objects: restoring it now fails")
    far.block_storage.restore_backup(imported, volume=far_volume)
    expect_raises(
        exceptions.ResourceFailure,
        lambda: wait_volume(far, far_volume, failures=("error_restoring",)),
        "a restore whose objects are gone",
    )
    print("openstacksdk conformance: all steps passed")


if __name__ == "__main__":
    main()
