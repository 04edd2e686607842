"""``h1-case-adjust`` / ``h1-case-adjust-file`` with ``option h1-case-adjust-bogus-client`` and
``option h1-case-adjust-bogus-server``, side by side with Debian's HAProxy 2.6 (raw sockets on
both sides: the exact bytes of each header name the peer gets).

2.6 lower-cases every header name and then gives the names of its map the map's case; haproxy-py
keeps the names as received (README) and gives the names of the map the map's case. So the names
of the map are compared byte for byte, the others case-insensitively (and in order).
"""

from __future__ import annotations

import random
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from haproxy_py.config import load_config
from tests.integration.harness import (
    TcpServer,
    free_port,
    http_defaults,
    http_request,
    require_haproxy,
    run_proxy,
)

_ALPHA = "abcdefghijklmnopqrstuvwxyz"


def _head(c: socket.socket, timeout: float = 5.0) -> bytes:
    c.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
        try:
            d = c.recv(65536)
        except (TimeoutError, OSError):
            break
        if not d:
            break
        buf += d
    return buf


class RawServer(TcpServer):
    """Records each request head; answers with ``response`` and closes."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.heads: list[bytes] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        with c:
            h = _head(c)
            with self.lock:
                self.heads.append(h)
            try:
                c.sendall(self.response)
            except OSError:
                pass


def _names(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [ln.split(b":", 1)[0] for ln in head.split(b"\r\n")[1:] if b":" in ln]


def _norm(names: list[bytes], mapped: dict[bytes, bytes]) -> list[bytes]:
    """A mapped name (by its lower-case form) as sent, the others lower-cased."""
    return [n if n.lower() in mapped else n.lower() for n in names]


def _case(rng: random.Random, name: str) -> str:
    return "".join(ch.upper() if rng.random() < 0.5 else ch for ch in name)


def _gen(seed: int) -> tuple[list[str], dict[str, str], list[str], list[str], list[str]]:
    """Generated names: (all lower-case names, map from->to, map lines for the file, client
    request names as sent, server response names as sent)."""
    rng = random.Random(seed)
    names = sorted({"x-" + "".join(rng.choice(_ALPHA + "-") for _ in range(rng.randint(1, 8))) + rng.choice(_ALPHA)
                    for _ in range(12)})
    names += ["content-type", "content-length", "connection", "cache-control", "host"]
    mapping: dict[str, str] = {}
    for n in names:
        if rng.random() < 0.6:
            mapping[n] = _case(rng, n)
    # entries whose <from> is not lower case: 2.6 never matches them (names are lower case then)
    odd = [f"X-Odd{i}" for i in range(2)]
    for o in odd:
        mapping[o] = o.upper()
    items = list(mapping.items())
    rng.shuffle(items)
    half = len(items) // 2
    glob = [f"h1-case-adjust {a} {b}" for a, b in items[:half]]
    filel = [f"{' ' * rng.randint(0, 2)}{a}{' ' * rng.randint(1, 3)}{b}{' ' * rng.randint(0, 2)}" for a, b in items[half:]]
    filel.insert(rng.randint(0, len(filel)), "# a comment")
    filel.insert(rng.randint(0, len(filel)), "")
    req = [_case(rng, n) for n in names if n.startswith("x-")] + [_case(rng, o.lower()) for o in odd]
    rsp = [_case(rng, n) for n in names if n.startswith("x-")] + ["Content-Type", "cache-control"]
    return glob, mapping, filel, req, rsp  # type: ignore[return-value]


_COMBOS = ((True, True), (False, True), (True, False))


def _cfg(ports: list[int], srv: int, glob: list[str], fileline: str, dead: int) -> str:
    """One frontend/backend pair per (bogus-client, bogus-server) combination."""
    g = "".join(f"    {x}\n" for x in glob)
    out = f"global\n{g}    {fileline}\n" + http_defaults()
    for k, ((client, server), port) in enumerate(zip(_COMBOS, ports, strict=True)):
        out += (f"frontend fe{k}\n    bind 127.0.0.1:{port}\n"
                + ("    option h1-case-adjust-bogus-client\n" if client else "")
                + f"    use_backend dead if {{ path /dead }}\n    default_backend be{k}\n"
                f"backend be{k}\n" + ("    option h1-case-adjust-bogus-server\n" if server else "")
                + f"    server s 127.0.0.1:{srv}\n")
    return out + f"backend dead\n    retries 0\n    server s 127.0.0.1:{dead}\n"


def _exchange(which: str, seed: int, tmp: Path) -> list[tuple[list[bytes], list[bytes], list[bytes]]]:
    """Per combination: the names the server got, those the client got, those of a 503."""
    glob, mapping, filel, reqn, rspn = _gen(seed)
    mf = tmp / f"map-{which}-{seed}.txt"
    mf.write_text("\n".join(filel) + "\n")
    rsp = ("HTTP/1.1 200 OK\r\n" + "".join(f"{n}: v{i}\r\n" for i, n in enumerate(rspn))
           + "Content-Length: 2\r\nConnection: close\r\n\r\nok").encode()
    srv = RawServer(rsp)
    ports = [free_port() for _ in _COMBOS]
    out = []
    try:
        with run_proxy(_cfg(ports, srv.port, glob, f"h1-case-adjust-file {mf}", free_port()),
                       wait_ports=ports, which=which):
            req = ("GET / HTTP/1.1\r\nhost: t\r\n" + "".join(f"{n}: r{i}\r\n" for i, n in enumerate(reqn))
                   + "Connection: close\r\n\r\n").encode()
            for port in ports:
                with srv.lock:
                    srv.heads.clear()
                got = http_request(port, req, timeout=10)
                err = http_request(port, b"GET /dead HTTP/1.1\r\nhost: t\r\nConnection: close\r\n\r\n",
                                   timeout=10)
                deadline = time.monotonic() + 5
                while not srv.heads and time.monotonic() < deadline:
                    time.sleep(0.02)
                seen = srv.heads[0] if srv.heads else b""
                out.append((_names(seen), _names(got), _names(err)))
    finally:
        srv.close()
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_h1_case_adjust_as_haproxy(seed: int, tmp_path: Path) -> None:
    """The names of the map (global lines and the file) reach the server (bogus-server, in the
    backend) and the client (bogus-client, in the frontend; also on a 503 the proxy makes itself)
    with the map's case, as 2.6 sends them; entries whose <from> is not lower case never match."""
    require_haproxy("haproxy")
    _, mapping, _, _, _ = _gen(seed)
    live = {a.encode(): b.encode() for a, b in mapping.items() if a == a.lower()}
    for (client, server), ours, theirs in zip(_COMBOS, _exchange("ours", seed, tmp_path),
                                              _exchange("haproxy", seed, tmp_path), strict=True):
        for o, t, on in zip(ours, theirs, (server, client, client), strict=True):
            m = live if on else {}
            assert _norm(o, m) == _norm(t, m), (client, server, o, t)
        # the option is what applies the map: without it, no mapped case is sent (2.6: lower case)
        assert any(n in live.values() and n != n.lower() for n in theirs[0]) == server
        assert any(n in live.values() and n != n.lower() for n in theirs[1]) == client


