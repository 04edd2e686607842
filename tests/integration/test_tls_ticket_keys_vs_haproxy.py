"""``bind ... tls-ticket-keys FILE`` with HAProxy 2.6 and haproxy-py running at the same time on the
same key files: a session ticket one of them issued resumes on the other (TLS 1.2 and 1.3, 48 and
80-byte keys), not on a bind line of another file; the key that names each new ticket is the same on
both (the file's penultimate); ``set ssl tls-key`` rotates both rings alike (an older ticket resumes
and is renewed while its key is in the ring, not after). The runtime API's replies (``show
tls-keys``, ``set ssl tls-key``) and ``-c``'s verdicts on generated bad key files are compared."""

from __future__ import annotations

import base64
import random
import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket
from tests.integration.test_tls_bind_vs_haproxy import check_both, handshake, pmap, s_client
from tests.integration.test_tls_cli_vs_haproxy import ask
from tests.integration.tls_certs import Certs

DEFAULTS = """defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
"""


def _keys(rng: random.Random, n: int, size: int) -> list[bytes]:
    return [bytes(rng.getrandbits(8) for _ in range(size)) for _ in range(n)]


def _write(path: Path, keys: list[bytes]) -> Path:
    path.write_text("".join(base64.b64encode(k).decode() + "\n" for k in keys))
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Any]:
    rng = random.Random(2606)
    k48, k80, other = _keys(rng, 4, 48), _keys(rng, 3, 80), _keys(rng, 3, 48)
    return {"k48": _write(tmp_path / "k48.txt", k48), "k80": _write(tmp_path / "k80.txt", k80),
            "other": _write(tmp_path / "other.txt", other), "keys48": k48, "keys80": k80, "rng": rng}


def _config(certs: Certs, files: dict[str, Any], ports: list[int]) -> str:
    return ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n" + DEFAULTS
            + f"""frontend fe
    bind 127.0.0.1:{ports[0]} ssl crt {certs.root}/ec.pem tls-ticket-keys {files['k48']}
    bind 127.0.0.1:{ports[1]} ssl crt {certs.root}/ec.pem tls-ticket-keys {files['k80']}
    bind 127.0.0.1:{ports[2]} ssl crt {certs.root}/ec.pem tls-ticket-keys {files['other']}
    bind 127.0.0.1:{ports[3]} ssl crt {certs.root}/ec.pem tls-ticket-keys {files['k48']}
    http-request return status 200 content-type text/plain lf-string "resumed=%[ssl_fc_is_resumed]"
""")


