"""The protocol checks against Debian's HAProxy 2.6: ``option pgsql-check``, ``option smtpchk``,
``option ssl-hello-chk``, each in a good state, refusing (a rejected or unknown login, an SMTP
error reply), stopped (a refused port) and slow (a server that accepts and says nothing), both
proxies running the same configuration on the same servers at the same time.

* PostgreSQL: a real server (Debian's postgresql-15; initdb in a temporary directory, run as
  ``nobody`` since PostgreSQL refuses root, on a loopback port): a trusted user, an unknown role,
  an md5 user (the password request passes, as in 2.6), and a role pg_hba.conf rejects;
* SMTP: a scripted server (one per behaviour: greeting, refusals, a broken QUIT...), chosen over
  aiosmtpd (not installed here, and it cannot be made to misbehave on purpose); what each
  proxy sent is compared too;
* SSL: ``openssl s_server`` with a throwaway self-signed key, and plain servers;
* MySQL and LDAP: scripted servers (the real MariaDB and slapd are in
  test_real_servers_checks_vs_haproxy; these replies are the protocol's edge cases: a greeting,
  OK and error packets, bindResponses);
* SPOP (``option spop-check``): scripted agents answering HELLO/DISCONNECT frames.

Compared as in test_tcpcheck_vs_haproxy: per server the health-check log lines and state changes,
and show stat status/check_status/check_code/last_chk.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy, stop_process, wait_port
from tests.integration.test_tcpcheck_vs_haproxy import Sink, _compare, show_stat

PG_BIN = "/usr/lib/postgresql/15/bin"


class Scripted:
    """A loopback server running ``handler(conn, received)`` per connection."""

    def __init__(self, handler: Callable[[socket.socket, list[bytes]], None]) -> None:
        self.handler = handler
        self.received: list[bytes] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(5)
            self.handler(c, self.received)
        except OSError:
            pass
        finally:
            c.close()

    def close(self) -> None:
        self.sock.close()


def _smtp(greeting: bytes, helo_reply: bytes | None, quit_reply: bytes | None, *, close_after_helo: bool = False,
          quiet_quit: bool = False) -> Callable[[socket.socket, list[bytes]], None]:
    def handle(c: socket.socket, rx: list[bytes]) -> None:
        c.sendall(greeting)
        if not greeting.startswith(b"2"):
            time.sleep(0.3)
            return
        rx.append(c.recv(1000))
        if helo_reply is None:
            time.sleep(2.5)
            return
        c.sendall(helo_reply)
        if close_after_helo:
            return
        rx.append(c.recv(1000))
        if quiet_quit:
            time.sleep(2.5)
        elif quit_reply is not None:
            c.sendall(quit_reply)
            time.sleep(0.3)
    return handle


def _silent(c: socket.socket, rx: list[bytes]) -> None:
    time.sleep(2.5)


def _err(c: socket.socket, rx: list[bytes]) -> None:
    c.recv(1000)
    c.sendall(b"-ERR unknown\r\n")
    time.sleep(0.3)


def _mysql_packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


MYSQL_GREETING = _mysql_packet(0, b"\x0a" + b"10.11.6-MariaDB-0+deb12u1\x00" + (7).to_bytes(4, "little")
                               + b"abcdefgh\x00" + b"\xfe\xf7" + b"\x2d" + b"\x02\x00" + b"\xff\x81"
                               + b"\x15" + bytes(10) + b"ijklmnopqrst\x00" + b"mysql_native_password\x00")
MYSQL_OK = _mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00")
MYSQL_DENIED = _mysql_packet(2, b"\xff\x15\x04#28000Access denied for user 'haproxy'@'localhost'")
MYSQL_HOST = _mysql_packet(0, b"\xff\x6a\x04Host '127.0.0.1' is not allowed to connect to this MariaDB server")


def _mysql(first: bytes, reply: bytes | None) -> Callable[[socket.socket, list[bytes]], None]:
    def handle(c: socket.socket, rx: list[bytes]) -> None:
        c.sendall(first)
        if first is MYSQL_HOST:
            time.sleep(0.3)
            return
        data = c.recv(1000)
        if data:
            rx.append(data)
        if reply is not None:
            c.sendall(reply)
        time.sleep(0.3)
    return handle


def _ldap(reply: bytes) -> Callable[[socket.socket, list[bytes]], None]:
    def handle(c: socket.socket, rx: list[bytes]) -> None:
        rx.append(c.recv(1000))
        c.sendall(reply)
        time.sleep(0.3)
    return handle


def _spop_frame(ftype: int, kv: bytes, flags: bytes = b"\x00\x00\x00\x01") -> bytes:
    body = bytes([ftype]) + flags + b"\x00\x00" + kv
    return len(body).to_bytes(4, "big") + body


def _kv_str(k: bytes, v: bytes) -> bytes:
    return bytes([len(k)]) + k + b"\x08" + bytes([len(v)]) + v


_SIZE = b"\x0emax-frame-size\x03\xfc\xf0\x06"  # 16380 as SPOP's varint
SPOP = {
    "sp_hello": _spop_frame(101, _kv_str(b"version", b"2.0") + _SIZE + _kv_str(b"capabilities", b"")),
    "sp_hello_vlist": _spop_frame(101, _kv_str(b"version", b"1.0, 2.0") + _SIZE),
    "sp_nover": _spop_frame(101, _SIZE + _kv_str(b"capabilities", b"")),
    "sp_v1": _spop_frame(101, _kv_str(b"version", b"1.0") + _SIZE),
    "sp_nosize": _spop_frame(101, _kv_str(b"version", b"2.0")),
    "sp_small": _spop_frame(101, _kv_str(b"version", b"2.0") + b"\x0emax-frame-size\x03\x64"),
    "sp_extra": _spop_frame(101, _kv_str(b"version", b"2.0") + b"\x03foo\x02\x05" + _SIZE),
    "sp_disc": _spop_frame(102, b"\x0bstatus-code\x03\x03" + _kv_str(b"message", b"go away")),
    "sp_notfin": _spop_frame(101, _kv_str(b"version", b"2.0") + _SIZE, b"\x00\x00\x00\x00"),
    "sp_other": _spop_frame(3, b""),
    "sp_junk": b"hello\r\n",
    "sp_huge": b"\x00\x01\x00\x00\x65",
}


def _spoa(reply: bytes) -> Callable[[socket.socket, list[bytes]], None]:
    def handle(c: socket.socket, rx: list[bytes]) -> None:
        rx.append(c.recv(1000))
        c.sendall(reply)
        time.sleep(0.3)
    return handle


OTHERS = {
    "my_ok": _mysql(MYSQL_GREETING, MYSQL_OK),
    "my_denied": _mysql(MYSQL_GREETING, MYSQL_DENIED),
    "my_host": _mysql(MYSQL_HOST, None),
    "my_noreply": _mysql(MYSQL_GREETING, None),
    "ldap_ok": _ldap(bytes.fromhex("300c02010161070a010004000400")),
    "ldap_badpw": _ldap(bytes.fromhex("300c02010161070a013104000400")),
    "ldap_long": _ldap(bytes.fromhex("3084000000100201016184000000070a010004000400")),
    "ldap_short": _ldap(bytes.fromhex("3003020101")),
} | {name: _spoa(frame) for name, frame in SPOP.items()}


SMTP = {
    "ok": _smtp(b"220 mx.example ESMTP ready\r\n", b"250 mx.example Hello\r\n", b"221 2.0.0 Bye\r\n"),
    "ehlo": _smtp(b"220 mx.example ESMTP\r\n", b"250-mx.example Hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                  b"221 2.0.0 Bye\r\n"),
    "busy": _smtp(b"421 4.3.2 Service not available\r\n", None, None),
    "junk": _smtp(b"hello there\r\n", None, None),
    "rej": _smtp(b"220 mx\r\n", b"550 5.7.1 go away\r\n", None, quiet_quit=True),
    "rejclose": _smtp(b"220 mx\r\n", b"550 5.7.1 go away\r\n", None, close_after_helo=True),
    "noquit": _smtp(b"220 mx\r\n", b"250 ok\r\n", None),
    "quitbad": _smtp(b"220 mx\r\n", b"250 ok\r\n", b"500 nope\r\n"),
    "quitslow": _smtp(b"220 mx\r\n", b"250 ok\r\n", None, quiet_quit=True),
}


def config(ports: dict[str, int], logport: int) -> str:
    def srv(names: str) -> str:
        return "".join(f"    server {n} 127.0.0.1:{ports[n]} check inter 300\n" for n in names.split())
    out = f"""global
    stats socket @DIR@/s.sock level admin
    log 127.0.0.1:{logport} local2