def _alerts(lines: list[str]) -> list[str]:
    return [ln.split(" : ", 2)[-1] for ln in lines
            if ln.startswith("[ALERT]") and "Fatal errors" not in ln and "Error(s) found" not in ln]


def _theirs(cfg: Path) -> tuple[bool, list[str]]:
    p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
    return p.returncode == 0, _alerts(p.stderr.splitlines())


def _ours(cfg: Path) -> tuple[bool, list[str]]:
    """haproxy-py's verdict and messages (in-process: 26 interpreter starts would cost ~25 s;
    -c itself is the same load_config)."""
    _, diags = load_config([str(cfg)])
    return not diags.has_errors, _alerts(diags.format(0))


def test_h1_case_adjust_messages_as_haproxy(tmp_path: Path) -> None:
    """-c on h1-case-adjust lines and on generated h1-case-adjust-file contents (comments, blank
    lines, spaces, tabs, CR, missing <to>, other names, duplicates with the global lines or in
    the file, a missing file, a second file line): the same verdict and 2.6's messages."""
    require_haproxy("haproxy")
    rng = random.Random(7)
    pieces = ["# c", "", "   ", "x-a X-A", "x-b\tX-b", "  x-c   x-C  ", "x-d X-D\r", "x-e", "x-e   ",
              "x-f X-G", "x-h X-H # t", "x-a X-a", "X-I x-i", "x-j x-jj", "Content-Type content-type"]
    globs = ["", "h1-case-adjust", "h1-case-adjust x-a", "h1-case-adjust x-a X-A", "h1-case-adjust x-a X-B",
             "h1-case-adjust x-a X-A extra", "h1-case-adjust x-a X-A\n    h1-case-adjust x-a x-A",
             "h1-case-adjust X-A x-a\n    h1-case-adjust X-a x-a", "h1-case-adjust-file",
             "h1-case-adjust-file a b", f"h1-case-adjust-file {tmp_path}/none",
             f"h1-case-adjust-file {tmp_path}/none\n    h1-case-adjust-file @MAP@"]
    cases = [(g, ["x-z X-Z"]) for g in globs]
    cases += [("h1-case-adjust x-z X-z" if rng.random() < 0.5 else "",
               [rng.choice(pieces) for _ in range(rng.randint(1, 5))]) for _ in range(14)]
    seen = set()
    for k, (glob, lines) in enumerate(cases):
        mf = tmp_path / f"m{k}.txt"
        mf.write_bytes("\n".join(lines).encode() + b"\n")
        g = glob.replace("@MAP@", str(mf))
        if "h1-case-adjust-file" not in g:
            g += f"\n    h1-case-adjust-file {mf}"
        cfg = tmp_path / f"c{k}.cfg"
        cfg.write_text(f"global\n    {g}\n" + http_defaults() + "frontend fe\n    bind 127.0.0.1:18099\n"
                       "    option h1-case-adjust-bogus-client\n    default_backend be\n"
                       "backend be\n    option h1-case-adjust-bogus-server\n    server s 127.0.0.1:18098\n")
        theirs, ours = _theirs(cfg), _ours(cfg)
        assert ours == theirs, (g, lines)
        seen.add(theirs[0])
    assert seen == {True, False}


