"""Runs the official Python XenAPI client (PyPI XenAPI, pinned in tests/python/requirements.txt)
against a simulated pool, so that the simulator is checked by a client Lifeboat did not write.

Usage: xenapi_conformance.py URL USERNAME PASSWORD

Each check logs in on its own session. Exit status 0 when every check passes; a failed assert
prints its traceback and exits 1. host/sim/tests/python_conformance.rs starts the simulator and
runs this script.
"""

import re
import socket
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client

import XenAPI

# A simulator that stops answering must fail the test rather than hang it (http.client, under
# xmlrpc.client, takes its timeout from here).
socket.setdefaulttimeout(60)

TOKEN = re.compile(r"^\d{20},\d{20}$")
DATE = re.compile(r"^\d{8}T\d\d:\d\d:\d\dZ$")
ORIGINATOR = "lifeboat-conformance"


def login(url, user, password):
    session = XenAPI.Session(url)
    session.xenapi.login_with_password(user, password, "2.21", ORIGINATOR)
    assert session.handle.startswith("OpaqueRef:"), session.handle
    return session


def failure(call, *args):
    """The details of the XenAPI.Failure that `call(*args)` raises."""
    try:
        result = call(*args)
    except XenAPI.Failure as error:
        return error.details
    raise AssertionError(f"expected a XenAPI.Failure, got {result!r}")


def is_date(value):
    # XenAPI.Session keeps xmlrpc.client's default of DateTime objects for <dateTime.iso8601>.
    text = value.value if isinstance(value, xmlrpc.client.DateTime) else value
    return isinstance(text, str) and DATE.match(text) is not None


def find_vm(session, name):
    refs = session.xenapi.VM.get_by_name_label(name)
    assert len(refs) == 1, (name, refs)
    return refs[0]


def check_vm_records(url, user, password):
    session = login(url, user, password)
    records = session.xenapi.VM.get_all_records()
    assert sorted(records) == sorted(session.xenapi.VM.get_all()), "get_all_records keys are refs"

    control = [r for r in records.values() if r["is_control_domain"] is True]
    assert len(control) == 2, f"one control domain per host, got {len(control)}"
    assert all(type(r["is_control_domain"]) is bool for r in records.values())

    templates = [r for r in records.values() if r["is_default_template"]]
    assert templates, "the pool has default templates"
    assert all(r["is_a_template"] is True for r in templates)

    webs = {ref: r for ref, r in records.items() if r["name_label"] == "web01"}
    assert len(webs) == 1, sorted(webs)
    ((web_ref, web),) = webs.items()
    assert web["power_state"] == "Running", web["power_state"]
    assert web["tags"] == ["prod", "web"], web["tags"]
    assert web["is_a_template"] is False and web["is_control_domain"] is False
    # int64 fields arrive untyped over XML-RPC, hence as strings of digits.
    memory = web["memory_static_max"]
    assert isinstance(memory, str) and memory.isdigit(), repr(memory)
    assert int(memory) == 2 << 30, memory
    assert web["VCPUs_max"] == "2", repr(web["VCPUs_max"])
    assert is_date(web["snapshot_time"]), repr(web["snapshot_time"])
    assert web["uuid"] and session.xenapi.VM.get_by_uuid(web["uuid"]) == web_ref

    assert len(web["VBDs"]) == 2, web["VBDs"]
    for vbd in web["VBDs"]:
        assert session.xenapi.VBD.get_VM(vbd) == web_ref, vbd
    assert session.xenapi.VM.get_record(web_ref) == web


def check_pool_and_api_version(url, user, password):
    session = login(url, user, password)
    pools = session.xenapi.pool.get_all()
    assert len(pools) == 1, pools
    master = session.xenapi.pool.get_master(pools[0])
    assert master in session.xenapi.host.get_all(), master
    assert session.xenapi.host.get_name_label(master) == "prod-host1"
    assert session.xenapi.host.get_API_version_major(master) == "2"
    # The client's own version probe (pool.get_all, get_master, get_API_version_major/minor).
    major, minor = session.API_version.split(".")
    assert major == "2" and minor.isdigit(), session.API_version


def check_rpc2_path(url, user, password):
    # Without a path, xmlrpc.client posts to /RPC2 instead of /.
    session = login(url.rstrip("/"), user, password)
    assert len(session.xenapi.pool.get_all()) == 1


