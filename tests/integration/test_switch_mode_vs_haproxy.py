"""tcp-request content switch-mode http, the implicit TCP-to-HTTP upgrade (a TCP frontend using an
HTTP backend) and tcp-request content use-service, side by side with Debian's HAProxy 2.6."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HAPROXY_BIN, ROOT, require_haproxy_bin

pytestmark = [pytest.mark.needs_haproxy]

HEAD = ("defaults\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
        "backend bh\n    mode http\n    server s 127.0.0.1:2\n")


def check(cmd: list[str], cfg: Path) -> tuple[int, list[str]]:
    """``-c`` on a configuration: the exit code and the alert and warning lines, prefixes off."""
    p = subprocess.run(cmd + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, cwd=ROOT)
    out = [re.sub(r"^\[(ALERT|WARNING)\]\s+\(\d+\) : ", r"\1 ", ln) for ln in p.stderr.splitlines()
           if ln.startswith(("[ALERT]", "[WARNING]"))]
    return p.returncode, out


#: 2.6 has no native service usable in TCP rules: every one is refused, in each proxy kind
USE_SERVICE = [
    "frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    tcp-request content use-service prometheus-exporter\n"
    "    default_backend bh\n",
    "frontend f\n    mode http\n    bind 127.0.0.1:1\n    tcp-request content use-service prometheus-exporter "
    "if TRUE\n    default_backend bh\n",
    "frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    tcp-request content use-service foo\n"
    "    default_backend bh\n",
    "frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    tcp-request content use-service\n    default_backend bh\n",
    "backend b2\n    mode tcp\n    tcp-request content use-service prometheus-exporter extra\n"
    "    server s 127.0.0.1:2\n",
]


@pytest.mark.parametrize("body", USE_SERVICE)
def test_tcp_use_service_as_haproxy(body: str, tmp_path: Path) -> None:
    """``tcp-request content use-service``: 2.6's messages, word for word (prometheus-exporter is
    only available in http-request rules; no other native service exists)."""
    require_haproxy_bin()
    cfg = tmp_path / "t.cfg"
    cfg.write_text(HEAD + body)
    theirs = check([HAPROXY_BIN], cfg)
    ours = check([sys.executable, "-m", "haproxy_py"], cfg)
    assert theirs[0] == 1 and ours == theirs
