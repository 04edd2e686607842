"""``tcp-response`` lines through ``haproxy -c`` and ``haproxy-py -c``: the syntax errors are 2.6's,
word for word; the rules haproxy-py runs in TCP backends (accept, reject, close, set-var...) are
accepted as by 2.6; the rest 2.6
accepts is refused here as not implemented, never an internal error (a hypothesis run found ``-c`` stopping on an
AssertionError for every ``tcp-response`` line)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HAPROXY_BIN, ROOT, require_haproxy_bin

HEAD = "defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
SERVER = "    server s 127.0.0.1:2\n"

#: 2.6 refuses each of these with one alert on the tcp-response line
SYNTAX_ERRORS = [
    "backend b\n    tcp-response\n",
    "backend b\n    tcp-response foo\n",
    "backend b\n    tcp-response content foo\n",
    "backend b\n    tcp-response content\n",
    "backend b\n    tcp-response inspect-delay\n",
    "frontend f\n    bind 127.0.0.1:1\n    tcp-response content accept\n",
]
#: 2.6 accepts these; haproxy-py too
VALID_BOTH = [
    "backend b\n    tcp-response content accept\n",
    "backend b\n    tcp-response inspect-delay 1s\n    tcp-response content accept if { res.len gt 0 }\n",
    "backend b\n    tcp-response content close if { res.payload(0,2) -m str NO }\n    tcp-response content reject\n",
    "defaults d\n    mode tcp\n    tcp-response content accept\n",
    "backend b\n    tcp-response content set-var(txn.x) int(1)\n",
    "backend b\n    mode http\n    tcp-response content accept\n",
    "backend b\n    tcp-response content set-nice 1\n",
    "backend b\n    mode http\n    tcp-response inspect-delay 1s\n    tcp-response content accept\n",
]
def check(cmd: list[str], cfg: Path) -> tuple[int, list[str]]:
    p = subprocess.run(cmd + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, cwd=ROOT)
    alerts = [re.sub(r"^\[ALERT\]\s+\(\d+\) : ", "", ln) for ln in p.stderr.splitlines() if ln.startswith("[ALERT]")]
    return p.returncode, [a for a in alerts if "Error(s) found" not in a and "Fatal errors" not in a]


@pytest.mark.parametrize("body", SYNTAX_ERRORS)
def test_tcp_response_syntax_errors_as_haproxy(body: str, tmp_path: Path) -> None:
    require_haproxy_bin()
    cfg = tmp_path / "t.cfg"
    cfg.write_text(HEAD + body + (SERVER if body.startswith("backend") else ""))
    theirs = check([HAPROXY_BIN], cfg)
    ours = check([sys.executable, "-m", "haproxy_py"], cfg)
    assert theirs[0] == 1 and ours == theirs


@pytest.mark.parametrize("body", VALID_BOTH)
def test_tcp_response_rules_accepted_as_haproxy(body: str, tmp_path: Path) -> None:
    require_haproxy_bin()
    cfg = tmp_path / "t.cfg"
    cfg.write_text(HEAD + body + (SERVER if body.startswith("backend") else ""))
    assert check([HAPROXY_BIN], cfg) == (2, [])  # valid for 2.6 (no listener)
    assert check([sys.executable, "-m", "haproxy_py"], cfg) == (2, [])
