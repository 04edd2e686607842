"""The peers sections at run time, side by side with Debian's HAProxy 2.6 on loopback.

``show peers``: two set-ups run at the same time, the same topology in each: a process "s"
(2.6 in one, haproxy-py in the other) and a 2.6 process "o", peers of each other, and a peer
"c" where nothing listens. "s" starts first, "o" once "s" gave up its first attempts to reach it
(so that "o" connects to "s" and no collision happens: which side wins one is a race in 2.6), entries are written on
both sides, and the dumps of "s" and of "o" must be the same in both set-ups once the resyncs
are over. Normalised: what must differ, 2.6's memory addresses (``0x...``), the section's start
date, ages and timers (``last_hdshk``, ``reconnect``, ``heartbeat``, ``resync_timeout``), task
calls, the port numbers of each set-up and ephemeral source ports.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import time

import pytest

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli
from tests.integration.tls_certs import Certs, certs  # noqa: F401 (the fixture)


def _cfg(ports: dict[str, int]) -> str:
    return ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n"
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
            "peers mypeers\n"
            + "".join(f"    peer {n} 127.0.0.1:{p}\n" for n, p in ports.items())
            + "    table t2 type string len 16 size 100 expire 20s store gpc0,conn_cnt\n"
            "backend st\n    stick-table type ip size 100 expire 30s store gpc0,http_req_rate(10s) peers mypeers\n")


_PTR = re.compile(r"0x[0-9a-f]{9,}")
_DATE = re.compile(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\]")
_AGE = re.compile(r"\b(last_hdshk|reconnect|heartbeat|resync_timeout)=(?:<PAST>|(?:\d+[dhms])+)")
_CALLS = re.compile(r"task_calls=\d+")
_SRC = re.compile(r"src=127\.0\.0\.1:\d+")


def _norm(text: str, ports: dict[str, int]) -> str:
    text = _PTR.sub("PTR", text)
    text = _DATE.sub("[DATE]", text)
    text = _AGE.sub(r"\1=AGE", text)
    text = _CALLS.sub("task_calls=N", text)
    text = _SRC.sub("src=127.0.0.1:EPH", text)
    for name, port in ports.items():
        text = re.sub(rf":{port}\b", f":PORT_{name}", text)
    return text


def _wait(sock: str, cmd: str, needle: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    got = ""
    while time.monotonic() < deadline:
        got = stats_cli(sock, cmd)
        if needle in got:
            return
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never in {cmd!r}: {got}")


@pytest.mark.slow
def test_show_peers_as_haproxy() -> None:
    require_haproxy("haproxy")
    setups = {kind: {"s": free_port(), "o": free_port(), "c": free_port()} for kind in ("haproxy", "ours")}
    with contextlib.ExitStack() as stack:
        socks: dict[str, dict[str, str]] = {}
        procs = {}
        for kind, ports in setups.items():
            procs[kind, "s"] = stack.enter_context(run_proxy(_cfg(ports), which=kind, extra_args=["-L", "s"]))
        for kind in setups:
            p = procs[kind, "s"]
            socks.setdefault(kind, {})["s"] = admin_socket(p, detail=p.stderr_text)
        # "s" tried "o" (nothing there yet: 2.6 tries 4 times, 1 s apart) and gave up until its
        # next attempt, 5 s after the first: "o" starts now and connects to "s" first
        for kind in setups:
            _wait(socks[kind]["s"], "show peers", "id=o(remote,inactive)")
        for kind, ports in setups.items():
            procs[kind, "o"] = stack.enter_context(run_proxy(_cfg(ports), which="haproxy", extra_args=["-L", "o"]))
        for kind in setups:
            p = procs[kind, "o"]
            socks[kind]["o"] = admin_socket(p, detail=p.stderr_text)
        for kind in setups:
            ss, so = socks[kind]["s"], socks[kind]["o"]
            _wait(ss, "show peers", f"id=o(remote,active) addr=127.0.0.1:{setups[kind]['o']} last_status=ESTA")
        # one write after the other (each one's update ids depend on what arrived before)
        for kind in setups:
            ss, so = socks[kind]["s"], socks[kind]["o"]
            stats_cli(ss, "set table st key 10.0.0.1 data.gpc0 3")
            _wait(so, "show table st", "10.0.0.1")
            stats_cli(ss, "set table mypeers/t2 key abc data.conn_cnt 2")
            _wait(so, "show table mypeers/t2", "abc")
            stats_cli(so, "set table st key 10.0.0.2 data.gpc0 5")
            _wait(ss, "show table st", "10.0.0.2")
        # both resyncs over on every process, then the dumps agree (polled: the down peer's
        # retries and the heartbeats follow the clock, in phase in both set-ups)
        deadline = time.monotonic() + 20
        last: dict[tuple[str, str], str] = {}
        while True:
            over = True
            for kind, ports in setups.items():
                for who in ("s", "o"):
                    raw = stats_cli(socks[kind][who], "show peers")
                    over = over and "resync_timeout=<PAST>" in raw.split("\n", 1)[0]
                    last[kind, who] = _norm(raw, ports)
            same = all(last["haproxy", w] == last["ours", w] for w in ("s", "o"))
            if same and over:
                break
            if time.monotonic() > deadline:
                diff = "\n".join(
                    "\n".join(difflib.unified_diff(last["haproxy", w].splitlines(), last["ours", w].splitlines(),
                                                   f"2.6 as {w}", f"set-up with haproxy-py, {w}", lineterm=""))
                    for w in ("s", "o"))
                raise AssertionError(f"show peers differs:\n{diff}")
            time.sleep(0.2)
        # the other forms: a section by name, the dictionaries, an unknown section
        for kind, ports in setups.items():
            last[kind, "dict"] = _norm(stats_cli(socks[kind]["s"], "show peers dict mypeers"), ports)
            last[kind, "-"] = _norm(stats_cli(socks[kind]["s"], "show peers - mypeers"), ports)
            last[kind, "none"] = stats_cli(socks[kind]["s"], "show peers nosuch")
        assert "RX dictionary cache:" in last["haproxy", "dict"]
        for w in ("dict", "-", "none"):
            assert last["haproxy", w] == last["ours", w], (w, last["haproxy", w], last["ours", w])


# ---------------------------------------------------------------------------- TLS between peers
def _tls_cfg(me: str, other: str, ports: dict[str, int], certs: Certs, ca: str) -> str:  # noqa: F811
    """A peers section whose local peer listens with TLS (asking for the peers' certificates)
    and connects to the other with TLS, checking its certificate against ``ca`` and showing
    the client certificate."""
    return ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n"
            "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
            "peers mypeers\n"
            f"    bind 127.0.0.1:{ports[me]} ssl crt {certs['ec.pem']} ca-file {certs[ca]} verify required\n"
            f"    server {me} ssl verify required ca-file {certs[ca]} crt {certs['client.pem']}\n"
            f"    server {other} 127.0.0.1:{ports[other]} ssl verify required ca-file {certs[ca]}"
            f" crt {certs['client.pem']}\n"
            "backend st\n    stick-table type ip size 100 expire 30s store gpc0 peers mypeers\n")


def _entries(sock: str) -> str:
    return stats_cli(sock, "show table st")


def test_peers_over_tls_both_ways_with_haproxy(certs: Certs) -> None:  # noqa: F811
    """2.6 and haproxy-py peered over TLS (both certificates checked): an entry written on
    either side appears on the other; the accepted session says ``xprt=SSL``."""
    require_haproxy("haproxy")
    ports = {"hap": free_port(), "py": free_port()}
    with run_proxy(_tls_cfg("hap", "py", ports, certs, "ca.crt"), which="haproxy", extra_args=["-L", "hap"]) as a, \
            run_proxy(_tls_cfg("py", "hap", ports, certs, "ca.crt"), extra_args=["-L", "py"]) as b:
        sa = admin_socket(a, detail=a.stderr_text)
        sb = admin_socket(b, detail=b.stderr_text)
        stats_cli(sb, "set table st key 10.9.0.1 data.gpc0 7")
        _wait(sa, "show table st", "key=10.9.0.1 use=0 exp=", timeout=15)
        assert "gpc0=7" in _entries(sa)
        stats_cli(sa, "set table st key 10.9.0.2 data.gpc0 8")
        _wait(sb, "show table st", "key=10.9.0.2 use=0 exp=", timeout=10)
        assert "gpc0=8" in _entries(sb)
        dumps = stats_cli(sa, "show peers") + stats_cli(sb, "show peers")
        assert "xprt=SSL" in dumps and "xprt=RAW" not in dumps, dumps
        assert "Traceback" not in b.stderr_text()


def test_peer_with_a_wrong_ca_does_not_sync(certs: Certs) -> None:  # noqa: F811
    """haproxy-py trusts another CA than the one that signed 2.6's certificates: neither its
    connections to 2.6 nor 2.6's to it get through, and nothing is replicated either way."""
    require_haproxy("haproxy")
    ports = {"hap": free_port(), "py": free_port()}
    with run_proxy(_tls_cfg("hap", "py", ports, certs, "ca.crt"), which="haproxy", extra_args=["-L", "hap"]) as a, \
            run_proxy(_tls_cfg("py", "hap", ports, certs, "ca2.crt"), extra_args=["-L", "py"]) as b:
        sa = admin_socket(a, detail=a.stderr_text)
        sb = admin_socket(b, detail=b.stderr_text)
        stats_cli(sb, "set table st key 10.9.1.1 data.gpc0 1")
        stats_cli(sa, "set table st key 10.9.1.2 data.gpc0 2")
        # both tried at start, and 2.6 retries: give them time to (not) succeed
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert "10.9.1.1" not in _entries(sa) and "10.9.1.2" not in _entries(sb)
            time.sleep(0.2)
        assert "id=hap(remote," in stats_cli(sb, "show peers") and "last_status=ESTA" not in stats_cli(sb, "show peers")
        assert "last_status=ESTA" not in stats_cli(sa, "show peers")
        assert "Traceback" not in b.stderr_text()


def test_tls_peer_without_ca_is_refused_as_haproxy(certs: Certs) -> None:  # noqa: F811
    """``ssl`` towards a peer without ``ca-file`` nor ``verify none``: 2.6's alert, -c fails."""
    require_haproxy("haproxy")
    cfg = ("global\n    localpeer a\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
           "    timeout server 1s\npeers p\n    bind 127.0.0.1:1 ssl crt " + certs["ec.pem"] + "\n"
           "    server a ssl verify none\n    server b 127.0.0.1:2 ssl\n    table t type ip size 10\n")
    theirs, ours = _check(cfg)
    msg = "verify is enabled by default but no CA file specified."
    assert msg in theirs and "Fatal errors found in configuration." in theirs, theirs
    assert msg in ours and ":11:" in ours and "Fatal errors found in configuration." in ours, ours


def _check(cfg: str) -> tuple[str, str]:
    """What ``-c`` on ``cfg`` prints (stderr, then stdout): 2.6's and ours."""
    import subprocess
    import sys
    import tempfile

    from tests.integration.harness import ROOT

    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/t.cfg"
        with open(path, "w") as f:
            f.write(cfg)
        theirs = subprocess.run(["haproxy", "-c", "-f", path], capture_output=True, text=True, timeout=30)
        ours = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", path], capture_output=True,
                              text=True, timeout=30, cwd=str(ROOT))
    return theirs.stderr + theirs.stdout, ours.stderr + ours.stdout


