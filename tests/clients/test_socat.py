"""The runtime API driven with socat exactly as operators' scripts do (`echo CMD | socat - UNIX-CONNECT:sock`).

One proxy process per parametrised run: haproxy-py (``ours``) and Debian's HAProxy 2.6 (``haproxy``) get
the same config (three unix sockets at levels user/operator/admin, one TCP socket, two recording
backends) and the same socat invocations; replies that do not depend on timing must be byte-identical.
"""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import free_port
from tests.integration.harness import (
    HTTP_DEFAULTS,
    MAIN_TO_APP,
    get,
    http_backends,
    require_haproxy,
    run_proxy,
    wait_files,
)
from tests.integration.stats_client import socat

CFG = """
global
    stats socket @DIR@/admin.sock mode 600 level admin
    stats socket @DIR@/oper.sock mode 640 level operator
    stats socket @DIR@/user.sock mode 666 level user
    stats socket ipv4@127.0.0.1:{tcp} level admin
    stats timeout 5s
""" + HTTP_DEFAULTS + MAIN_TO_APP + """\
    server app1 127.0.0.1:{p1}
    server app2 127.0.0.1:{p2} weight 2
"""


@pytest.fixture(params=["ours", "haproxy"], scope="module")
def proxy(request):  # type: ignore[no-untyped-def]
    require_haproxy(request.param, "the differential half")
    with http_backends("app1", "app2") as (b1, b2):
        fe, tcp = free_port(), free_port()
        cfg = CFG.format(fe=fe, tcp=tcp, p1=b1.port, p2=b2.port)
        with run_proxy(cfg, wait_ports=[fe, tcp], which=request.param) as pp:
            d = pp.workdir
            # HAProxy binds its unix sockets after the TCP listeners: a TCP port answering is not enough
            wait_files([d / "admin.sock", d / "oper.sock", d / "user.sock"])
            yield {
                "which": request.param, "fe": fe, "pid": pp.pid, "backends": (b1, b2),
                "admin": f"UNIX-CONNECT:{d}/admin.sock", "oper": f"UNIX-CONNECT:{d}/oper.sock",
                "user": f"UNIX-CONNECT:{d}/user.sock", "tcp": f"TCP:127.0.0.1:{tcp}", "dir": d,
            }


def test_socket_file_modes(proxy) -> None:  # type: ignore[no-untyped-def]
    d = proxy["dir"]
    for name, mode in (("admin", 0o600), ("oper", 0o640), ("user", 0o666)):
        st = os.stat(d / f"{name}.sock")
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == mode, (name, oct(st.st_mode))


def test_show_info(proxy) -> None:  # type: ignore[no-untyped-def]
    out = socat(proxy["admin"], b"show info\n").decode()
    assert out.endswith("\n\n")
    info = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert info["Name"] == "HAProxy"
    assert info["Version"].startswith("2.6.")
    assert info["Pid"] == str(proxy["pid"])
    assert info["Process_num"] == "1"
    assert int(info["Uptime_sec"]) >= 0
    # the 69 fields of 2.6 in order (HAPROXY_FACTS 11)
    keys = [line.split(":", 1)[0] for line in out.splitlines() if line]
    assert keys[:8] == ["Name", "Version", "Release_date", "Nbthread", "Nbproc", "Process_num", "Pid", "Uptime"]
    assert keys[-1] == "Tainted" and len(keys) == 69


def test_show_stat_counts_traffic(proxy) -> None:  # type: ignore[no-untyped-def]
    before = _stat(proxy["admin"])
    for _ in range(6):
        status, hdrs, _body = get(proxy["fe"], "/")
        assert status == 200
    after = _stat(proxy["admin"])
    assert [(r["pxname"], r["svname"]) for r in after] == [
        ("main", "FRONTEND"), ("app", "app1"), ("app", "app2"), ("app", "BACKEND")]
    by = {r["svname"]: r for r in after}
    old = {r["svname"]: r for r in before}
    # weights 1 and 2, smooth roundrobin over 6 requests: 2 and 4
    assert int(by["app1"]["stot"]) - int(old["app1"]["stot"]) == 2
    assert int(by["app2"]["stot"]) - int(old["app2"]["stot"]) == 4
    assert int(by["BACKEND"]["stot"]) - int(old["BACKEND"]["stot"]) == 6
    assert int(by["FRONTEND"]["hrsp_2xx"]) - int(old["FRONTEND"]["hrsp_2xx"]) == 6
    assert by["FRONTEND"]["status"] == "OPEN" and by["BACKEND"]["status"] == "UP"
    assert by["app2"]["weight"] == "2" and by["BACKEND"]["weight"] == "3"
    # the filtered form used by scripts: servers of backend 'app' only
    rows = _stat(proxy["admin"], "show stat app 4 -1\n")
    assert [r["svname"] for r in rows] == ["app1", "app2"]


def _stat(target: str, cmd: str = "show stat\n") -> list[dict[str, str]]:
    out = socat(target, cmd.encode()).decode()
    assert out.startswith("# pxname,svname,") and out.endswith("\n\n"), out[:200]
    lines = out.splitlines()
    head = lines[0][2:].split(",")
    return [dict(zip(head, ln.split(","), strict=True)) for ln in lines[1:] if ln]


