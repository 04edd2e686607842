"""``http-check`` rules beyond send/expect, against Debian's HAProxy 2.6 side by side: ``connect``
(port, addr, send-proxy, linger, proto h1), ``comment``, ``set-var``/``set-var-fmt``/``unset-var``
with the log-format strings that read them (``uri-lf``, ``body-lf``, header values,
``expect string-lf``), and the expect options (ok-status, error-status, tout-status, on-success,
on-error, status-code, comment); ``tcp-check connect linger`` and ``proto none``.

Each proxy checks its own copy of a scripted server, so what each one sent is compared exactly
(the request bytes, the PROXY line with its ports masked, how the connection was closed: a FIN
with ``linger``, a reset without), along with the per-server health-check logs and ``show stat``
(status, check_status, check_code, last_chk) as in test_tcpcheck_vs_haproxy.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.test_tcpcheck_vs_haproxy import Sink, _compare, show_stat


class Recorder:
    """HTTP-ish loopback server: replies by path; records per path what came and how it ended."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.seen: dict[str, set[bytes]] = {}
        self.ends: dict[str, set[str]] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        path = "?"
        try:
            c.settimeout(3)
            data = b""
            while b"\r\n\r\n" not in data and not data.startswith(b"PING"):
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
                if data.startswith(b"PING") and b"\n" in data:
                    break
            if b"content-length:" in data.lower():
                head, _, body = data.partition(b"\r\n\r\n")
                n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                while len(body) < n:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    body += chunk
                data = head + b"\r\n\r\n" + body
            shown = re.sub(rb"^(PROXY TCP4 \S+ \S+) \d+ \d+\r\n", rb"\1 P P\r\n", data)
            req = shown.split(b"\r\n", 2)[1 if shown.startswith(b"PROXY") else 0]
            path = req.split(b" ")[1].decode() if b" " in req else "?"
            with self.lock:
                self.seen.setdefault(path, set()).add(shown)
            if req.startswith(b"PING"):
                c.sendall(b"+PONG\r\n")
            elif path.startswith("/slow"):
                time.sleep(2)
                return
            elif path.startswith("/err"):
                c.sendall(b"HTTP/1.0 503 Busy\r\ncontent-length: 4\r\n\r\nbusy")
            elif path.startswith("/hdr"):
                c.sendall(b"HTTP/1.0 200 OK\r\nX-List: a, b,c\r\nServer: Test/1.2\r\ncontent-length: 2\r\n\r\nok")
            elif path.startswith("/404"):
                c.sendall(b"HTTP/1.0 404 Not Found\r\ncontent-length: 4\r\n\r\nnone")
            else:
                c.sendall(b"HTTP/1.0 200 OK\r\ncontent-length: 11\r\n\r\nhello world")
            try:
                end = "FIN" if c.recv(100) == b"" else "data"
            except ConnectionResetError:
                end = "RST"
            except TimeoutError:
                end = "open"
            with self.lock:
                self.ends.setdefault(path, set()).add(end)
        except OSError:
            pass
        finally:
            c.close()

    def close(self) -> None:
        self.sock.close()