# ----------------------------------------------------------------------------- http-error

_PATHS = {"/": None, "/deny": "", "/d400": " deny_status 400", "/d500": " deny_status 500",
          "/d503": " deny_status 503"}


_LF_PARTS = ("%[path]", "%[method]", "%[req.hdr(x-v)]", "%[req.hdr(x-v),lower]", "%[req.fhdr(host)]",
             "%[int(7),add(3)]", "%[str(ab),upper]", "%ci", "%[url]", "%[query]", "%[req.hdr_cnt(x-v)]", "%%",
             "%[path,length]", "%[var(txn.nosuch)]")


def _lf(rng: random.Random) -> str:
    """A generated log-format part for http-error lf-string / lf-file / hdr (2.6 evaluates it per
    reply on the request that got the page)."""
    return "".join(rng.choice(_LF_PARTS) for _ in range(rng.randint(1, 3)))


def _http_error_lines(rng: random.Random, tmp: Path, tag: str) -> list[str]:
    """Generated http-error lines, with errorfile/errorloc lines among them (a later line for a
    status wins)."""
    out = []
    for k in range(rng.randint(1, 5)):
        st = rng.choice((400, 403, 500, 503))
        kind = rng.choice(("string", "file", "errorfile", "default", "none", "errorfile-kw", "errorloc",
                           "errorfiles", "errorfiles-kw", "lf-string", "lf-file", "lf-string"))
        ef = tmp / f"ef-{tag}-{k}.http"
        # an errorfile line's page goes as written (haproxy-py), http-error's with 2.6's lower-case names
        names = ("x-gen", "content-type", "content-length") if kind == "errorfile-kw" else \
            ("X-Gen", "Content-Type", "Content-Length")
        ef.write_bytes(f"HTTP/1.1 {st} Gen{k}\r\n{names[0]}-{k}: {rng.randint(0, 99)}\r\n{names[1]}: text/x\r\n"
                       f"{names[2]}: 4\r\n\r\nbody".encode())
        if kind == "errorfile-kw":
            out.append(f"errorfile {st} {ef}")
            continue
        if kind == "errorfiles-kw":
            codes = rng.sample((400, 403, 500, 503), rng.randint(0, 2))
            out.append(" ".join(["errorfiles lc", *map(str, codes)]))
            continue
        if kind == "errorfiles":
            out.append(f"http-error status {st} errorfiles mc")
            continue
        if kind == "errorloc":
            out.append(f"errorloc{rng.choice(('', '302', '303'))} {st} http://x/{k}")
            continue
        words = [f"http-error status {st}"]
        if kind in ("string", "file", "lf-string", "lf-file") or rng.random() < 0.3:
            words.append(f"content-type text/t{k}")
        if kind == "string":
            words.append(f"string \"s{k} {'z' * rng.randint(0, 20)}\"")
        elif kind == "lf-string":
            words.append(f"lf-string \"l{k} {_lf(rng)} {_lf(rng)}\"")
        elif kind == "lf-file":
            lf = tmp / f"lf-{tag}-{k}.txt"
            lf.write_text(f"f{k} {_lf(rng)}\n{_lf(rng)}" + "\n" * rng.randint(0, 1))
            words.append(f"lf-file {lf}")
        elif kind == "file":
            words.append(f"file {ef}")
        elif kind == "errorfile":
            words.append(f"errorfile {ef}")
        elif kind == "default":
            words.append("default-errorfiles")
        if kind in ("string", "file", "none", "lf-string", "lf-file"):
            for j in range(rng.randint(0, 2)):
                value = f"v {j}" if rng.random() < 0.4 else f"v{j} {_lf(rng)}"
                words.append(f"hdr {_case(rng, f'x-h{j}')} \"{value}\"")
        out.append(" ".join(words))
    return out