@contextmanager
def _both(certs: Certs, files: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """2.6 and haproxy-py at the same time: name -> (ports, admin socket path)."""
    require_haproxy("haproxy")
    out = {}
    with ExitStack() as stack:
        for which in ("haproxy", "ours"):
            ports = [free_port() for _ in range(4)]
            pp = stack.enter_context(run_proxy(_config(certs, files, ports), wait_ports=ports, which=which))
            out[which] = (ports, Path(admin_socket(pp)))
        yield out


def _ticket_name(text: str) -> str:
    """The key name (first 16 bytes, in hex) of the ticket of a printed session ('-': none)."""
    m = re.search(r"TLS session ticket:\n((?:\s*[0-9a-f]{4} - .*\n)+)", text)
    if not m:
        return "-"
    raw = "".join(re.findall(r" - ((?:[0-9a-f]{2}[ -]){1,16})", m.group(1)))
    return raw.replace(" ", "").replace("-", "")[:32]


def _saved_ticket(sess: Path) -> str:
    if not sess.exists():
        return "-"
    p = subprocess.run(["openssl", "sess_id", "-in", str(sess), "-noout", "-text"], capture_output=True,
                       text=True, timeout=15)
    return _ticket_name(p.stdout)


def _visit(port: int, v: str, sess_in: Path | None, sess_out: Path) -> tuple[str, str]:
    """One request: whether the handshake resumed (as s_client and ssl_fc_is_resumed say) and the
    key name of the ticket the client holds afterwards."""
    sess_out.unlink(missing_ok=True)
    args = [v, "-ign_eof", "-sess_out", str(sess_out)] + (["-sess_in", str(sess_in)] if sess_in else [])
    out = s_client(port, *args, data=b"GET / HTTP/1.0\r\n\r\n", delay=0.3)
    body = re.search(r"resumed=(\d)", out)
    # s_client prints the session as the handshake ends (a TLS 1.2 ticket, renewed or not, is in
    # it); TLS 1.3 tickets come later and only the saved new session has them
    name = _ticket_name(out)
    return f"{handshake(out)[0]}/{body.group(1) if body else '?'}", name if name != "-" else _saved_ticket(sess_out)


@pytest.mark.slow
def test_tickets_resume_across_both_as_haproxy(certs: Certs, files: dict[str, Any], tmp_path: Path) -> None:
    k48, k80 = files["keys48"], files["keys80"]
    with _both(certs, files) as procs:
        ha, ours = procs["haproxy"][0], procs["ours"][0]
        def pair(job: tuple[Any, ...]) -> tuple[Any, ...]:
            v, a, b, name, i, j, _ = job
            first, second = tmp_path / f"{name}{v}{i}{j}a", tmp_path / f"{name}{v}{i}{j}b"
            return _visit(a[i], v, None, first), _visit(b[j], v, first, second)

        # (each pair of clients beside the others: independent sessions)
        jobs = [(v, a, b, name, i, j, resumes) for v in ("-tls1_2", "-tls1_3")
                for a, b, name in ((ha, ours, "h2o"), (ours, ha, "o2h"))
                for i, j, resumes in ((0, 0, True), (0, 3, True), (1, 1, True), (2, 2, True), (0, 2, False),
                                      (1, 0, False))]
        for (v, _, _, name, i, j, resumes), (got1, got2) in zip(jobs, pmap(pair, jobs), strict=True):
            assert got1[0] == "New/0", (v, name, i, j, got1)
            assert got2[0] == ("Reused/1" if resumes else "New/0"), (v, name, i, j, got2)
        # each new ticket is named after the file's penultimate key, on both
        names = pmap(lambda job: _visit(procs[job[1]][0][job[2]], job[0], None, tmp_path / f"n{job[0]}{job[1]}{job[2]}")[1],
                     [(v, which, k) for v in ("-tls1_2", "-tls1_3") for which in ("haproxy", "ours") for k in (0, 1)])
        assert names == [k48[-2][:16].hex(), k80[-2][:16].hex()] * 4, names

        # rotation: an older ticket (the file's penultimate key) resumes on the other one, renewed
        # with the new encrypting key, until a second rotation drops its key from both rings
        rng = files["rng"]
        new = _keys(rng, 2, 48)
        v = "-tls1_2"
        old = tmp_path / "old"
        assert _visit(ha[0], v, None, old)[0] == "New/0"
        seen: list[Any] = []
        for step, key in enumerate(new):
            for which in ("haproxy", "ours"):
                sock = procs[which][1]
                ref = str(files["k48"]) if step == 0 else "#2"  # the first file read has the last id
                reply = ask(sock, f"set ssl tls-key {ref} {base64.b64encode(key).decode()}")
                assert reply == b"TLS ticket key updated!\n\n", (which, reply)
            dumps = [ask(procs[w][1], "show tls-keys *") for w in ("haproxy", "ours")]
            assert dumps[0] == dumps[1]
            for which, dst in (("ours", ours), ("haproxy", ha)):
                got = _visit(dst[0], v, old, tmp_path / f"r{step}{which}")
                fresh = _visit(dst[3], v, None, tmp_path / f"f{step}{which}")
                seen.append((step, which, got, fresh[1]))
        enc_after = [k48[-1][:16].hex(), new[0][:16].hex()]  # the previous newest encrypts
        for step, _which, got, fresh in seen:
            assert fresh == enc_after[step]
            if step == 0:
                assert got == ("Reused/1", enc_after[0])  # resumed and renewed
            else:
                assert got[0] == "New/0"
        assert [s[2] for s in seen if s[1] == "ours"] == [s[2] for s in seen if s[1] == "haproxy"]


def test_cli_tls_keys_as_haproxy(certs: Certs, files: dict[str, Any]) -> None:
    rng = files["rng"]
    k48, k80 = (base64.b64encode(k).decode() for k in (_keys(rng, 1, 48)[0], _keys(rng, 1, 80)[0]))
    f48, f80 = files["k48"], files["k80"]
    cmds = ["show tls-keys", "show tls-keys *", "show tls-keys *x", "show tls-keys #0", "show tls-keys #1",
            "show tls-keys #2", "show tls-keys #3", "show tls-keys #", "show tls-keys #x", "show tls-keys #01",
            "show tls-keys #+1", "show tls-keys #-1", "show tls-keys 1", f"show tls-keys {f48}",
            f"show tls-keys {f48}x", "set ssl tls-key", "set ssl tls-key #2", f"set ssl tls-key #2 {k80}",
            "set ssl tls-key #2 !!!!", "set ssl tls-key #2 abc", "set ssl tls-key #2 QQ==QQ==",
            f"set ssl tls-key #9 {k48}", f"set ssl tls-key /nope {k48}", f"set ssl tls-key 2 {k48}",
            f"set ssl tls-key #2 {k48}", "show tls-keys #2", f"set ssl tls-key {f48} {k48}", "show tls-keys #2",
            f"set ssl tls-key #1 {k48}", f"set ssl tls-key {f80} {k80}", f"set ssl tls-key # {k80}",
            "show tls-keys *"]
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        ports = [free_port() for _ in range(4)]
        with run_proxy(_config(certs, files, ports), wait_ports=ports, which=which) as pp:
            sock = Path(admin_socket(pp))
            out.append([(c, ask(sock, c)) for c in cmds])
    assert out[1] == out[0]
    replies = {r for _, r in out[0]}
    assert b"TLS ticket key updated!\n\n" in replies
    assert b"'set ssl tls-key' received a key of wrong size.\n\n" in replies
    assert b"'show tls-keys' unable to locate referenced filename\n\n" in replies


def test_ticket_key_files_checked_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """-c on key files of every kind 2.6 refuses or takes (generated from a seed): too few keys,
    a size not 48/80, sizes mixed, base64 it does not decode, blank lines, CRLF line ends, no last
    line end, a missing file; one bind line each."""
    rng = random.Random(26)

    def b64(k: bytes) -> str:
        return base64.b64encode(k).decode()

    def ks(n: int, size: int = 48) -> list[str]:
        return [b64(k) for k in _keys(rng, n, size)]

    cases = {
        "ok48": "\n".join(ks(3)) + "\n", "ok80": "\n".join(ks(5, 80)) + "\n", "two": "\n".join(ks(2)) + "\n",
        "empty": "", "size40": "\n".join([b64(_keys(rng, 1, 40)[0]), *ks(3)]) + "\n",
        "size96": "\n".join([*ks(2), b64(_keys(rng, 1, 96)[0])]) + "\n",
        "mixed": "\n".join([*ks(1), *ks(1, 80), *ks(1)]) + "\n", "badchar": "\n".join([*ks(1), "A!" * 32, *ks(2)]),
        "unpadded": "\n".join([*ks(3), b64(_keys(rng, 1, 47)[0]).rstrip("=")]) + "\n",
        "blank_end": "\n".join(ks(3)) + "\n\n", "blank_start": "\n" + "\n".join(ks(3)) + "\n",
        "crlf": "\r\n".join(ks(3)) + "\r\n", "no_last_lf": "\n".join(ks(4)), "spaces": " " + "\n".join(ks(3)),
        "midpad": "\n".join([*ks(2), "QQ==" + ks(1)[0][4:]]) + "\n",
    }
    binds = []
    for i, (name, text) in enumerate(cases.items()):
        path = tmp_path / f"{name}.keys"
        path.write_bytes(text.encode())
        binds.append(f"    bind 127.0.0.1:{20000 + i} ssl crt {certs.root}/ec.pem tls-ticket-keys {path}\n")
    binds.append(f"    bind 127.0.0.1:19999 ssl crt {certs.root}/ec.pem tls-ticket-keys {tmp_path}/missing\n")
    binds.append(f"    bind 127.0.0.1:19998 tls-ticket-keys {tmp_path}/two.keys\n")
    theirs, ours = check_both(DEFAULTS + "frontend fe\n" + "".join(binds), tmp_path)
    assert ours == theirs
    text = "\n".join(theirs)
    for msg in ("please supply at least 3 keys", "wrong sized key on line 1", "unable to decode base64 key",
                "unable to load ssl tickets keys file"):
        assert msg in text
    for name in ("ok48", "ok80", "crlf", "no_last_lf"):
        assert f"{name}.keys" not in text



@pytest.mark.slow
def test_tickets_resume_on_every_worker(certs: Certs, files: dict[str, Any], tmp_path: Path) -> None:
    """``nbthread 2``: haproxy-py's two workers share the bind line's ticket keys (2.6's threads
    share their context's): a ticket 2.6 or either worker issued resumes on both workers, and a
    ``set ssl tls-key`` on the master's socket rotates both rings (every new ticket then names the
    same key, as 2.6's)."""
    require_haproxy("haproxy")
    port, hport = free_port(), free_port()
    body = '    http-request return status 200 content-type text/plain lf-string "resumed=%[ssl_fc_is_resumed] t=%[thread]"\n'

    def cfg(p: int, nbthread: int) -> str:
        return (f"global\n    nbthread {nbthread}\n    stats socket @DIR@/admin.sock mode 600 level admin\n" + DEFAULTS
                + f"frontend fe\n    bind 127.0.0.1:{p} ssl crt {certs.root}/ec.pem tls-ticket-keys {files['k48']}\n"
                + body)

    def visit(p: int, v: str, sess_in: Path | None, out: Path) -> tuple[str, str, str]:
        out.unlink(missing_ok=True)
        args = [v, "-ign_eof", "-sess_out", str(out)] + (["-sess_in", str(sess_in)] if sess_in else [])
        text = s_client(p, *args, data=b"GET / HTTP/1.0\r\n\r\n", delay=0.3)
        m = re.search(r"resumed=(\d) t=(\d+)", text)
        name = _ticket_name(text)
        return (handshake(text)[0] + "/" + (m.group(1) if m else "?"), m.group(2) if m else "?",
                name if name != "-" else _saved_ticket(out))

    with ExitStack() as stack:
        stack.enter_context(run_proxy(cfg(hport, 1), wait_ports=[hport], which="haproxy"))
        pp = stack.enter_context(run_proxy(cfg(port, 2), wait_ports=[port], which="ours"))
        sock = Path(admin_socket(pp))
        for v in ("-tls1_2", "-tls1_3"):
            from_26, from_ours = tmp_path / f"h{v}", tmp_path / f"o{v}"
            assert visit(hport, v, None, from_26)[0] == "New/0"
            assert visit(port, v, None, from_ours)[0] == "New/0"
            got = pmap(lambda k, v=v, a=from_26, b=from_ours: visit(port, v, a if k % 2 else b, tmp_path / f"r{v}{k}"),
                       list(range(12)))
            assert {g[0] for g in got} == {"Reused/1"}, got
            assert {g[1] for g in got} == {"0", "1"}, got  # both workers resumed them
        key = _keys(files["rng"], 1, 48)[0]
        assert ask(sock, f"set ssl tls-key {files['k48']} {base64.b64encode(key).decode()}") == \
            b"TLS ticket key updated!\n\n"
        fresh = pmap(lambda k: visit(port, "-tls1_2", None, tmp_path / f"f{k}"), list(range(10)))
        assert {f[2] for f in fresh} == {files["keys48"][-1][:16].hex()}, fresh  # the previous newest encrypts
        assert {f[1] for f in fresh} == {"0", "1"}, fresh