def test_semicolon_list_and_tcp(proxy) -> None:  # type: ignore[no-untyped-def]
    assert socat(proxy["admin"], b"show cli level;get weight app/app2;get weight app/nosuch\n") == (
        b"admin\n\n2 (initial 2)\n\nNo such server.\n\n")
    assert socat(proxy["tcp"], b"show cli level; show backend\n") == b"admin\n\n# name\napp\n\n"
    # escaped ';' is part of the word, not a separator
    out = socat(proxy["admin"], b"get weight app/app1\\;x\n")
    assert out == b"No such server.\n\n"


def test_prompt_mode(proxy) -> None:  # type: ignore[no-untyped-def]
    out = socat(proxy["admin"], b"prompt\nshow cli level\nget weight app/app1\nquit\n")
    assert out == b"\n> admin\n\n> 1 (initial 1)\n\n> "
    # leaving prompt mode answers without a prompt and closes
    out = socat(proxy["tcp"], b"prompt\nprompt\n")
    assert out == b"\n> \n"


def test_set_weight_and_state(proxy) -> None:  # type: ignore[no-untyped-def]
    a = proxy["admin"]
    try:
        assert socat(a, b"set weight app/app1 7\n") == b"\n"
        assert socat(a, b"get weight app/app1\n") == b"7 (initial 1)\n\n"
        assert socat(a, b"set weight app/app1 300\n") == (
            b"Absolute weight can only be between 0 and 256 inclusive.\n\n")
        assert socat(a, b"set weight app/app1 50%\n") == b"\n"
        assert socat(a, b"get weight app/app1\n") == b"0 (initial 1)\n\n"
        assert socat(a, b"set server app/app2 state drain\n") == b"\n"
        state = _servers_state(a)
        assert state["app2"]["srv_admin_state"] == "8"  # FDRAIN
        assert socat(a, b"set server app/app2 state maint\n") == b"\n"
        assert _servers_state(a)["app2"]["srv_admin_state"] == "1"  # FMAINT
        rows = {r["svname"]: r for r in _stat(a)}
        assert rows["app2"]["status"] == "MAINT"
        assert socat(a, b"set server app/app2 state bogus\n") == (
            b"'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n")
    finally:
        socat(a, b"set server app/app2 state ready;set weight app/app1 100%\n")
    state = _servers_state(a)
    assert state["app2"]["srv_admin_state"] == "0"
    assert state["app1"]["srv_uweight"] == "1"


def _servers_state(target: str) -> dict[str, dict[str, str]]:
    out = socat(target, b"show servers state\n").decode()
    lines = out.splitlines()
    assert lines[0] == "1" and lines[1].startswith("# be_id ")
    head = lines[1][2:].split()
    return {r["srv_name"]: r for r in (dict(zip(head, ln.split(), strict=True)) for ln in lines[2:] if ln)}


DENIED = b"Permission denied\n\n"


def test_permission_levels(proxy) -> None:  # type: ignore[no-untyped-def]
    u, o, a = proxy["user"], proxy["oper"], proxy["admin"]
    assert socat(u, b"show cli level\n") == b"user\n\n"
    assert socat(o, b"show cli level\n") == b"operator\n\n"
    assert socat(a, b"show cli level\n") == b"admin\n\n"
    # user: read-only
    assert socat(u, b"get weight app/app1\n") == b"1 (initial 1)\n\n"
    assert socat(u, b"show servers state app\n").startswith(b"1\n# be_id")
    for cmd in (b"set weight app/app1 2\n", b"set server app/app1 state drain\n", b"show sess\n",
                b"clear counters\n", b"disable frontend main\n"):
        assert socat(u, cmd) == DENIED, cmd
    # operator: clear counters (max values), show sess; no changes of servers
    assert socat(o, b"clear counters\n") == b"\n"
    assert socat(o, b"show sess\n") != DENIED  # allowed (the list itself differs: HAProxy shows the CLI stream)
    for cmd in (b"set weight app/app1 2\n", b"clear counters all\n", b"disable server app/app1\n",
                b"shutdown sessions server app/app1\n"):
        assert socat(o, cmd) == DENIED, cmd
    assert socat(a, b"get weight app/app1\n") == b"1 (initial 1)\n\n"
    # an admin session may lower itself, never raise itself back
    out = socat(a, b"operator;show cli level;set weight app/app1 2;user;show cli level;admin\n")
    assert out.startswith(b"\noperator\n\n" + DENIED + b"\nuser\n\nUnknown command")
    assert socat(a, b"get weight app/app1\n") == b"1 (initial 1)\n\n"


def test_user_socket_hides_addresses(proxy) -> None:  # type: ignore[no-untyped-def]
    rows_u = {r["svname"]: r for r in _stat(proxy["user"])}
    rows_a = {r["svname"]: r for r in _stat(proxy["admin"])}
    b1 = proxy["backends"][0]
    assert rows_a["app1"]["addr"] == f"127.0.0.1:{b1.port}"
    assert rows_u["app1"]["addr"] == ""
    assert rows_a["BACKEND"]["algo"] == "roundrobin" and rows_u["BACKEND"]["algo"] == ""


def test_time_since_last_change_is_small(proxy, request) -> None:  # type: ignore[no-untyped-def]
    """Nothing changed since the start: lastchg / srv_time_since_last_change count seconds since then."""
    rows = {r["svname"]: r for r in _stat(proxy["admin"])}
    assert 0 <= int(rows["app1"]["lastchg"]) < 120, rows["app1"]["lastchg"]
    state = _servers_state(proxy["admin"])
    assert 0 <= int(state["app1"]["srv_time_since_last_change"]) < 120