BACKENDS = {
    "h_vars": """option httpchk
    http-check set-var(check.a) str(x)
    http-check set-var-fmt(check.b) "%[var(check.a)]-y"
    http-check set-var(check.c) str(gone)
    http-check unset-var(check.c)
    http-check send meth POST uri-lf /ok/%[var(check.b)]/%[var(check.c)] hdr x-b %[var(check.b)] body-lf v=%[var(check.a)]
    http-check set-var(check.w) str(hello)
    http-check expect string-lf %[var(check.w)]""",
    "h_vars_bad": """option httpchk
    http-check set-var(check.w) str(absent)
    http-check send uri /ok/bad
    http-check expect string-lf %[var(check.w)]""",
    "h_comment": """option httpchk
    http-check send uri /err/comment
    http-check comment "about expect"
    http-check expect status 200""",
    "h_comment_opt": """option httpchk
    http-check send uri /err/comment2
    http-check expect status 200 comment "inline one\"""",
    "h_errst": """option httpchk
    http-check send uri /err/st
    http-check expect status 200 error-status L7RSP on-error "bad one" comment cm""",
    "h_errcode": """option httpchk
    http-check send uri /err/code
    http-check expect status 200 status-code int(42)""",
    "h_okst": """option httpchk
    http-check send uri /ok/st
    http-check expect status 200 ok-status L6OK on-success "fine\"""",
    "h_okcode": """option httpchk
    http-check send uri /ok/code
    http-check expect string hello on-success "body fine" status-code int(299)""",
    "h_neg": """option httpchk
    http-check send uri /ok/neg
    http-check expect ! string hello""",
    "h_nomatch": """option httpchk
    http-check send uri /ok/nomatch
    http-check expect string absent comment "want absent\"""",
    "h_tout": """option httpchk
    timeout check 500ms
    http-check send uri /slow/t
    http-check expect status 200 tout-status L6TOUT""",
    "h_connect": """option httpchk
    http-check connect port @PORT@ addr 127.0.0.1 linger send-proxy proto h1 comment "to the port"
    http-check send uri /ok/connect
    http-check expect status 200""",
    "h_connect_rst": """option httpchk
    http-check comment "connect it"
    http-check connect port @PORT@
    http-check send uri /ok/rst ver HTTP/1.1 hdr host x
    http-check expect status 200""",
    "h_connect_refused": """option httpchk
    http-check connect port @REFUSED@ comment "nobody"
    http-check send uri /ok/refused
    http-check expect status 200""",
    "h_connect_err": """option httpchk
    http-check set-var(check.p) int(@PORT@)
    http-check connect port var(check.p)
    http-check send uri /err/connect
    http-check expect rstatus ^2""",
    "x_name": """option httpchk
    http-check send uri /hdr/1
    http-check expect hdr name x-list""",
    "x_name_absent": """option httpchk
    http-check send uri /hdr/2
    http-check expect hdr name x-none comment \"no such header\"""",
    "x_value": """option httpchk
    http-check send uri /hdr/3
    http-check expect hdr name X-LIST value b""",
    "x_value_full_fails": """option httpchk
    http-check send uri /hdr/4
    http-check expect fhdr name x-list value b""",
    "x_full": """option httpchk
    http-check send uri /hdr/5
    http-check expect fhdr name x-list value \"a, b,c\"""",
    "x_meths": """option httpchk
    http-check send uri /hdr/6
    http-check expect hdr name -m beg serv value -m reg ^Test/[0-9]""",
    "x_sub_end": """option httpchk
    http-check send uri /hdr/7
    http-check expect fhdr name -m end ver value -m sub st/1""",
    "x_neg": """option httpchk
    http-check send uri /hdr/8
    http-check expect ! hdr name server""",
    "x_lf": """option httpchk
    http-check set-var(check.h) str(x-list)
    http-check send uri /hdr/9
    http-check expect hdr name-lf %[var(check.h)] value-lf %[str(c)] on-error \"wrong\"""",
    "x_err_opts": """option httpchk
    http-check send uri /hdr/10
    http-check expect hdr name x-list value z error-status L7RSP""",
    "e_two_ok": """option httpchk
    http-check send uri /ok/two
    http-check expect status 200
    http-check expect string hello on-success \"both\"""",
    "e_second_fails": """option httpchk
    http-check send uri /ok/second
    http-check expect status 200 on-error "first"
    http-check expect string absent on-error \"second\"""",
    "e_first_fails": """option httpchk
    http-check send uri /err/first
    http-check expect string busy
    http-check expect status 200 comment "the status"
    http-check expect hdr name content-length""",
    "e_three": """option httpchk
    http-check send uri /hdr/three
    http-check expect rstatus ^2
    http-check expect hdr name x-list value c
    http-check expect ! string nothing ok-status L6OK""",
    "h_proto": """option httpchk
    http-check send uri /ok/proto
    http-check expect status 200""",
    "t_proto": """option tcp-check
    tcp-check send "PING /tproto\\r\\n"
    tcp-check expect string +PONG""",
    "t_lf_ok": """option tcp-check
    tcp-check set-var(check.c) int(42)
    tcp-check set-var(check.w) str(fine)
    tcp-check send "PING /tlf1\\r\\n"
    tcp-check expect string +PONG on-success "up %[var(check.w)] %[var(check.c)]" status-code var(check.c)""",
    "t_lf_err": """option tcp-check
    tcp-check set-var(check.c) str(17)
    tcp-check send "PING /tlf2\\r\\n"
    tcp-check expect min-recv 3 string nope on-error "down %[var(check.c)]" status-code var(check.c) error-status L7STS""",
    "t_lf_none": """option tcp-check
    tcp-check send "PING /tlf3\\r\\n"
    tcp-check expect string +PONG on-success "%[var(check.unset)]" status-code var(check.unset)""",
    "t_addr": """option tcp-check
    tcp-check connect addr 127.0.0.1 port @PORT@ comment "elsewhere"
    tcp-check send "PING /taddr\\r\\n"
    tcp-check expect string +PONG""",
    "t_linger": """option tcp-check
    tcp-check connect proto none linger
    tcp-check send "PING /tl\\r\\n"
    tcp-check expect string +PONG""",
    "t_rst": """option tcp-check
    tcp-check connect
    tcp-check send "PING /trst\\r\\n"
    tcp-check expect string +PONG""",
}