def _sections(tmp: Path) -> str:
    """http-errors 'lc' (pages with lower-case names: plain 'errorfiles' lines send them as
    written) and 'mc' (mixed case: http-error ... errorfiles sends them lower-cased, as 2.6)."""
    out = ""
    for sec, codes in (("lc", (400, 403, 503)), ("mc", (403, 500, 503))):
        out += f"http-errors {sec}\n"
        for c in codes:
            f = tmp / f"sec-{sec}-{c}.http"
            n = ("x-sec", "content-length") if sec == "lc" else ("X-Sec", "Content-Length")
            f.write_bytes(f"HTTP/1.1 {c} Sec{sec}\r\n{n[0]}: {c}\r\n{n[1]}: 2\r\n\r\n{sec}".encode())
            out += f"    errorfile {c} {f}\n"
    return out


def _http_error_cfg(port: int, dead: int, defaults: list[str], front: list[str], back: list[str]) -> str:
    d = "".join(f"    {x}\n" for x in defaults)
    f = "".join(f"    {x}\n" for x in front)
    b = "".join(f"    {x}\n" for x in back)
    rules = "".join(f"    http-request deny{a} if {{ path {p} }}\n" for p, a in _PATHS.items() if a is not None)
    return (http_defaults() + d + f"frontend fe\n    bind 127.0.0.1:{port}\n{f}{rules}"
            "    use_backend b2 if { path_beg /b }\n    default_backend be\n"
            f"backend be\n    retries 0\n    server s 127.0.0.1:{dead}\n"
            f"backend b2\n{b}    retries 0\n    http-request deny if {{ path /bdeny }}\n"
            f"    server s 127.0.0.1:{dead}\n")


def _http_error_run(which: str, cfg: str, port: int) -> list[bytes]:
    out = []
    with run_proxy(cfg, wait_ports=[port], which=which):
        for k, p in enumerate([*_PATHS, "/b", "/bdeny", "/deny?q=1", "/b?x=%41"]):
            xv = "".join(chr(65 + (k * 7 + j) % 50) for j in range(k % 5))
            extra = f"X-V: {xv}\r\n" if k % 3 else ""
            out.append(http_request(port, f"GET {p} HTTP/1.1\r\nhost: t\r\n{extra}Connection: close\r\n\r\n"
                                    .encode(), timeout=10))
        out.append(http_request(port, b"GET / HTTP/1.1\r\nbad header\r\n\r\n", timeout=10))
    return out


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_http_error_as_haproxy(seed: int, tmp_path: Path) -> None:
    """Generated http-error lines (string, file, errorfile, errorfiles, default-errorfiles, none,
    lf-string and lf-file with generated log-format parts; hdr with constant and log-format
    values, content-type) with errorfile/errorloc/errorfiles lines among them, in defaults, frontend and backend: the
    client gets the same bytes for the proxy's own 503, for deny (403) and deny_status 400/500/503,
    in the frontend and the backend, and for a bad request."""
    require_haproxy("haproxy")
    rng = random.Random(seed)
    d, f, b = (_http_error_lines(rng, tmp_path, t) for t in ("d", "f", "b"))
    port = free_port()
    cfg = _http_error_cfg(port, free_port(), d, f, b) + _sections(tmp_path)
    theirs = _http_error_run("haproxy", cfg, port)
    ours = _http_error_run("ours", cfg, port)
    for k, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        assert o == t, (k, cfg, t, o)