def check_events(url, user, password):
    session = login(url, user, password)
    event_from = getattr(session.xenapi.event, "from")  # `from` is a Python keyword
    vms = session.xenapi.VM.get_all()

    dump = event_from(["vm"], "", 0.0)
    assert TOKEN.match(dump["token"]), dump["token"]
    events = dump["events"]
    assert all(e["class"] == "vm" and e["operation"] == "add" for e in events), events[:1]
    assert sorted(e["ref"] for e in events) == sorted(vms)
    assert all(e["snapshot"]["uuid"] for e in events)
    assert dump["valid_ref_counts"]["vm"] == len(vms), dump["valid_ref_counts"]

    web = find_vm(session, "web01")
    session.xenapi.VM.set_name_label(web, "web01 renamed by XenAPI")
    try:
        changes = event_from(["vm"], dump["token"], 5.0)
        assert len(changes["events"]) == 1, changes["events"]
        (change,) = changes["events"]
        assert change["operation"] == "mod" and change["ref"] == web, change
        assert change["snapshot"]["name_label"] == "web01 renamed by XenAPI", change
        assert changes["token"] > dump["token"], (changes["token"], dump["token"])
    finally:
        # The other checks find the VM by its fixture name.
        session.xenapi.VM.set_name_label(web, "web01")

    pool = session.xenapi.pool.get_all()[0]
    token = session.xenapi.event.inject("pool", pool)
    assert isinstance(token, str) and TOKEN.match(token), repr(token)
    # XO starts its event loop from such a token and expects the injected change first.
    injected = event_from(["pool"], token, 5.0)["events"]
    assert [(e["operation"], e["ref"]) for e in injected] == [("mod", pool)], injected


def check_errors(url, user, password):
    session = login(url, user, password)
    null = "OpaqueRef:NULL"
    details = failure(session.xenapi.VM.get_record, null)
    assert details == ["HANDLE_INVALID", "VM", null], details

    details = failure(session.xenapi_request, "VM.get_record", ())
    assert details == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "1", "0"], details

    details = failure(session.xenapi.VM.frobnicate)
    assert details == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"], details


def check_logout(url, user, password):
    session = login(url, user, password)
    old = session.handle
    session.xenapi.session.logout()
    assert session.handle is None
    # A raw proxy, because XenAPI.Session hides SESSION_INVALID behind a new login.
    answer = xmlrpc.client.ServerProxy(url).VM.get_all(old)
    assert answer == {"Status": "Failure", "ErrorDescription": ["SESSION_INVALID", old]}, answer


def check_bad_password(url, user, password):
    session = XenAPI.Session(url)
    details = failure(
        session.xenapi.login_with_password, user, password + "-wrong", "2.21", ORIGINATOR
    )
    assert details[:2] == ["SESSION_AUTHENTICATION_FAILED", user], details
    assert session.handle is None


def check_list_methods(url, user, password):
    methods = xmlrpc.client.ServerProxy(url).system.listMethods()
    # xapi answers this one call without the Status/Value envelope.
    assert isinstance(methods, list), type(methods)
    assert all(isinstance(m, str) for m in methods)
    assert "VM.get_all_records" in methods
    assert "session.login_with_password" in methods


def check_snapshot_and_clone(url, user, password):
    session = login(url, user, password)
    db = find_vm(session, "db01")
    snapshot = session.xenapi.VM.snapshot(db, "conformance snapshot")
    record = session.xenapi.VM.get_record(snapshot)
    assert record["is_a_snapshot"] is True and record["is_a_template"] is True, record
    assert record["snapshot_of"] == db and record["power_state"] == "Halted", record
    assert record["blocked_operations"] == {}, record["blocked_operations"]
    assert snapshot in session.xenapi.VM.get_snapshots(db)
    assert session.xenapi.VM.get_parent(db) == snapshot
    for vbd in record["VBDs"]:
        vdi = session.xenapi.VBD.get_VDI(vbd)
        assert session.xenapi.VDI.get_is_a_snapshot(vdi) is True, vdi
        source = session.xenapi.VDI.get_snapshot_of(vdi)
        assert vdi in session.xenapi.VDI.get_snapshots(source), (vdi, source)

    clone = session.xenapi.VM.clone(snapshot, "conformance clone")
    clone_record = session.xenapi.VM.get_record(clone)
    assert clone_record["is_a_snapshot"] is False, clone_record
    assert clone_record["snapshot_of"] == "OpaqueRef:NULL", clone_record["snapshot_of"]
    assert clone_record["is_a_template"] is True, "a clone of a snapshot is a template"
    assert clone_record["uuid"] != record["uuid"]

    web = find_vm(session, "web01")
    details = failure(session.xenapi.VM.clone, web, "running clone")
    assert details == ["VM_BAD_POWER_STATE", web, "halted", "running"], details
    session.xenapi.VM.destroy(clone)
    session.xenapi.VM.destroy(snapshot)


