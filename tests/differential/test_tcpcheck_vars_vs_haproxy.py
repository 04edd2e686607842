"""tcp-check's log-format rules and variables against Debian's HAProxy 2.6.

``set-var(check.X)``/``set-var-fmt``/``unset-var``, ``send-lf`` and ``send-binary-lf`` with
``%[...]`` expressions (variables, the server's and backend's names), ``expect string-lf`` and
``binary-lf``, ``connect port EXPR`` (a variable set before the first connect: no implicit
connect then; a value that is no port falls back to the server's): per backend, a recording server (answering ``+PONG`` to each read, or silent) keeps
what each check connection sent; compared with 2.6: those bytes, ``show stat`` (status,
check_status, check_code, last_chk) and the health-check lines.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from tests.integration.harness import TcpServer, free_port, require_haproxy, run_proxy, wait_files

pytestmark = [pytest.mark.needs_haproxy]


class Recorder(TcpServer):
    def __init__(self, silent: bool = False) -> None:
        self.silent = silent
        self.got: list[bytes] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        buf = b""
        try:
            c.settimeout(0.3)
            while True:
                d = c.recv(1000)
                if not d:
                    break
                buf += d
                if not self.silent:
                    c.sendall(b"+PONG\r\n")
        except OSError:
            pass
        finally:
            with self.lock:
                self.got.append(buf)
            c.close()


RULES = {
    "b_vars": """    tcp-check set-var(check.msg) str(PING)
    tcp-check send-lf "%[var(check.msg)] %[srv_name] %[be_name]\\r\\n"
    tcp-check expect string-lf "+%[str(PONG)]"
    tcp-check send-binary-lf "50494e47%[str(0d0a)]"
    tcp-check expect binary-lf "%[str(2b504f4e47)]"
    tcp-check set-var-fmt(check.f) "x-%[var(check.msg)]"
    tcp-check unset-var(check.msg)
    tcp-check send-lf "[%[var(check.msg)]][%[var(check.f)]]\\r\\n"
    tcp-check expect string-lf "%[str(NOPE)]"
""",
    "b_pass": """    tcp-check set-var(check.n) int(7)
    tcp-check send-lf "N=%[var(check.n)]\\r\\n"
    tcp-check expect string-lf "+PO%[str(NG)]"
""",
    "b_binmiss": """    tcp-check send-binary-lf "50494e470d0a"
    tcp-check expect binary-lf "%[str(2d45)]"
""",
    "b_silent": """    tcp-check send-lf "%[srv_name]\\r\\n"
    tcp-check expect string-lf "+%[str(PONG)]" comment "pong please"
""",
    "b_portvar": """    tcp-check set-var(check.port) int(@REFUSED@)
    tcp-check connect port var(check.port)
    tcp-check send PING\r\n
""",
    "b_portbad": """    tcp-check set-var(check.port) str(abc)
    tcp-check connect port var(check.port)
    tcp-check send PING\r\n
    tcp-check expect string +PONG
""",
    "b_proc": """    tcp-check set-var(proc.x) str(abc)
    tcp-check send-lf "%[var(proc.x)]\\r\\n"
    tcp-check expect string +PONG
""",
}


def _cfg(ports: dict[str, int], refused: int) -> str:
    out = ["""global
    stats socket @DIR@/s.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    timeout check 500ms
    option log-health-checks
"""]
    for be, rules in RULES.items():
        out.append(f"backend {be}\n    option tcp-check\n{rules}    server s1 127.0.0.1:{ports[be]} check inter 1000\n")
    return "".join(out).replace("@REFUSED@", str(refused))


def test_log_format_rules_and_variables_as_haproxy() -> None:
    require_haproxy("haproxy")
    got = {}
    refused = free_port()
    for which in ("ours", "haproxy"):
        recs = {be: Recorder(silent=be == "b_silent") for be in RULES}
        try:
            with run_proxy(_cfg({be: r.port for be, r in recs.items()}, refused), which=which) as pp:
                wait_files([pp.workdir / "s.sock"], 10, pp.stderr_text)
                time.sleep(2.3)
                for _ in range(20):  # a snapshot without a check in progress (2.6 blanks its text)
                    with socket.socket(socket.AF_UNIX) as s:
                        s.settimeout(5)
                        s.connect(str(pp.workdir / "s.sock"))
                        s.sendall(b"show stat\n")
                        stat = b""
                        while chunk := s.recv(65536):
                            stat += chunk
                    if b",* " not in stat:
                        break
                    time.sleep(0.05)
                err = pp.stderr_text()
        finally:
            for r in recs.values():
                r.close()
        rows = sorted(",".join(ln.split(",")[i] for i in (0, 17, 36, 37, 56))
                      for ln in stat.decode().splitlines()[1:] if ln and ",BACKEND," not in ln)
        lines = sorted({re.sub(r"check duration: \d+ms", "", m) for m in re.findall(r"Health check for .*", err)})
        sent = {be: r.got[:2] for be, r in recs.items()}
        got[which] = (sent, rows, lines)
    assert got["haproxy"][0]["b_vars"], "2.6 sent nothing"
    for i, what in enumerate(("bytes sent", "show stat", "health-check lines")):
        assert got["ours"][i] == got["haproxy"][i], what