defaults
    mode tcp
    log global
    option log-health-checks
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
backend p_pg
    option pgsql-check user postgres
{srv("pg refused silent err")}backend p_pg_nosuch
    option pgsql-check user nosuch
{srv("pg")}backend p_pg_md5
    option pgsql-check user pw
{srv("pg")}backend p_pg_rejected
    option pgsql-check user rejected
{srv("pg")}backend m_smtp
    option smtpchk
{srv(" ".join(SMTP) + " refused silent")}backend m_smtp_ehlo
    option smtpchk EHLO me.example
{srv("ok ehlo rej")}backend s_ssl
    option ssl-hello-chk
{srv("tls err refused silent")}backend y_mysql
    option mysql-check
{srv("my_ok my_host my_noreply err refused silent")}backend y_mysql_user
    option mysql-check user haproxy
{srv("my_ok my_denied my_host my_noreply err refused silent")}backend y_mysql_pre41
    option mysql-check user haproxy pre-41
{srv("my_ok my_denied")}backend l_ldap
    option ldap-check
{srv("ldap_ok ldap_badpw ldap_long ldap_short err refused silent")}backend z_spop
    option spop-check
{srv(" ".join(SPOP) + " err refused silent")}"""
    return out.replace("server pg ", "server pg ").replace("\n\n", "\n")


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    assert os.path.exists(f"{PG_BIN}/initdb"), "PostgreSQL 15 is needed (Debian package postgresql, in .ci/run)"
    assert shutil.which("runuser"), "runuser (util-linux) is needed to run PostgreSQL as nobody"
    d = tempfile.mkdtemp(prefix="hpy-pg-")
    os.chmod(d, 0o755)
    shutil.chown(d, "nobody", "nogroup")
    data = f"{d}/data"
    as_nobody = ["runuser", "-u", "nobody", "--"]
    subprocess.run(as_nobody + [f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-N"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    with open(f"{data}/pg_hba.conf", "w") as f:
        f.write("host all rejected 127.0.0.1/32 reject\nhost all pw 127.0.0.1/32 md5\n"
                "host all all 127.0.0.1/32 trust\n")
    port = free_port()
    proc = subprocess.Popen(as_nobody + [f"{PG_BIN}/postgres", "-D", data, "-p", str(port), "-c",
                                         "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={d}",
                                         "-c", "fsync=off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=20)
        for _ in range(50):  # accepting connections once recovery is over
            r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c",
                                "create role pw login password 'x'; create role rejected login;"],
                               capture_output=True, timeout=10)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"PostgreSQL did not accept the roles: {r.stderr!r}")
        yield port
    finally:
        stop_process(proc)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_server() -> Iterator[int]:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed"
    d = tempfile.mkdtemp(prefix="hpy-tls-")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{d}/k.pem", "-out", f"{d}/c.pem", "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=30)
    port = free_port()
    proc = subprocess.Popen([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", f"{d}/c.pem", "-key",
                             f"{d}/k.pem", "-quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=10)
        yield port
    finally:
        stop_process(proc)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def both(postgres: int, tls_server: int) -> Iterator[dict]:
    require_haproxy("haproxy")
    servers = {name: Scripted(h) for name, h in (SMTP | OTHERS).items()}
    servers["silent"] = Scripted(_silent)
    servers["err"] = Scripted(_err)
    ports = {n: s.port for n, s in servers.items()}
    ports.update(pg=postgres, tls=tls_server, refused=free_port())
    sinks = {w: Sink() for w in ("ours", "haproxy")}
    res: dict = {}
    try:
        with run_proxy(config(ports, sinks["ours"].port), which="ours") as ours, \
                run_proxy(config(ports, sinks["haproxy"].port), which="haproxy") as theirs:
            procs = {"ours": ours, "haproxy": theirs}
            time.sleep(3.5)
            snaps: dict[str, list] = {w: [] for w in procs}
            for _ in range(6):
                for w, pp in procs.items():
                    snaps[w].append(show_stat(pp.workdir / "s.sock"))
                time.sleep(0.25)
            errs = [pp.stderr_text() for pp in procs.values()]
        for w in procs:
            res[w] = (snaps[w], list(sinks[w].lines))
        res["stderr"] = ([], errs)
        res["received"] = {n: list(s.received) for n, s in servers.items()}
    finally:
        for s in sinks.values():
            s.close()
        for sc in servers.values():
            sc.close()
    yield res


@pytest.mark.needs_haproxy
def test_pgsql_check_as_haproxy(both: dict) -> None:
    _compare(both, ("p_",))


@pytest.mark.needs_haproxy
def test_smtpchk_as_haproxy(both: dict) -> None:
    _compare(both, ("m_",))
    rx = both["received"]
    # both proxies spoke: HELO localhost (or the EHLO given), then QUIT
    assert b"HELO localhost\r\n" in rx["ok"] and b"EHLO me.example\r\n" in rx["ok"], rx["ok"]
    assert set(rx["ok"]) == {b"HELO localhost\r\n", b"EHLO me.example\r\n", b"QUIT\r\n"}, rx["ok"]


@pytest.mark.needs_haproxy
def test_ssl_hello_chk_as_haproxy(both: dict) -> None:
    _compare(both, ("s_",))


@pytest.mark.needs_haproxy
def test_mysql_check_as_haproxy(both: dict) -> None:
    """Scripted MySQL servers (MariaDB is not installed here): a greeting then OK, an access-denied
    error, a host-refused greeting, no answer to the login."""
    _compare(both, ("y_",))
    # what both proxies sent: a 4.1 login for 'haproxy' with COM_QUIT, and the pre-4.1 one
    sent = set(both["received"]["my_ok"])
    login41 = bytes.fromhex("29000001" "00820000" "00800001" "21") + bytes(23) + b"haproxy\x00\x00"
    login40 = bytes.fromhex("0e000001" "0080" "000001") + b"haproxy\x00\x00"
    quit_ = bytes.fromhex("0100000001")
    assert sent == {login41 + quit_, login40 + quit_}, sent


@pytest.mark.needs_haproxy
def test_ldap_check_as_haproxy(both: dict) -> None:
    """Scripted LDAP servers: success, invalidCredentials (49), long-form lengths, a short reply."""
    _compare(both, ("l_",))


@pytest.mark.needs_haproxy
def test_spop_check_as_haproxy(both: dict) -> None:
    """option spop-check: the HAPROXY-HELLO frame both send, and scripted agents answering
    AGENT-HELLO frames 2.6 accepts or not, AGENT-DISCONNECT, other frames, junk, a huge length.
    (An AGENT-DISCONNECT whose status-code is past SPOP's reasons, 42, crashes 2.6.12 with a
    segmentation fault: not compared; haproxy-py says "unknown error".)"""
    _compare(both, ("z_",))
    sent = set(both["received"]["sp_hello"])
    assert len(sent) == 1 and next(iter(sent)).startswith(bytes.fromhex("0000004e01")), sent