def check_blocked_operations(url, user, password):
    session = login(url, user, password)
    db = find_vm(session, "db01")
    session.xenapi.VM.add_to_blocked_operations(db, "start", "conformance")
    try:
        details = failure(session.xenapi.VM.start, db, False, False)
        assert details == ["OPERATION_BLOCKED", db, "conformance"], details
        details = failure(session.xenapi.VM.add_to_blocked_operations, db, "start", "again")
        assert details == ["MAP_DUPLICATE_KEY", "VM", "blocked_operations", db, "start"], details
    finally:
        session.xenapi.VM.remove_from_blocked_operations(db, "start")
    session.xenapi.VM.remove_from_blocked_operations(db, "start")  # idempotent
    assert session.xenapi.VM.get_blocked_operations(db) == {}


def transfer(url, session, path, vdi, body=None, **query):
    """GETs (or PUTs `body` to) a data handler; returns the response body."""
    query = dict(query, vdi=vdi, session_id=session.handle)
    target = urllib.parse.urljoin(url, path) + "?" + urllib.parse.urlencode(query)
    method = "GET" if body is None else "PUT"
    request = urllib.request.Request(target, data=body, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200, response.status
        assert response.headers["task-id"].startswith("OpaqueRef:"), dict(response.headers)
        return response.read()


def check_delta_export_and_import(url, user, password):
    session = login(url, user, password)
    db = find_vm(session, "db01")
    (vbd,) = session.xenapi.VM.get_VBDs(db)
    disk = session.xenapi.VBD.get_VDI(vbd)
    base = session.xenapi.VDI.snapshot(disk)

    # Change the disk after the base snapshot: one 4 KiB run in the first block, written as a
    # raw image of that block only (a raw import writes every block it carries, as xapi does).
    raw = bytearray(transfer(url, session, "/export_raw_vdi", disk, format="raw"))
    assert len(raw) == int(session.xenapi.VDI.get_virtual_size(disk))
    raw[4096:8192] = b"\x42" * 4096
    block = 2 * 1024 * 1024
    transfer(url, session, "/import_raw_vdi", disk, bytes(raw[:block]), format="raw")
    current = session.xenapi.VDI.snapshot(disk)

    delta = transfer(url, session, "/export_raw_vdi", current, format="vhd", base=base)
    footer = delta[-512:]
    assert footer[:8] == b"conectix", footer[:8]
    (disk_type,) = struct.unpack(">I", footer[60:64])
    assert disk_type == 4, f"a differencing VHD, got disk type {disk_type}"
    assert len(delta) < len(raw) // 4, "only the changed blocks travel"

    target = session.xenapi.VDI.clone(base)
    transfer(url, session, "/import_raw_vdi", target, delta, format="vhd")
    rebuilt = transfer(url, session, "/export_raw_vdi", target, format="raw")
    assert rebuilt == bytes(raw), "the delta onto a clone of the base reproduces the disk"
    before = transfer(url, session, "/export_raw_vdi", base, format="raw")
    assert before != rebuilt and before[8192:] == rebuilt[8192:]

    details = None
    try:
        transfer(url, session, "/export_raw_vdi", disk, format="qcow3")
    except urllib.error.HTTPError as error:
        details = error.code
    assert details == 404, details


# Every check, in order.
CHECKS = [
    check_vm_records,
    check_pool_and_api_version,
    check_rpc2_path,
    check_events,
    check_errors,
    check_logout,
    check_bad_password,
    check_list_methods,
    check_snapshot_and_clone,
    check_blocked_operations,
    check_delta_export_and_import,
]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    url, user, password = sys.argv[1:]
    for check in CHECKS:
        check(url, user, password)
        print("ok", check.__name__, flush=True)


if __name__ == "__main__":
    main()
