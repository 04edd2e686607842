"""``option mysql-check``, ``option ldap-check``, ``option redis-check`` and ``option smtpchk``
against real servers, both proxies side by side.

MariaDB (Debian's mariadb-server: ``mariadb-install-db`` in a temporary directory, ``mariadbd`` on
a loopback port) and OpenLDAP (Debian's slapd with an mdb database from a slapd.conf written here),
each in a good state, refusing (a user that needs a password, an unknown user; slapd with
``disallow bind_anon``; Redis with ``requirepass``: -NOAUTH; OpenSMTPD's filters: 421 at the
greeting, 550 to HELO), stopped (a refused port) and slow (a second instance stopped with
SIGSTOP: the kernel accepts, the server says nothing), checked by haproxy-py and Debian's HAProxy
2.6 at the same time. Compared as in test_tcpcheck_vs_haproxy: per server the health-check log
lines and state changes, show stat (status, check_status, check_code, last_chk, check_desc...) and
show servers state.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy, stop_process, wait_port
from tests.integration.test_tcpcheck_vs_haproxy import Sink, _compare, show_stat

MARIADBD = "/usr/sbin/mariadbd"
SLAPD = "/usr/sbin/slapd"


def _root_args() -> list[str]:
    return ["--user=root"] if os.getuid() == 0 else []


class Instances:
    """Processes this test started, stopped by PID at the end (a SIGSTOPped one is continued
    first)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.dirs: list[str] = []

    def mkdtemp(self, prefix: str) -> str:
        d = tempfile.mkdtemp(prefix=prefix)
        self.dirs.append(d)
        return d

    def start(self, argv: list[str], port: int) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_port(port, timeout=30)
        return p

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
            stop_process(p)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def _mariadb(inst: Instances) -> tuple[int, int]:
    """A MariaDB with users haproxy (no password) and pw (a password), and a copy of it that is
    stopped (SIGSTOP) once listening: (port, slow port)."""
    assert os.path.exists(MARIADBD), "MariaDB is needed (Debian package mariadb-server, in .ci/run)"
    d = inst.mkdtemp("hpy-my-")
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={d}/data", *_root_args(),
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    shutil.copytree(f"{d}/data", f"{d}/slow")
    ports = []
    for name in ("data", "slow"):
        port = free_port()
        p = inst.start([MARIADBD, "--no-defaults", f"--datadir={d}/{name}", *_root_args(), f"--port={port}",
                        "--bind-address=127.0.0.1", f"--socket={d}/{name}.sock", "--skip-name-resolve",
                        "--max-connect-errors=1000000", "--skip-log-bin", "--innodb-buffer-pool-size=8M",
                        f"--log-error={d}/{name}.err", f"--pid-file={d}/{name}.pid"], port)
        ports.append(port)
        if name == "data":
            subprocess.run(["mariadb", "-S", f"{d}/data.sock", "-u", "root", "-e",
                            "CREATE USER 'haproxy'@'127.0.0.1'; CREATE USER 'pw'@'127.0.0.1' IDENTIFIED BY 'x';"],
                           check=True, capture_output=True, timeout=30)
        else:
            os.kill(p.pid, signal.SIGSTOP)
    return ports[0], ports[1]


def _slapd(inst: Instances, name: str, extra: str = "", stop: bool = False) -> int:
    assert os.path.exists(SLAPD), "slapd is needed (Debian package slapd, in .ci/run)"
    d = Path(inst.mkdtemp(f"hpy-ldap-{name}-"))
    (d / "db").mkdir()
    (d / "slapd.conf").write_text(f"""include /etc/ldap/schema/core.schema
pidfile {d}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
{extra}
database mdb
maxsize 10485760
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory {d}/db
""")
    port = free_port()
    p = inst.start([SLAPD, "-f", str(d / "slapd.conf"), "-h", f"ldap://127.0.0.1:{port}/", "-d", "0"], port)
    if stop:
        os.kill(p.pid, signal.SIGSTOP)
    return port


def _redis(inst: Instances, extra: str = "", stop: bool = False) -> int:
    exe = shutil.which("redis-server")
    assert exe, "redis-server is needed (Debian package redis-server, in .ci/run)"
    d = Path(inst.mkdtemp("hpy-redis-"))
    port = free_port()
    (d / "redis.conf").write_text(f"port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\n"
                                  f"dir {d}\nlogfile {d}/redis.log\n{extra}")
    p = inst.start([exe, str(d / "redis.conf")], port)
    if stop:
        os.kill(p.pid, signal.SIGSTOP)
    return port