def test_tls_listener_and_own_server_line_disagree_as_haproxy(certs: Certs) -> None:  # noqa: F811
    """2.6 warns when the local peer listens with TLS and its own line has none (or the other
    way round): the same warning, for both forms of the local peer."""
    require_haproxy("haproxy")
    head = ("global\n    localpeer a\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
            "    timeout server 1s\npeers p\n")
    for body in (f"    bind 127.0.0.1:1 ssl crt {certs['ec.pem']}\n    server a\n    server b 127.0.0.1:2\n",
                 "    peer a 127.0.0.1:1 ssl verify none\n    peer b 127.0.0.1:2\n",
                 f"    bind 127.0.0.1:1 ssl crt {certs['ec.pem']}\n    server a ssl verify none\n"
                 "    server b 127.0.0.1:2\n"):
        theirs, ours = _check(head + body + "    table t type ip size 10\n")
        want = [ln.split(" : ", 1)[1] for ln in theirs.splitlines() if "Peers section" in ln]
        got = [ln.split(" : ", 1)[1] for ln in ours.splitlines() if "Peers section" in ln]
        assert got == want, (body, theirs, ours)
        assert ("ssl verify none\n    server b" in body) == (not want)
        # the local peer is a listener: the configuration is valid (no "no listener => exit(2)")
        assert "Configuration file is valid" in theirs and "Configuration file is valid" in ours, ours


