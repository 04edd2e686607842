"""``option httplog json`` / ``option tcplog json`` (a deliberate difference, README): the proxy
sends one typed JSON object per log line. End to end: -c accepts them with a notice, and a real
request through each mode arrives at a UDP syslog receiver as a JSON object with its fields."""

from __future__ import annotations

import json
import time

from haproxy_py.cli import main
from tests.conftest import free_port
from tests.integration.harness import get, http_backends, run_proxy
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink

CFG = """\
global
    log 127.0.0.1:{log} local2
defaults
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend web
    mode http
    bind 127.0.0.1:{web}
    option httplog json
    default_backend app
frontend raw
    mode tcp
    bind 127.0.0.1:{raw}
    option tcplog json
    default_backend tapp
backend app
    mode http
    server s1 127.0.0.1:{be}
backend tapp
    mode tcp
    server s1 127.0.0.1:{be}
"""


def _objects(msgs: list[bytes]) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for m in msgs:
        body = m.split(b"]: ", 1)[1] if b"]: " in m else m
        out.append(json.loads(body))
    return out


def test_json_log_styles_end_to_end(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    log, logport = udp_sink(3)
    with http_backends("s1") as (be,):
        web, raw = free_port(), free_port()
        cfg = CFG.format(log=logport, web=web, raw=raw, be=be.port)
        path = tmp_path / "j.cfg"
        path.write_text(cfg)
        assert main(["-c", "-f", str(path)]) == 0
        err = capsys.readouterr().err
        assert "'option httplog json'" in err and "'option tcplog json'" in err
        with run_proxy(cfg, wait_ports=[web, raw]):
            time.sleep(0.2)
            assert get(web, "/j?x=1")[0] == 200
            st = get(raw, "/t")
            assert st[0] == 200, st
            msgs = recv_until_quiet(log)
    log.close()
    objs = _objects([m for m in msgs if m.strip()])
    # (the harness's port probes are logged too: a connection closed without a request)
    http = [o for o in objs if o.get("frontend_name") == "web" and o.get("http_request")]
    tcp = [o for o in objs if o.get("frontend_name") == "raw" and o.get("bytes_read")]
    assert http and tcp, msgs
    h = http[0]
    assert h["status_code"] == 200 and h["backend_name"] == "app" and h["server_name"] == "s1"
    assert h["http_request"] == "GET /j?x=1 HTTP/1.1" and isinstance(h["Ta"], int)
    t = tcp[-1]
    assert t["backend_name"] == "tapp" and t["server_name"] == "s1" and t["bytes_read"] > 50  # the response bytes
    assert t["termination_state"] == "--"


def test_other_words_after_the_log_styles_are_refused_as_in_2_6(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    base = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" \
           "frontend f\n    bind 127.0.0.1:1\n    option {opt}\n    default_backend b\nbackend b\n    server s 127.0.0.1:2\n"
    for opt, msg in (("tcplog x", "'option tcplog' cannot handle unexpected argument 'x'."),
                     ("httplog json x", "'option httplog' cannot handle unexpected argument 'x'."),
                     ("httplog xml", "keyword 'httplog' only supports option 'clf'.")):
        path = tmp_path / "o.cfg"
        path.write_text(base.format(opt=opt))
        assert main(["-c", "-f", str(path)]) == 1
        assert msg in capsys.readouterr().err, opt
