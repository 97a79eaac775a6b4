"""Runs the official Python XenAPI client (PyPI XenAPI, pinned in tests/python/requirements.txt)
against a simulated pool, so that the simulator is checked by a client Lifeboat did not write.

Usage: xenapi_conformance.py URL USERNAME PASSWORD

Each check logs in on its own session. Exit status 0 when every check passes; a failed assert
prints its traceback and exits 1. host/sim/tests/python_conformance.rs starts the simulator and
runs this script.
"""

import re
import socket
import sys
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


# What the simulator implements today, in order; checks for snapshots, clones and exports are
# appended here as the simulator gains them.
CHECKS = [
    check_vm_records,
    check_pool_and_api_version,
    check_rpc2_path,
    check_events,
    check_errors,
    check_logout,
    check_bad_password,
    check_list_methods,
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