def test_reload_over_tls_keeps_the_entries(certs: Certs) -> None:  # noqa: F811
    """-sf with a TLS local peer: the old process connects to the new one with its own line's
    TLS settings (certificates checked both ways) and teaches it the entries."""
    import tempfile
    from pathlib import Path

    from tests.differential.test_peers_vs_haproxy import _answered_by, _lines, _start, _stop

    d = Path(tempfile.mkdtemp(prefix="hpy-peers-tls-"))
    ports = {"py": free_port(), "other": free_port()}  # the other peer never runs
    cfg = d / "haproxy.cfg"
    cfg.write_text(_tls_cfg("py", "other", ports, certs, "ca.crt").replace("@DIR@", str(d)))
    sock = d / "admin.sock"
    procs = []
    try:
        old = _start(cfg)
        procs.append(old)
        _answered_by(sock, old.pid)
        for i in range(20):
            stats_cli(str(sock), f"set table st key 10.6.0.{i} data.gpc0 {i}")
        before = stats_cli(str(sock), "show table st")
        new = _start(cfg, "-sf", str(old.pid))
        procs.append(new)
        _answered_by(sock, new.pid)
        assert old.wait(timeout=15) == 0
        after = stats_cli(str(sock), "show table st")
        assert {k: v[0] for k, v in _lines(after).items()} == {k: v[0] for k, v in _lines(before).items()}
        assert len(_lines(after)) == 20
    finally:
        for p in procs:
            _stop(p)