def config(port: int, logport: int, refused: int) -> str:
    out = [f"""global
    stats socket @DIR@/s.sock level admin
    log 127.0.0.1:{logport} local2
defaults
    mode http
    log global
    option log-health-checks
    timeout connect 1s
    timeout client 5s
    timeout server 5s
"""]
    for name, rules in BACKENDS.items():
        # servers on the refused port: the connect rules take them to the recorder
        target = refused if "@PORT@" in rules else port
        host = "127.0.0.2" if name == "t_addr" else "127.0.0.1"  # nothing there: the rule's addr is used
        rules = rules.replace("@PORT@", str(port)).replace("@REFUSED@", str(refused))
        extra = {"h_proto": " check-proto h1", "t_proto": " check-proto none"}.get(name, "")
        out.append(f"backend {name}\n    {rules}\n    server s1 {host}:{target} check inter 400{extra}\n")
    return "".join(out)


@pytest.fixture(scope="module")
def both() -> Iterator[dict]:
    require_haproxy("haproxy")
    recs = {w: Recorder() for w in ("ours", "haproxy")}
    sinks = {w: Sink() for w in ("ours", "haproxy")}
    refused = free_port()
    res: dict = {}
    try:
        with run_proxy(config(recs["ours"].port, sinks["ours"].port, refused), which="ours") as ours, \
                run_proxy(config(recs["haproxy"].port, sinks["haproxy"].port, refused), which="haproxy") as theirs:
            procs = {"ours": ours, "haproxy": theirs}
            time.sleep(3.0)
            snaps: dict[str, list] = {w: [] for w in procs}
            for _ in range(5):
                for w, pp in procs.items():
                    snaps[w].append(show_stat(pp.workdir / "s.sock"))
                time.sleep(0.2)
            errs = [pp.stderr_text() for pp in procs.values()]
        for w in procs:
            res[w] = (snaps[w], list(sinks[w].lines))
        res["stderr"] = ([], errs)
        time.sleep(0.3)
        res["seen"] = {w: dict(r.seen) for w, r in recs.items()}
        res["ends"] = {w: dict(r.ends) for w, r in recs.items()}
    finally:
        for s in sinks.values():
            s.close()
        for r in recs.values():
            r.close()
    yield res


