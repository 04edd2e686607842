"""``set-nice`` (http-request, http-response, tcp-request content, tcp-response content) and the
bind parameter ``nice``: accepted with a notice (2.6 moves the stream in its scheduler's run queue;
haproxy-py's event loop has no priority to change), the argument checked as 2.6 checks it, and
the rest of the rule set runs after it. Side by side with Debian's HAProxy 2.6."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.differential.test_config_messages_generated import _lines
from tests.integration.harness import (
    HTTP_DEFAULTS,
    ROOT,
    HttpBackend,
    free_port,
    get,
    require_haproxy,
    run_proxy,
)


def _check(tmp_path: Path, text: str, which: str) -> tuple[int, list[str]]:
    cfg = tmp_path / "c.cfg"
    cfg.write_text(text)
    cmd = ([sys.executable, "-m", "haproxy_py"] if which == "ours" else ["haproxy"]) + ["-c", "-f", str(cfg)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    return r.returncode, [ln for ln in _lines(r.stdout + r.stderr) if ln.startswith("[ALERT]")]


@pytest.mark.parametrize("rule", [
    "http-request set-nice", "http-request set-nice 5 6", "http-request set-nice abc",
    "http-response set-nice", "tcp-request content set-nice", "tcp-request content set-nice 1 x",
    "http-request set-nice -2000 if { path /x }",
])
def test_set_nice_arguments_as_haproxy(tmp_path: Path, rule: str) -> None:
    require_haproxy("haproxy")
    text = HTTP_DEFAULTS + f"frontend f\n    bind 127.0.0.1:{free_port()}\n    {rule}\n    default_backend b\n" \
        "backend b\n    server s 127.0.0.1:1\n"
    assert _check(tmp_path, text, "ours") == _check(tmp_path, text, "haproxy")


def test_set_nice_rules_continue_as_haproxy() -> None:
    """Every rule after a set-nice still runs, in each rule set (and a bind 'nice' serves as
    usual): what the server saw and what the client got are the same as with 2.6."""
    require_haproxy("haproxy")
    be = HttpBackend("s").start()
    try:
        port = free_port()
        cfg = (HTTP_DEFAULTS + f"frontend fe\n    bind 127.0.0.1:{port} nice 10\n"
               "    tcp-request inspect-delay 1s\n"
               "    tcp-request content set-nice -100\n"
               "    tcp-request content set-var(txn.t) str(tcp)\n"
               "    http-request set-nice 500\n"
               "    http-request set-header X-After %[var(txn.t)]-req\n"
               "    http-response set-nice 3 if { always_true }\n"
               "    http-response set-header X-Res after\n"
               "    default_backend be\n"
               f"backend be\n    tcp-response content set-nice 1\n"
               f"    tcp-response content accept\n    server s 127.0.0.1:{be.port}\n")
        seen = {}
        for which in ("haproxy", "ours"):
            with run_proxy(cfg, wait_ports=[port], which=which):
                n = len(be.requests)
                st, hdrs, _ = get(port, "/a")
                seen[which] = (st, hdrs.get("x-res"), be.requests[n].header("x-after")
                               if len(be.requests) > n else None)
        assert seen["ours"] == seen["haproxy"] == (200, "after", "tcp-req")
    finally:
        be.stop()
