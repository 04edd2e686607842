"""FastCGI servers (fcgi-app, use-fcgi-app, proto fcgi, fcgi.docroot / fcgi.index) against
Debian's HAProxy 2.6, with a real application: Debian's php-fpm, started by the test with its own
configuration and pool on a 127.0.0.1 port (``-R`` only when the test runs as root), stopped by PID.

The same seeded requests go through both proxies configured alike: PHP scripts that echo the CGI
parameters they were given and the body they read, set a status and headers, write to their error
output, stream a large response; POST bodies of generated sizes (Content-Length and chunked);
paths taking the index, the path-info regex, query strings, a path 2.6 cannot decode (its 500);
headers 2.6 does not pass (Authorization unless pass-header, hop-by-hop ones). Compared: the status,
the headers that matter (names case-insensitively; Date, framing and Server-specific ones aside),
the body, and the parameters the script saw (the ports of each proxy, SERVER_SOFTWARE and the
request time aside), and the log lines ``log-stderr global`` made of the scripts' error output. ``option keep-conn`` (2.6's default) is checked by the connections php-fpm
accepted, counted by a relay in front of it: one for many requests with it, one a request with
``no option keep-conn``.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.harness import TcpServer, require_haproxy, run_proxy, stop_process, wait_port

PHP_FPM = next((p for p in ("/usr/sbin/php-fpm8.2", shutil.which("php-fpm8.2") or "", shutil.which("php-fpm") or "")
                if p and os.path.exists(p)), "")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not PHP_FPM, reason="php-fpm is not installed (.ci/run installs php-fpm)")]

SCRIPTS = {
    "env.php": """<?php
header("X-Script: env");
$s = $_SERVER; unset($s["REQUEST_TIME"], $s["REQUEST_TIME_FLOAT"]);
echo json_encode(["server" => $s, "body" => base64_encode(file_get_contents("php://input"))]);
""",
    "status.php": """<?php
http_response_code(intval($_GET["code"] ?? "404"));
header("X-A: " . ($_GET["a"] ?? "1"));
header("Cache-Control: no-store");
error_log("error output from php");
echo "status body\\n";
""",
    "big.php": """<?php
$n = intval($_GET["n"] ?? "100");
for ($i = 0; $i < $n; $i++) { echo str_repeat(chr(65 + $i % 26), 4000), "\\n"; flush(); }
""",
    "redir.php": """<?php
header("Location: /elsewhere");
""",
}


class CountingRelay:
    """TCP relay 127.0.0.1:port -> target, counting accepted connections."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            u = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.stop = True
        self.sock.close()