def _warnings_alerts(lines: list[str]) -> list[str]:
    return [ln.split(" : ", 2)[-1] for ln in lines if (ln.startswith("[ALERT]") or ln.startswith("[WARNING]"))
            and "Fatal errors" not in ln and "Error(s) found" not in ln]


def test_http_error_messages_as_haproxy(tmp_path: Path) -> None:
    """-c on http-error lines: the verdict, 2.6's alerts and warnings (lf-string, lf-file and
    log-format hdr values included)."""
    require_haproxy("haproxy")
    ef = tmp_path / "ef.http"
    ef.write_bytes(b"HTTP/1.1 503 Custom\r\nX-File: 1\r\nContent-Length: 3\r\n\r\nabc")
    bad = tmp_path / "bad.http"
    bad.write_bytes(b"x\n")
    same = ["http-error", "http-error status", "http-error status 999", "http-error status 201 string x",
            "http-error status 201 content-type t string x", "http-error status 599", "http-error foo",
            "http-error string x content-type t", "http-error status 503 string x",
            f"http-error status 503 errorfile {ef} content-type x", f"http-error status 503 content-type x errorfile {ef}",
            f"http-error status 503 errorfile {ef} hdr a b", "http-error status 503 foo",
            "http-error status 503 content-type t string x hdr content-length 5",
            "http-error status 503 errorfile /none", f"http-error status 503 errorfile {bad}",
            "http-error status 503 file /none", "http-error status 503 string x string y",
            "http-error status 503 hdr a", "http-error status 503 default-errorfiles hdr a b",
            "http-error status 503 content-type t string x status 504", "http-error status 503 string",
            "http-error status 503 default-errorfiles string x", "http-error status 503 content-type t",
            f"http-error status 503 errorfile {ef} errorfile {ef}", "http-error status 503 content-type",
            "http-error status 503 content-type t string x hdr X-A b", "http-error status 400 default-errorfiles"]
    same += ["http-error status 503 errorfiles s", "http-error status 403 errorfiles s",
             "http-error status 503 errorfiles nosuch", "http-error status 503 content-type t errorfiles s hdr a b",
             "http-error status 503 errorfiles s string x", "http-error status 503 errorfiles"]
    same += ["http-error status 503 content-type t lf-string %[path]",
             f"http-error status 503 content-type t lf-file {ef}", f"http-error status 503 lf-file {ef}",
             "http-error status 503 content-type t string x hdr X-A %[path]",
             "http-error status 503 content-type t lf-string %[nosuch]", "http-error status 503 lf-string %[path]",
             "http-error status 503 content-type t string x hdr X-A %[path,nosuch]",
             "http-error status 503 content-type t lf-string %[path", "http-error status 503 content-type t lf-string ''",
             "http-error status 503 content-type t string ''", "http-error status 503 content-type '' string x",
             "http-error status 503 content-type t lf-file ''", "http-error status 503 content-type t lf-file /none",
             "http-error status 503 content-type t lf-string %[path] string y"]
    refused: list[str] = []
    for k, line in enumerate(same + refused):
        cfg = tmp_path / f"h{k}.cfg"
        cfg.write_text(http_defaults() + f"frontend fe\n    bind 127.0.0.1:18099\n    {line}\n"
                       "    default_backend be\nbackend be\n    server s 127.0.0.1:18098\n"
                       "http-errors s\n    errorfile 503 " + str(ef) + "\n")
        p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
        _, diags = load_config([str(cfg)])
        ours = (not diags.has_errors, _warnings_alerts(diags.format(0)))
        if line in refused:
            assert p.returncode == 0 and not ours[0], line
            assert "is not implemented by haproxy-py" in ours[1][0], (line, ours)
            continue
        theirs = (p.returncode == 0, _warnings_alerts(p.stderr.splitlines()))
        assert ours == theirs, line