def _opensmtpd(inst: Instances) -> tuple[int, int, int]:
    """One OpenSMTPD (only one runs per machine: its control socket) listening on three ports:
    accepting, refusing at the greeting (421) and refusing HELO (550), by its builtin filters."""
    exe = "/usr/sbin/smtpd"
    assert os.path.exists(exe), "OpenSMTPD is needed (Debian package opensmtpd, in .ci/run)"
    d = Path(inst.mkdtemp("hpy-smtp-"))
    ports = (free_port(), free_port(), free_port())
    (d / "smtpd.conf").write_text(f"""filter "greet" phase connect match src 127.0.0.1 disconnect "421 4.3.2 not now"
filter "helo" phase helo match helo regex ".*" reject "550 5.7.1 bad helo"
listen on 127.0.0.1 port {ports[0]} hostname mx.test
listen on 127.0.0.1 port {ports[1]} hostname mx.test filter "greet"
listen on 127.0.0.1 port {ports[2]} hostname mx.test filter "helo"
match from any for any reject
""")
    p = subprocess.Popen([exe, "-d", "-f", str(d / "smtpd.conf")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    inst.procs.append(p)
    try:
        wait_port(ports[2], timeout=15)
    except TimeoutError:
        stop_process(p)
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        raise AssertionError(f"OpenSMTPD did not start (another smtpd, e.g. the opensmtpd service, holds "
                             f"its control socket?): {err}") from None
    return ports


def config(ports: dict[str, int], logport: int) -> str:
    def srv(names: str) -> str:
        # OpenSMTPD answers a burst of checks late now and then: its servers are checked less often
        return "".join(f"    server {n} 127.0.0.1:{ports[n]} check inter {1200 if n.startswith('smtp') else 300}\n"
                       for n in names.split())
    return f"""global
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
backend y_greeting
    option mysql-check
{srv("my my_slow refused")}backend y_user
    option mysql-check user haproxy
{srv("my my_slow refused")}backend y_user_post41
    option mysql-check user haproxy post-41
{srv("my")}backend y_user_pre41
    option mysql-check user haproxy pre-41
{srv("my")}backend y_password_needed
    option mysql-check user pw
{srv("my")}backend y_unknown_user
    option mysql-check user nosuch
{srv("my")}backend l_anonymous
    option ldap-check
{srv("ldap ldap_slow refused")}backend l_anonymous_refused
    option ldap-check
{srv("ldap_noanon")}backend r_redis
    option redis-check
{srv("redis redis_auth redis_slow refused")}backend r_ping
    option tcp-check
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
{srv("redis redis_auth redis_slow")}backend m_smtp
    option smtpchk
{srv("smtp smtp_421 smtp_550 refused")}backend m_smtp_ehlo
    option smtpchk EHLO me.example
{srv("smtp smtp_550")}"""


@pytest.fixture(scope="module")
def both() -> Iterator[dict]:
    require_haproxy("haproxy")
    inst = Instances()
    sinks = {w: Sink() for w in ("ours", "haproxy")}
    res: dict = {}
    try:
        my, my_slow = _mariadb(inst)
        ports = {"my": my, "my_slow": my_slow, "refused": free_port(), "ldap": _slapd(inst, "ok"),
                 "ldap_noanon": _slapd(inst, "noanon", "disallow bind_anon"),
                 "ldap_slow": _slapd(inst, "slow", stop=True), "redis": _redis(inst),
                 "redis_auth": _redis(inst, "requirepass secret\n"), "redis_slow": _redis(inst, stop=True)}
        ports.update(zip(("smtp", "smtp_421", "smtp_550"), _opensmtpd(inst), strict=True))
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
    finally:
        for s in sinks.values():
            s.close()
        inst.close()
    yield res


@pytest.mark.slow
@pytest.mark.needs_haproxy
def test_mysql_check_on_mariadb_as_haproxy(both: dict) -> None:
    """MariaDB 10.11: the greeting, a login without password (post-41 and pre-41), a user that
    needs one and an unknown user (access denied), stopped and slow."""
    _compare(both, ("y_",))


@pytest.mark.slow
@pytest.mark.needs_haproxy
def test_ldap_check_on_slapd_as_haproxy(both: dict) -> None:
    """slapd 2.5: an anonymous bind accepted, refused (disallow bind_anon), stopped and slow."""
    _compare(both, ("l_",))


@pytest.mark.slow
@pytest.mark.needs_haproxy
def test_redis_check_on_redis_as_haproxy(both: dict) -> None:
    """Redis: PONG, a password required (-NOAUTH), stopped and slow; option redis-check and the
    same as a tcp-check sequence."""
    _compare(both, ("r_",))


@pytest.mark.slow
@pytest.mark.needs_haproxy
def test_smtpchk_on_opensmtpd_as_haproxy(both: dict) -> None:
    """OpenSMTPD 6.8: HELO/EHLO accepted, 421 at the greeting, 550 to HELO, stopped (the slow
    case is the scripted one of test_protocol_checks_vs_haproxy: one smtpd runs per machine)."""
    _compare(both, ("m_",))