@pytest.fixture(scope="module")
def php_fpm() -> Iterator[tuple[int, Path]]:
    work = Path(tempfile.mkdtemp(prefix="hpy-fpm-"))
    www = work / "www"
    (www / "dir").mkdir(parents=True)
    for name, text in SCRIPTS.items():
        (www / name).write_text(text)
    (www / "dir" / "env.php").write_text(SCRIPTS["env.php"])
    port = free_port()
    conf = work / "fpm.conf"
    conf.write_text(f"""[global]
pid = {work}/fpm.pid
error_log = {work}/fpm.log
daemonize = no
[t]
listen = 127.0.0.1:{port}
pm = static
pm.max_children = 4
clear_env = yes
catch_workers_output = no
""")
    cmd = [PHP_FPM, "-y", str(conf), "-F", "-n", "-d", "display_errors=0", "-d", "log_errors=1",
           "-d", "error_log=", "-d", "post_max_size=0", "-d", "cgi.fix_pathinfo=1"]
    if os.geteuid() == 0:
        cmd.insert(1, "-R")
    out = open(work / "fpm.out", "wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=out)
    try:
        wait_port(port, timeout=15)
        yield port, www
    finally:
        stop_process(proc)
        out.close()
        shutil.rmtree(work, ignore_errors=True)


def _cfg(port: int, fpm: int, relay_keep: int, relay_close: int, docroot: Path, rules: str, plain_rules: str,
         log_port: int) -> str:
    return f"""\
global
    log 127.0.0.1:{log_port} local0
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
fcgi-app php
    docroot {docroot}
    index env.php
    path-info ^(/.+\\.php)(/.*)?$
    set-param HTTP_X_SET %[req.hdr(x-in)]-set
    set-param SCRIPT_ROOT_CHECK %[path]
    pass-header X-Secret-Pass
    pass-header Authorization
    log-stderr global
fcgi-app php_plain
    docroot {docroot}
fcgi-app php_keep
    docroot {docroot}
    option keep-conn
fcgi-app php_nokeep
    docroot {docroot}
    no option keep-conn
frontend fe
    bind 127.0.0.1:{port}
    use_backend plain if {{ path_beg /plain/ }}
    use_backend keep if {{ path_beg /keep/ }}
    use_backend close if {{ path_beg /close/ }}
    default_backend php
backend php
    use-fcgi-app php
{rules}    server s1 127.0.0.1:{fpm} proto fcgi
backend plain
    use-fcgi-app php_plain
    http-request set-path %[path,regsub(^/plain,)]
{plain_rules}    server s1 127.0.0.1:{fpm} proto fcgi
backend keep
    use-fcgi-app php_keep
    http-request set-path %[path,regsub(^/keep,)]
    server s1 127.0.0.1:{relay_keep} proto fcgi
backend close
    use-fcgi-app php_nokeep
    http-request set-path %[path,regsub(^/close,)]
    server s1 127.0.0.1:{relay_close} proto fcgi
"""


_DROP_PARAMS = {"REMOTE_PORT", "SERVER_PORT", "SERVER_SOFTWARE"}
_DROP_HEADERS = {"date", "content-length", "transfer-encoding", "connection"}


def _requests(rng: random.Random) -> list[tuple[str, str, dict[str, str], bytes | None, bool]]:
    out = []
    for i in range(40):
        kind = rng.choice(["env", "pi", "index", "query", "post", "chunked", "status", "big", "bad", "auth",
                           "redir", "plain", "head"])
        hdrs = {"Host": "test.example", "X-In": f"v{i}", "X-Random-" + str(rng.randint(0, 9)): "r" * rng.randint(1, 20)}
        body = None
        chunked = False
        method = "GET"
        if kind == "env":
            path = "/env.php"
        elif kind == "pi":
            path = rng.choice(["/env.php/a/b", "/env.php/", "/dir/env.php/x%20y/z", "/e%6Ev.php/p"])
        elif kind == "index":
            path = rng.choice(["/", "/dir/"])
        elif kind == "query":
            path = "/env.php?" + "&".join(f"k{j}={rng.randint(0, 99)}" for j in range(rng.randint(0, 4))) + "&x=%41+b"
        elif kind in ("post", "chunked"):
            method = "POST"
            path = "/env.php"
            chunked = kind == "chunked"
            # (2.6 answers 400 to a large chunked body for a FastCGI server; haproxy-py forwards it)
            sizes = [0, 1, 100, 5000] if chunked else [0, 1, 100, 5000, 70000, 200000]
            body = bytes(rng.randrange(256) for _ in range(rng.choice(sizes)))
            hdrs["Content-Type"] = "application/octet-stream"
        elif kind == "status":
            path = f"/status.php?code={rng.choice([200, 201, 404, 500, 503])}&a={rng.randint(0, 9)}"
        elif kind == "big":
            path = f"/big.php?n={rng.choice([1, 3, 50, 200])}"
        elif kind == "bad":
            path = rng.choice(["/bad%zz.php", "/x%4"])
        elif kind == "auth":
            path = "/env.php"
            hdrs.update({"Authorization": "Basic dXNlcjpwdw==", "Proxy-Authorization": "x", "X-Secret-Pass": "s",
                         "Connection": "keep-alive, X-Hop", "X-Hop": "1", "TE": "trailers", "Keep-Alive": "5"})
        elif kind == "redir":
            path = "/redir.php"
        elif kind == "plain":
            path = rng.choice(["/plain/env.php/a/b", "/plain/", "/plain/dir/"])
        else:
            method = "HEAD"
            path = "/env.php"
        out.append((method, path, hdrs, body, chunked))
    return out


def _send(port: int, method: str, path: str, hdrs: dict[str, str], body: bytes | None, chunked: bool
          ) -> tuple[int, dict[str, str], bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            c.putheader(k, v)
        if body is not None and not chunked:
            c.putheader("Content-Length", str(len(body)))
        if chunked:
            c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        try:
            if body is not None:
                if chunked:
                    for k in range(0, len(body), 30000):
                        part = body[k:k + 30000]
                        c.send(b"%x\r\n%s\r\n" % (len(part), part))
                    c.send(b"0\r\n\r\n")
                else:
                    c.send(body)
        except OSError:
            pass  # the proxy answered (and closed) before the whole body went
        try:
            r = c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            return -1, {"error": type(e).__name__}, b""
        return r.status, {k.lower(): v for k, v in r.getheaders() if k.lower() not in _DROP_HEADERS}, data
    finally:
        c.close()


def _view(res: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], object]:
    st, hdrs, body = res
    if hdrs.get("x-script") == "env" and body:
        doc = json.loads(body)
        doc["server"] = {k: v for k, v in doc["server"].items() if k not in _DROP_PARAMS}
        return st, hdrs, doc
    return st, hdrs, body


def _run(which: str, php_fpm: tuple[int, Path], rules: str, plain_rules: str) -> tuple[list[object], int, int]:
    fpm, www = php_fpm
    port = free_port()
    keep, close = CountingRelay(fpm), CountingRelay(fpm)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.5)
    try:
        with run_proxy(_cfg(port, fpm, keep.port, close.port, www, rules, plain_rules, sink.getsockname()[1]),
                       which=which) as _pp:
            wait_port(port, timeout=20)
            got = [_view(_send(port, *r)) for r in _requests(random.Random(1414))]
            for path in ("/keep/env.php", "/close/env.php"):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                for _ in range(4):
                    c.request("GET", path, headers={"Host": "t"})
                    r = c.getresponse()
                    assert r.status == 200, (which, path)
                    r.read()
                c.close()
            time.sleep(0.2)
            logs = []
            while True:
                try:
                    logs.append(sink.recv(65536))
                except OSError:
                    break
            # log-stderr global: the scripts' error output, tagged with the app's name, level err
            stderr = [re.sub(rb"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d php\[\d+\]: ", rb"<\1>php: ", x)
                      for x in logs if b" php[" in x]
            return got + [("stderr", stderr)], keep.accepted, close.accepted
    finally:
        keep.close()
        close.close()
        sink.close()