@pytest.mark.needs_haproxy
def test_http_check_rules_as_haproxy(both: dict) -> None:
    """set-var/set-var-fmt/unset-var read by uri-lf, body-lf, a header and expect string-lf;
    comment lines and options; the expect options' statuses, texts and codes; expect hdr and fhdr
    (name, value, -m str/beg/end/sub/reg, name-lf/value-lf, !); several expects on one response
    (the first failing one decides); the requests sent."""
    _compare(both, ("h_", "x_", "e_"))
    seen = both["seen"]
    for path in ("/ok/x-y/", "/ok/bad", "/err/comment", "/err/st", "/ok/neg"):
        assert seen["ours"].get(path) == seen["haproxy"].get(path), (path, seen["ours"].get(path),
                                                                     seen["haproxy"].get(path))
    assert seen["haproxy"].get("/ok/x-y/"), seen["haproxy"]


@pytest.mark.needs_haproxy
def test_http_check_connect_as_haproxy(both: dict) -> None:
    """http-check connect port/addr/send-proxy/linger/proto h1 (a PROXY line first, closed with a
    FIN), a port from a variable, a refused port with a comment; without linger a reset, as 2.6;
    tcp-check connect addr/port, linger and proto none; the server parameter check-proto (h1, none);
    tcp-check expect on-success/on-error log-format strings and a status-code expression."""
    _compare(both, ("h_connect", "h_proto", "t_"))
    seen, ends = both["seen"], both["ends"]
    for path in ("/ok/connect", "/ok/rst", "/err/connect", "/tl", "/trst", "/ok/proto", "/tproto", "/taddr"):
        assert seen["ours"].get(path) == seen["haproxy"].get(path), (path, seen["ours"].get(path),
                                                                     seen["haproxy"].get(path))
        assert ends["ours"].get(path) == ends["haproxy"].get(path), (path, ends)
    assert ends["haproxy"]["/ok/connect"] == {"FIN"} and ends["haproxy"]["/ok/rst"] == {"RST"}, ends["haproxy"]
    assert ends["haproxy"]["/tl"] == {"FIN"} and ends["haproxy"]["/trst"] == {"RST"}, ends["haproxy"]
    assert all(r.startswith(b"PROXY TCP4 127.0.0.1 127.0.0.1 P P\r\n") for r in seen["haproxy"]["/ok/connect"])
    assert all(seen[w].get(p) for w in seen for p in ("/taddr", "/tproto", "/ok/proto", "/err/connect")), seen


