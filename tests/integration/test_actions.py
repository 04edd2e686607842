"""Rule actions checked on haproxy-py alone: what 2.6 does differently on loopback (silent-drop), and
the load-time side of the registries (accepted means implemented)."""

from __future__ import annotations

import socket
import time

import pytest

from haproxy_py.actions import REGISTRIES, lookup
from haproxy_py.config import parse_text
from haproxy_py.registry import NOT_IMPLEMENTED
from tests.integration.harness import HTTP_DEFAULTS, HttpBackend, free_port, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

FAMILIES = ("http-request", "http-response", "http-after-response", "tcp-request connection",
            "tcp-request session", "tcp-request content", "tcp-response content")


def test_every_family_exists_with_2_6_names() -> None:
    assert tuple(REGISTRIES) == FAMILIES
    assert "expect-proxy" in REGISTRIES["tcp-request connection"].known
    assert "silent-drop" in REGISTRIES["tcp-request connection"].known
    assert "close" in REGISTRIES["tcp-response content"].known
    assert lookup("http-request", "set-var(txn.x)") == "set-var"
    assert lookup("http-request", "sc-inc-gpc0(1)") == "sc-inc-gpc0"
    assert lookup("tcp-request content", "track-sc1") == "track-sc"
    assert lookup("http-request", "no-such") is None


def test_silent_drop_sends_nothing() -> None:
    be = HttpBackend("s1").start()
    port = free_port()
    cfg = ("global\n    stats socket @DIR@/admin.sock level admin\n" + HTTP_DEFAULTS
           + f"frontend fe\n    bind 127.0.0.1:{port}\n    http-request silent-drop if {{ path /drop }}\n"
           f"    default_backend be\nbackend be\n    server s1 127.0.0.1:{be.port}\n")
    try:
        with run_proxy(cfg, wait_ports=[port]) as pp:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /drop HTTP/1.1\r\nHost: h\r\n\r\n")
            got = b""
            try:
                got = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                pass
            s.close()
            assert got == b"" and be.requests == []
            time.sleep(0.1)
            csv = stats_cli(admin_socket(pp), "show stat").splitlines()
            head = csv[0].lstrip("# ").split(",")
            fe = next(ln.split(",") for ln in csv if ln.startswith("fe,FRONTEND"))
            assert fe[head.index("dreq")] == "1"
            # the proxy still serves other requests
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
            s.close()
    finally:
        be.stop()


@pytest.mark.parametrize("line,word,col", [
    ("http-request send-spoe-group e g", "http-request action 'send-spoe-group'", 18),
    ("tcp-request connection expect-netscaler-cip layer4", "tcp-request connection action 'expect-netscaler-cip'", 28),
    ("http-request set-header X %[internal.strm.is_htx]", "sample fetch 'internal.strm.is_htx'", 31),
])
def test_unimplemented_actions_are_refused_at_their_column(line: str, word: str, col: int) -> None:
    _, d = parse_text(HTTP_DEFAULTS + f"frontend f\n    bind :1\n    {line}\n", "t.cfg")
    errs = d.errors
    assert len(errs) == 1, d
    assert word in errs[0].haproxy and NOT_IMPLEMENTED in errs[0].haproxy
    assert (errs[0].loc.line, errs[0].loc.col) == (8, col)


def test_no_effect_actions_are_accepted_with_a_notice() -> None:
    cfg, d = parse_text(HTTP_DEFAULTS + "frontend f\n    bind :1\n    http-request wait-for-handshake\n"
                        "    http-request disable-l7-retry if { path /x }\n", "t.cfg")
    assert not d.errors, d
    notices = [n for n in d.notices if "has no effect in haproxy-py" in n.haproxy]
    assert len(notices) == 1  # disable-l7-retry is implemented (retry-on): accepted silently
    rules = cfg.proxy("f").http_rules
    assert [r.action for r in rules] == ["wait-for-handshake", "disable-l7-retry"]
    assert rules[1].cond is not None  # the condition is still parsed and checked