def _diff(a: object, b: object) -> object:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return [_diff(x, y) for x, y in zip(a, b, strict=False) if x != y]
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _diff(a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
    return (a if not isinstance(a, bytes) else a[:200], b if not isinstance(b, bytes) else b[:200])


def test_fcgi_app_as_haproxy(php_fpm: tuple[int, Path]) -> None:
    require_haproxy("haproxy")
    # the fetches of the backend's app (usable where the request is: kept in variables for the response)
    docroot, index = "fcgi.docroot", "fcgi.index"
    rules = (f"    http-request set-var(txn.dr) {docroot}\n    http-request set-var(txn.ix) {index}\n"
             "    http-response set-header X-Docroot %[var(txn.dr)]\n    http-response set-header X-Index %[var(txn.ix)]\n")
    plain_rules = (f'    http-request set-var(txn.ix) {index}\n'
                   '    http-response set-header X-Index "<%[var(txn.ix)]>"\n')  # an app without index
    ref, ref_keep, ref_close = _run("haproxy", php_fpm, rules, plain_rules)
    ours, our_keep, our_close = _run("ours", php_fpm, rules, plain_rules)
    reqs = _requests(random.Random(1414))
    assert ref[-1][1] and all(x == b"<131>php: PHP message: error output from php\n" for x in ref[-1][1]), ref[-1]
    for i, (a, b) in enumerate(zip(ref, ours, strict=True)):
        assert a == b, (i, reqs[i][:3], _diff(a, b))
    # a request that reached the script: its parameters really are 2.6's derivations
    envs = [x for x in ref[:-1] if isinstance(x[2], dict)]
    assert envs and all(e[2]["server"]["GATEWAY_INTERFACE"] == "CGI/1.1" for e in envs)
    assert any("PATH_INFO" in e[2]["server"] for e in envs)
    assert {e[1].get("x-docroot") for e in envs if "x-docroot" in e[1]} == {str(php_fpm[1])}
    assert {x[1].get("x-index") for x in ref[:-1]} >= {"env.php", "<>"}
    assert (ref_keep, ref_close, our_keep, our_close) == (1, 4, 1, 4)


# --------------------------------------------------------------------------- -c messages

_HEAD = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
_USE = "backend b\n  use-fcgi-app a\n  server s 127.0.0.1:1 proto fcgi\n"
BAD_CONFIGS = [
    "fcgi-app\n",
    "fcgi-app a\n",
    "fcgi-app a\n  docroot\n",
    "fcgi-app a\n  docroot /x y\n",
    "fcgi-app a\n  docroot /x\n  index\n",
    "fcgi-app a\n  docroot /x\n  index a b\n",
    "fcgi-app a\n  docroot /x\n  path-info\n",
    "fcgi-app a\n  docroot /x\n  set-param\n",
    "fcgi-app a\n  docroot /x\n  set-param A\n",
    "fcgi-app a\n  docroot /x\n  pass-header\n",
    "fcgi-app a\n  docroot /x\n  option foo\n",
    "fcgi-app a\n  docroot /x\n  option max-reqs\n",
    "fcgi-app a\n  docroot /x\n  option max-reqs 0\n",
    "fcgi-app a\n  docroot /x\n  bogus\n",
    "fcgi-app a\n  docroot /x\n  log-stderr\n",
    "fcgi-app a\n  docroot /x\n  log-stderr global\nbackend b\n  use-fcgi-app a\n  server s 127.0.0.1:1 proto fcgi\n",
    "fcgi-app a\n  docroot /x\nfcgi-app a\n  docroot /y\n",
    "fcgi-app a\n  docroot /x\nbackend b\n  use-fcgi-app a\n  server s 127.0.0.1:1\n",
    "fcgi-app a\n  docroot /x\nbackend b\n  use-fcgi-app z\n  server s 127.0.0.1:1 proto fcgi\n",
    "fcgi-app a\n  docroot /x\nbackend b\n  server s 127.0.0.1:1 proto fcgi\n",
    "fcgi-app a\n  docroot /x\nbackend b\n  use-fcgi-app\n",
    "fcgi-app a\n  docroot /x\nfrontend f\n  bind 127.0.0.1:1\n  use-fcgi-app a\n",
    "fcgi-app a\n  docroot /x\nbackend b\n  mode tcp\n  use-fcgi-app a\n  server s 127.0.0.1:1 proto fcgi\n",
    "backend b\n  server s 127.0.0.1:1 proto foo\n",
    "backend b\n  server s 127.0.0.1:1 proto\n",
    "fcgi-app a\n  docroot /x\n  index i.php\n  path-info ^(/.+)(/.*)?$\n  set-param X %[path]\n"
    "  pass-header Authorization\n  option keep-conn\n  no option keep-conn\n  option max-reqs 5\n"
    "backend b\n  use-fcgi-app a\n  server s 127.0.0.1:1 proto fcgi\n",
    "fcgi-app a\n  docroot /x\n  index i.php\n  set-param X %[path]\n  no option keep-conn\n"
    "backend b\n  use-fcgi-app a\n  server s 127.0.0.1:1 proto fcgi\n",
    # acl lines and conditions (set-param, pass-header), option get-values / max-reqs
    "fcgi-app a\n  docroot /x\n  acl a path_beg /x\n  set-param FOO bar if a\n" + _USE,
    "fcgi-app a\n  docroot /x\n  set-param FOO bar if nosuch\n" + _USE,
    "fcgi-app a\n  docroot /x\n  set-param FOO bar if { path_beg }\n" + _USE,
    "fcgi-app a\n  docroot /x\n  set-param FOO bar if { nosuchfetch x }\n" + _USE,
    "fcgi-app a\n  docroot /x\n  pass-header X-Y unless { hdr(x) -m found }\n" + _USE,
    "fcgi-app a\n  docroot /x\n  acl a nosuchf x\n" + _USE,
    "fcgi-app a\n  docroot /x\n  acl or path /\n" + _USE,
    "fcgi-app a\n  docroot /x\n  acl a% path /\n" + _USE,
    "fcgi-app a\n  docroot /x\n  acl a\n" + _USE,
    "fcgi-app a\n  docroot /x\n  acl a path_beg /x\n  set-param FOO bar foo\n" + _USE,
    "fcgi-app a\n  docroot /x\n  set-param FOO bar if { res.hdr(x) -m found }\n" + _USE,
    "fcgi-app a\n  docroot /x\n  option get-values\n  option max-reqs 5\n" + _USE,
    "fcgi-app a\n  docroot /x\n  no option get-values\n  option max-reqs 5\n" + _USE,
    "fcgi-app a\n  docroot /x\n  option max-reqs 1\n" + _USE,
    "fcgi-app a\n  docroot /x\n  no option max-reqs\n" + _USE,
    "fcgi-app a\n  docroot /x\n  acl a src 10.0.0.0/8\n  pass-header authorization if !a TRUE || METH_GET\n" + _USE,
    "fcgi-app a\n  docroot /x\n  set-param FOO %[path if TRUE\n" + _USE,
    "fcgi-app a\n  docroot /x\n  set-param FOO %[path if TRUE\n",
    "fcgi-app a\n  docroot /x\n  set-param FOO bar if\n  pass-header X unless\n" + _USE,
    "fcgi-app a\n  docroot /x\n  set-param FOO bar unless { path -m zz x }\n" + _USE,
    "fcgi-app a\n  docroot /x\n  option mpxs-conns\n" + _USE,
    "fcgi-app a\n  docroot /x\n  option mpxs-conns\n  option max-reqs 1\n" + _USE,
    "fcgi-app a\n  docroot /x\n  option mpxs-conns\n  no option mpxs-conns\n  option max-reqs 5\n" + _USE,
]



def _alerts(which: str, text: str, d: Path) -> tuple[int, list[str]]:
    cfg = d / "c.cfg"
    cfg.write_text(_HEAD + text)
    import sys

    from tests.integration.harness import ROOT

    cmd = ([sys.executable, "-m", "haproxy_py"] if which == "ours" else ["haproxy"]) + ["-c", "-f", "c.cfg"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(d), env=env, timeout=60)
    lines = [ln.split(" : ", 2)[-1].strip() for ln in r.stderr.splitlines() if "[ALERT]" in ln]
    return r.returncode, lines


def test_fcgi_config_messages_as_haproxy(tmp_path: Path) -> None:
    require_haproxy("haproxy")
    for text in BAD_CONFIGS:
        assert _alerts("ours", text, tmp_path) == _alerts("haproxy", text, tmp_path), text


# --------------------------------------------------------------------------- conditions (generated)

_ACLS = ["path_beg /env", "hdr(x-k) -m found", "hdr(x-k) -m str v1", "method POST", "query -m sub k=1",
         "src 127.0.0.1", "req.hdr_cnt(x-m) gt 1", "hdr(host) -m beg t"]
_CONDS = ["if a0", "unless a1", "if a2 a3", "if a4 || !a5", "if { hdr(x-k) -m found }", "unless { path_end .php }",
          "if TRUE", "if METH_GET", "if", "unless", "if !a6 a7", "unless a3 || a2"]
_VALUES = ["%[req.hdr(x-v)]", "lit", "%[path]-%[method]", "%[req.hdr(x-none)]", "%[var(txn.t)]", "x%[query]"]


def _gen_app(rng: random.Random, docroot: Path) -> str:
    lines = [f"fcgi-app gen\n    docroot {docroot}\n    option get-values\n"]
    lines += [f"    acl a{i} {c}\n" for i, c in enumerate(_ACLS)]
    for _ in range(rng.randint(3, 8)):
        if rng.random() < 0.65:
            # names that meet: P_A and p-a are the same parameter for 2.6 (lower case, '_')
            name = rng.choice(["P_A", "p-a", "P_B", "HTTP_X_K", "Q.C"])
            lines.append(f"    set-param {name} {rng.choice(_VALUES)} {rng.choice(_CONDS + [''] * 4)}\n")
        else:
            hdr = rng.choice(["Authorization", "Proxy-Authorization", "X-Free", "Proxy", "Trailers"])
            lines.append(f"    pass-header {hdr} {rng.choice(_CONDS + [''] * 2)}\n")
    return "".join(lines)


def _gen_requests(rng: random.Random) -> list[tuple[str, str, dict[str, str], bytes | None, bool]]:
    out = []
    for _ in range(12):
        hdrs = {"Host": rng.choice(["test.example", "other"]), "Authorization": "Basic dXNlcjpwdw==",
                "Proxy-Authorization": "pa", "X-Free": "f", "Proxy": "px", "Trailers": "t"}
        if rng.random() < 0.6:
            hdrs["X-K"] = rng.choice(["v1", "v2"])
        if rng.random() < 0.7:
            hdrs["X-V"] = f"val{rng.randint(0, 9)}"
        if rng.random() < 0.3:
            hdrs["X-M"] = "1"
        method = rng.choice(["GET", "POST"])
        path = rng.choice(["/env.php", "/env.php?k=1", "/dir/env.php?k=2", "/env.php/p"])
        out.append((method, path, hdrs, b"body" if method == "POST" else None, False))
    return out


_GEN_CFG = """\
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
{app}frontend fe
    bind 127.0.0.1:{port}
    default_backend gen
backend gen
    use-fcgi-app gen
    http-request set-var(txn.t) str(tv) if {{ hdr(x-k) -m found }}
    server s1 127.0.0.1:{fpm} proto fcgi
"""


def test_fcgi_rule_conditions_as_haproxy(php_fpm: tuple[int, Path]) -> None:
    """set-param and pass-header with if/unless conditions over the section's own ACLs (and
    predefined ones, anonymous ones, an empty condition), with option get-values: generated
    sections, generated requests, the parameters php-fpm saw compared with 2.6's."""
    require_haproxy("haproxy")
    fpm, www = php_fpm
    for seed in range(5):
        rng = random.Random(seed)
        app = _gen_app(rng, www)
        reqs = _gen_requests(rng)
        seen = {}
        for which in ("haproxy", "ours"):
            port = free_port()
            with run_proxy(_GEN_CFG.format(app=app, port=port, fpm=fpm), which=which) as pp:
                try:
                    wait_port(port, timeout=20)
                except TimeoutError:
                    raise AssertionError((which, app, pp.stderr_text())) from None
                seen[which] = [_view(_send(port, *r)) for r in reqs]
        assert any(isinstance(x[2], dict) for x in seen["haproxy"]), (app, seen["haproxy"])
        for i, (a, b) in enumerate(zip(seen["haproxy"], seen["ours"], strict=True)):
            assert a == b, (seed, app, reqs[i][:3], _diff(a, b))


# --------------------------------------------------------------------------- option get-values


class _FakeApp(TcpServer):
    """A FastCGI application that answers GET_VALUES late (after ``delay``) and records, per
    connection, the records it got and whether a request came before its answer."""

    def __init__(self, delay: float, answer: bool = True) -> None:
        self.delay = delay
        self.answer = answer
        self.conns: list[dict[str, object]] = []
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        from haproxy_py.http import fcgi as F

        seen: dict[str, object] = {"types": [], "values": None, "early": False}
        self.conns.append(seen)
        reader = F.RecordReader()
        answered = False
        c.settimeout(5)
        with c:
            while True:
                try:
                    data = c.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                for r in reader.feed(data):
                    seen["types"].append(r.type)  # type: ignore[attr-defined]
                    if r.type == F.GET_VALUES:
                        seen["values"] = sorted(F.decode_values(r.content))
                        time.sleep(self.delay)
                        # whatever came meanwhile, before the answer
                        c.settimeout(0.01)
                        try:
                            early = c.recv(65536)
                        except OSError:
                            early = b""
                        c.settimeout(5)
                        seen["early"] = bool(early)
                        if self.answer:
                            c.sendall(F.record(F.GET_VALUES_RESULT, 0, F.encode_nv(b"FCGI_MAX_REQS", b"1")
                                               + F.encode_nv(b"FCGI_MPXS_CONNS", b"0")))
                        answered = True
                        if early:
                            for r2 in reader.feed(early):
                                seen["types"].append(r2.type)  # type: ignore[attr-defined]
                                if r2.type == F.STDIN and not r2.content:
                                    self._respond(c, r2.req_id)
                    elif r.type == F.STDIN and not r.content:
                        seen["before_answer"] = not answered
                        self._respond(c, r.req_id)

    @staticmethod
    def _respond(c: socket.socket, rid: int) -> None:
        from haproxy_py.http import fcgi as F

        c.sendall(F.record(F.STDOUT, rid, b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n")
                  + F.record(F.STDOUT, rid) + F.record(F.END_REQUEST, rid, b"\0\0\0\0\0\0\0\0"))


_GV_CFG = """\
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server {tmo}
fcgi-app a
    docroot /srv
    {opt}option get-values
frontend fe
    bind 127.0.0.1:{port}
    default_backend b
backend b
    use-fcgi-app a
    server s1 127.0.0.1:{app} proto fcgi
"""


@pytest.mark.parametrize("opt", ["", "no "])
def test_fcgi_get_values_as_haproxy(opt: str) -> None:
    """option get-values: the connection first asks the application for FCGI_MAX_REQS and
    FCGI_MPXS_CONNS and the request waits for the answer; without the option (or with 'no
    option get-values') the request goes at once. An application that never answers leaves the
    request waiting until 'timeout server' (a 504)."""
    require_haproxy("haproxy")
    got = {}
    for which in ("haproxy", "ours"):
        app = _FakeApp(0.3)
        try:
            port = free_port()
            with run_proxy(_GV_CFG.format(port=port, app=app.port, opt=opt, tmo="5s"), which=which):
                wait_port(port, timeout=20)
                res = [_send(port, "GET", "/x.php", {"Host": "h"}, None, False)[::2] for _ in range(2)]
            got[which] = (res, [(x["types"][:2], x["values"], x["early"]) for x in app.conns])
        finally:
            app.close()
    assert got["ours"] == got["haproxy"], got
    res, conns = got["haproxy"]
    assert res == [(200, b"ok\n")] * 2
    if opt:
        assert all(t[0] == 1 and v is None for t, v, _e in conns), conns  # BEGIN_REQUEST first
    else:
        assert conns and conns[0] == ([9, 1], [b"FCGI_MAX_REQS", b"FCGI_MPXS_CONNS"], False), conns


def test_fcgi_get_values_unanswered_differs_from_haproxy() -> None:
    """An application that never answers GET_VALUES: 2.6 counts each such connection as failed
    (retried, then 503); haproxy-py waits on its one connection until 'timeout server' (504).
    A difference the README lists."""
    require_haproxy("haproxy")
    got = {}
    for which in ("haproxy", "ours"):
        app = _FakeApp(0.0, answer=False)
        try:
            port = free_port()
            with run_proxy(_GV_CFG.format(port=port, app=app.port, opt="", tmo="1s"), which=which):
                wait_port(port, timeout=20)
                got[which] = (_send(port, "GET", "/x.php", {"Host": "h"}, None, False)[0],
                              [x["types"] for x in app.conns])
        finally:
            app.close()
    assert got["haproxy"] == (503, [[9]] * 4), got
    assert got["ours"] == (504, [[9]]), got


def test_fcgi_reused_connection_carries_the_new_request_as_haproxy(php_fpm: tuple[int, Path]) -> None:
    """A kept FastCGI connection reused by another client's request (http-reuse always): the
    parameters are that request's (its set-param values, its address), as 2.6."""
    require_haproxy("haproxy")
    fpm, www = php_fpm
    cfg = ("defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
           f"fcgi-app a\n    docroot {www}\n    set-param X_IN %[req.hdr(x-in)]\n"
           "frontend fe\n    bind 127.0.0.1:{port}\n    default_backend b\n"
           f"backend b\n    use-fcgi-app a\n    http-reuse always\n    server s1 127.0.0.1:{{relay}} proto fcgi\n")
    got = {}
    for which in ("haproxy", "ours"):
        relay = CountingRelay(fpm)
        try:
            port = free_port()
            with run_proxy(cfg.format(port=port, relay=relay.port), which=which):
                wait_port(port, timeout=20)
                seen = []
                for i in range(3):
                    st, _h, doc = _view(_send(port, "GET", "/env.php", {"Host": "h", "X-In": f"c{i}"}, None, False))
                    assert st == 200 and isinstance(doc, dict), (which, st, doc)
                    seen.append(doc["server"]["X_IN"])
                    time.sleep(0.3)  # the proxy puts the connection back in its pool after the answer
            got[which] = (seen, relay.accepted)
        finally:
            relay.close()
    assert got["ours"][0] == got["haproxy"][0] == ["c0", "c1", "c2"], got
    assert got["ours"][1] < 3 and got["haproxy"][1] < 3, got  # a connection was reused


@pytest.mark.parametrize("opts", ["    option mpxs-conns\n", "    option mpxs-conns\n    option max-reqs 1\n",
                                  "    option mpxs-conns\n    option get-values\n"])
def test_fcgi_mpxs_conns_one_request_at_a_time_as_haproxy(php_fpm: tuple[int, Path], opts: str) -> None:
    """option mpxs-conns with max-reqs 1 (its default): 2.6 allows one request at a time on a
    connection, as without the option; the requests of several clients at once each get their
    answer, a client's requests in turn share one kept connection."""
    require_haproxy("haproxy")
    fpm, www = php_fpm
    cfg = ("defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
           f"fcgi-app a\n    docroot {www}\n    set-param X_IN %[req.hdr(x-in)]\n{opts}"
           "frontend fe\n    bind 127.0.0.1:{port}\n    default_backend b\n"
           "backend b\n    use-fcgi-app a\n    server s1 127.0.0.1:{relay} proto fcgi\n")
    got = {}
    for which in ("haproxy", "ours"):
        relay = CountingRelay(fpm)
        try:
            port = free_port()
            with run_proxy(cfg.format(port=port, relay=relay.port), which=which):
                wait_port(port, timeout=20)
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                seq = []
                for i in range(3):
                    c.request("GET", "/env.php", headers={"Host": "h", "X-In": f"s{i}"})
                    r = c.getresponse()
                    seq.append((r.status, json.loads(r.read())["server"]["X_IN"]))
                c.close()
                kept = relay.accepted
                out: list[object] = [None] * 4

                def one(i: int, port: int = port, out: list[object] = out) -> None:
                    st, _h, doc = _view(_send(port, "GET", f"/big.php?n=20&i={i}", {"Host": "h", "X-In": f"p{i}"},
                                              None, False))
                    out[i] = (st, len(doc) if isinstance(doc, bytes) else doc)

                ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(15)
            got[which] = (seq, kept, out)
        finally:
            relay.close()
    assert got["ours"] == got["haproxy"], got
    assert got["haproxy"][0] == [(200, "s0"), (200, "s1"), (200, "s2")] and got["haproxy"][1] == 1, got