#: check configurations 2.6.12 refuses or accepts: (backend lines, server parameters)
CONFIG_CASES = [
    ("option tcp-check\n    tcp-check connect proto h1", ""),
    ("option tcp-check\n    tcp-check connect proto fcgi", ""),
    ("option tcp-check\n    tcp-check connect proto", ""),
    ("option tcp-check\n    tcp-check connect proto none linger default", ""),
    ("option tcp-check\n    tcp-check connect linger x", ""),
    ("option httpchk\n    http-check connect proto none", ""),
    ("option httpchk\n    http-check connect proto bogus", ""),
    ("option httpchk\n    http-check connect proto h1 port 80 addr 127.0.0.1 linger send-proxy comment c", ""),
    ("option httpchk\n    http-check send uri /a\n    http-check connect port 81", ""),
    ("option httpchk\n    http-check comment", ""),
    ("option httpchk\n    http-check set-var(check.x)", ""),
    ("option httpchk\n    http-check set-var(nope.x) str(a)", ""),
    ("option httpchk\n    http-check unset-var(check.x) extra", ""),
    ("option httpchk\n    http-check expect status 200 ok-status L7STS", ""),
    ("option httpchk\n    http-check expect status 200 tout-status L7OK", ""),
    ("option httpchk\n    http-check expect status 200 error-status L7OK", ""),
    ("option tcp-check\n    tcp-check comment", ""),
    ("option tcp-check\n    tcp-check set-var(check.x)", ""),
    ("option tcp-check\n    tcp-check set-var(nope.x) str(a)", ""),
    ("option tcp-check\n    tcp-check set-var-fmt(check.x)", ""),
    ("option tcp-check\n    tcp-check unset-var(check.x) extra", ""),
    ("option tcp-check\n    tcp-check expect string x ok-status L7STS", ""),
    ("option tcp-check\n    tcp-check expect string x error-status L7OK", ""),
    ("option tcp-check\n    tcp-check expect string x tout-status L7OK", ""),
    ("option tcp-check\n    tcp-check set-var(check.x) str(a) str(b)", ""),
    ("option tcp-check\n    tcp-check set-var(check.x", ""),
    ("option tcp-check\n    tcp-check set-var(check.x) nosuch", ""),
    ("option tcp-check\n    tcp-check set-var-fmt(check.x) %[nosuch]", ""),
    ("option tcp-check\n    tcp-check send-lf %[nosuch]", ""),
    ("option httpchk\n    http-check send uri-lf %[nosuch]", ""),
    ("option httpchk\n    http-check expect string-lf %[nosuch]", ""),
    ("option httpchk\n    http-check expect hdr name -m reg ^x value-lf %[str(a)]", ""),
    ("option httpchk\n    http-check expect ! fhdr name-lf -m sub %[str(a)] value -m end z", ""),
    ("option tcp-check\n    tcp-check expect string x status-code int(1)+1", ""),
    ("option tcp-check\n    tcp-check expect string x on-error %[nosuch]", ""),
    ("", "socks4 127.0.0.1"),
    ("", "socks4 bogus:1"),
    ("", "check-via-socks4"),
    ("option tcp-check\n    tcp-check connect via-socks4", ""),
    ("option tcp-check\n    tcp-check connect via-socks4", "socks4 127.0.0.1:1080 check-via-socks4"),
    ("option httpchk\n    http-check send meth GET\n    http-check send uri /second", ""),
    ("option httpchk\n    http-check expect status 200\n    http-check send uri /a", ""),
    ("option httpchk\n    http-check set-var(check.a) str(b)\n    http-check send uri /a\n    http-check send uri /b", ""),
    ("option spop-check", ""),
    ("mode tcp\n    option spop-check", ""),
    ("option httpchk", "check-proto h1"),
    ("option httpchk", "check-proto none"),
    ("", "check-proto h1"),
    ("", "check-proto none"),
    ("", "check-proto bogus"),
    ("option tcp-check", "check-proto h2"),
    ("", "agent-check agent-port 2 agent-initial"),
]


def _alerts(text: str) -> list[str]:
    out = []
    for ln in text.splitlines():
        m = re.match(r"\[ALERT\] +\(\d+\) : config : (.*)", ln)
        if m and not any(t in m.group(1) for t in ("Error(s) found", "Fatal errors found")):
            out.append(m.group(1))
    return out


@pytest.mark.needs_haproxy
@pytest.mark.parametrize("rules,params", CONFIG_CASES)
def test_check_config_errors_as_haproxy(rules: str, params: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The same verdict and alert texts as 2.6.12's ``-c`` for the check directives' arguments
    (haproxy-py's ``-c`` run in this process: a second of interpreter start saved per case)."""
    import subprocess

    from haproxy_py.cli import main

    require_haproxy("haproxy")
    (tmp_path / "t.cfg").write_text("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n"
                                    f"    timeout server 1s\nbackend b\n    {rules}\n"
                                    f"    server s1 127.0.0.1:1 check {params}\n")
    theirs = subprocess.run(["haproxy", "-c", "-f", "t.cfg"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=30)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    rc = main(["-c", "-f", "t.cfg"])
    err = capsys.readouterr().err
    assert (rc, _alerts(err)) == (theirs.returncode, _alerts(theirs.stderr)), (err, theirs.stderr)
