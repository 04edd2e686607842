"""``resolvers`` sections at runtime, against a DNS server of the test's own, side by side with 2.6.

The DNS server is Debian's dnsmasq (in .ci/run's APT_PACKAGES): a real, widely deployed
resolver that serves a hosts file of the test's own (``--addn-hosts``), answers NXDOMAIN for
names of a local domain it does not know (``--local=/test/``), asks no upstream
(``--no-resolv --no-hosts``), listens on a loopback port only, and rereads its files on SIGHUP,
so the test changes the records during the load. Nothing here asks the machine's resolver: the
server names are ``*.test``, which only dnsmasq answers, and ``init-addr none`` keeps the start
from asking the libc.

The HTTP servers listen on 127.0.0.2 and 127.0.0.3 (loopback addresses, the same port), so an A
record decides which one a server reaches.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.harness import HTTP_DEFAULTS, free_port, get, require_haproxy, run_proxy, stop_process
from tests.integration.stats_client import ADMIN_SOCKET, admin_socket, stats_cli

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
#: the proxies' stderr of the last run, for a failing test's message
LAST_STDERR: dict[str, str] = {}


def _udp_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free for UDP and TCP")


class Dns:
    """dnsmasq on 127.0.0.1:PORT serving ``hosts`` (rewritten by :meth:`set`, reloaded by SIGHUP)."""

    def __init__(self, workdir: Path) -> None:
        self.port = _udp_port()
        self.hosts = workdir / "hosts"
        self.hosts.write_text("")
        self.log = workdir / "dnsmasq.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, extra: tuple[str, ...] = ()) -> Dns:
        if not Path(DNSMASQ).exists():
            pytest.fail("dnsmasq is needed (apt-get install dnsmasq; it is in .ci/run's APT_PACKAGES)")
        self.proc = subprocess.Popen(
            [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
             "--listen-address=127.0.0.1", f"--port={self.port}", f"--addn-hosts={self.hosts}",
             "--local=/test/", "--local-ttl=0", "--no-negcache", "--user=root", "--pid-file=",
             f"--log-facility={self.log}", "--cache-size=0", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ask("probe.test") is not None:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"dnsmasq did not answer: {self.log.read_text() if self.log.exists() else ''}")

    def ask(self, name: str) -> int | None:
        """The rcode of an A query (None: no answer): used to know dnsmasq is up and has reloaded."""
        from haproxy_py.dns.message import decode_response, encode_query

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(encode_query(7, name, 1), ("127.0.0.1", self.port))
            try:
                return decode_response(s.recv(4096)).rcode
            except OSError:
                return None

    def set(self, records: dict[str, str]) -> None:
        self.hosts.write_text("".join(f"{ip} {name}\n" for name, ip in records.items()))
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.2)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            stop_process(self.proc)


class Web:
    """An HTTP server on IP:PORT answering its own name (Connection: close)."""

    def __init__(self, ip: str, port: int, name: str) -> None:
        web = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                with contextlib.suppress(OSError):
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    body = web.name.encode()
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                                     % (len(body), body))

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.name = name
        self.srv = Server((ip, port), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


def _common_port() -> int:
    for _ in range(50):
        p = free_port()
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.2", p))
                b.bind(("127.0.0.3", p))
            return p
        except OSError:
            continue
    raise RuntimeError("no port free on 127.0.0.2 and 127.0.0.3")


class Load:
    """A bounded HTTP load (one client, ~100 requests/s) recording who answered and any failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: list[tuple[float, str]] = []
        self.failures: list[tuple[float, str]] = []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop_ev.is_set():
            try:
                st, _, body = get(self.port, timeout=3)
                if st == 200:
                    self.seen.append((time.monotonic(), body.decode()))
                else:
                    self.failures.append((time.monotonic(), f"status {st}"))
            except OSError as e:
                self.failures.append((time.monotonic(), repr(e)))
            time.sleep(0.01)

    def since(self, t0: float) -> list[str]:
        return [n for t, n in self.seen if t >= t0]


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _state(sock: str) -> list[list[str]]:
    """show servers state: name, srv_addr, srv_op_state, srv_admin_state, srv_check_health, srv_fqdn,
    srv_port, srvrecord."""
    rows = [ln.split() for ln in stats_cli(sock, "show servers state app").splitlines()[2:] if ln.strip()]
    return [[r[3], r[4], r[5], r[6], r[12], r[17], r[18], r[19]] for r in rows]


def _up(status: str) -> bool:
    return status in ("UP", "no check")


def _servers(sock: str) -> dict[str, tuple[str, str]]:
    """server name -> (status, addr) from show stat."""
    lines = stats_cli(sock, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    out = {}
    for ln in lines[1:]:
        f = dict(zip(head, ln.split(","), strict=False))
        if f.get("pxname") == "app" and f.get("svname") not in ("FRONTEND", "BACKEND"):
            out[f["svname"]] = (f["status"], f.get("addr", ""))
    return out


@contextlib.contextmanager
def _scenario(which: str, tmp_path: Path, extra_resolvers: str = "") -> Iterator[tuple[Dns, str, Load, int]]:
    dns = Dns(tmp_path).start()
    port = _common_port()
    webs = [Web("127.0.0.2", port, "A"), Web("127.0.0.3", port, "B")]
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout resolve 200ms
    timeout retry 200ms
    resolve_retries 2
    hold nx 600ms
    hold timeout 2s
    hold valid 10s
{extra_resolvers}""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    balance roundrobin
    retries 3
    option redispatch
    server s1 one.test:{port} resolvers dns init-addr none resolve-prefer ipv4
    server s2 two.test:{port} resolvers dns init-addr none resolve-prefer ipv4
"""
    load = Load(fe)
    try:
        dns.set({"one.test": "127.0.0.2"})
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: _up(_servers(sock).get("s1", ("",))[0]), 10, "s1 UP")
            load.t.start()
            yield dns, sock, load, port
            load.stop_ev.set()
            load.t.join(10)
            LAST_STDERR[which] = pp.stderr_text()
    finally:
        load.stop_ev.set()
        for w in webs:
            w.stop()
        dns.stop()


def _run(which: str, tmp_path: Path) -> list[object]:
    """The scenario's observations: who served in each phase and show stat's status/addr columns."""
    obs: list[object] = []
    with _scenario(which, tmp_path) as (dns, sock, load, port):
        # 1. one.test only: s2 has no address and is in maintenance (resolution)
        time.sleep(0.6)
        obs.append(("start", _servers(sock), sorted(set(load.since(time.monotonic() - 0.5))), _state(sock)))
        # 2. two.test appears: s2 comes into rotation at 127.0.0.3
        dns.set({"one.test": "127.0.0.2", "two.test": "127.0.0.3"})
        _wait(lambda: _up(_servers(sock)["s2"][0]), 5, "s2 UP")
        t0 = time.monotonic()
        time.sleep(0.6)
        obs.append(("added", _servers(sock), sorted(set(load.since(t0)))))
        # 3. one.test moves to 127.0.0.3: all traffic goes to B
        dns.set({"one.test": "127.0.0.3", "two.test": "127.0.0.3"})
        _wait(lambda: _servers(sock)["s1"][1].startswith("127.0.0.3:"), 5, "s1 at 127.0.0.3")
        t0 = time.monotonic()
        time.sleep(0.6)
        obs.append(("moved", _servers(sock), sorted(set(load.since(t0)))))
        # 4. two.test disappears (NXDOMAIN): after 'hold nx' s2 leaves the rotation, keeping its address
        dns.set({"one.test": "127.0.0.2"})
        _wait(lambda: not _up(_servers(sock)["s2"][0]), 5, "s2 out")
        t0 = time.monotonic()
        time.sleep(0.6)
        obs.append(("removed", _servers(sock), sorted(set(load.since(t0))), _state(sock)))
        # 5. the DNS server stops answering: the last good state holds ('hold timeout' after the last
        # valid answer), then s1 goes to maintenance too
        dns.pause()
        t_pause = time.monotonic()
        time.sleep(1.0)
        obs.append(("silent, held", _servers(sock)))
        _wait(lambda: not _up(_servers(sock)["s1"][0]), 6, "s1 out after hold timeout")
        t_out = time.monotonic()
        obs.append(("silent, expired", _servers(sock), t_out - t_pause > 1.5, _state(sock)))
        # no request failed while a server was in rotation (after that, 503s are right: none is left)
        failed = [f for f in load.failures if f[0] < t_out - 0.3]
        assert not failed, failed[:5]
    return [repr(o).replace(str(port), "PORT") for o in obs]


def test_dns_changes_move_traffic_as_haproxy(tmp_path: Path) -> None:
    """Records added, changed, removed and a silent DNS server, under load, against 2.6's run."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _run("haproxy", tmp_path / "haproxy")
    ours = _run("ours", tmp_path / "ours")
    assert ours == theirs
    assert _events(LAST_STDERR["ours"]) == _events(LAST_STDERR["haproxy"]), LAST_STDERR


def _events(stderr: str) -> list[str]:
    """The state-change lines a proxy printed, without their pid and the number of sessions active
    (a request of the load may or may not be in flight at that moment)."""
    return [re.sub(r"\d+ sessions active", "N sessions active", ln.split(") : ", 1)[1]) for ln in stderr.splitlines()
            if ") : " in ln and ("app/" in ln or "'app'" in ln)]


def _addresses(which: str, tmp_path: Path) -> dict[str, tuple[str, str]]:
    dns = Dns(tmp_path).start()
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout resolve 200ms
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server s1 one.test:80 resolvers dns init-addr none resolve-net 127.0.0.3/32
    server s2 two.test:80 resolvers dns init-addr none resolve-prefer ipv4 resolve-net 10.0.0.0/8,127.0.0.4/31
    server s3 three.test:80 resolvers dns init-addr none
    server-template web 1-3 one.test:80 resolvers dns init-addr none resolve-prefer ipv4
"""
    try:
        dns.hosts.write_text("127.0.0.2 one.test\n127.0.0.3 one.test\n127.0.0.2 two.test\n127.0.0.5 two.test\n"
                             "::1 three.test\n127.0.0.2 three.test\n")
        dns.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        time.sleep(0.2)
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: all(_up(st) for n, (st, _) in _servers(sock).items() if n.startswith("s")), 10,
                  "every server resolved")
            time.sleep(0.5)
            got = _servers(sock)
            # the template's servers as a sorted picture: which one takes which address follows the
            # answer's order
            got["web"] = tuple(sorted(v for n, v in got.items() if n.startswith("web") and n[3:].isdigit()))  # type: ignore[assignment]
            return {n: v for n, v in got.items() if not n[3:].isdigit()}
    finally:
        dns.stop()


def test_resolve_prefer_and_net(tmp_path: Path) -> None:
    """resolve-prefer picks the family asked first (ipv6 by default, falling back to A when a name has
    no AAAA), resolve-net the address among several, a server-template over A records spreads them:
    the same addresses as 2.6."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _addresses("haproxy", tmp_path / "haproxy")
    assert _addresses("ours", tmp_path / "ours") == theirs
    assert theirs["s1"][1] == "127.0.0.3:80" and theirs["s3"][1] == "[::1]:80", theirs
    # server-template over A records: one address each, the server left over in maintenance
    assert theirs["web"] == (("MAINT (resolution)", ""), ("no check", "127.0.0.2:80"), ("no check", "127.0.0.3:80"))


def _fqdn_session(which: str, tmp_path: Path) -> list[object]:
    dns = Dns(tmp_path).start()
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    nameserver ns2 127.0.0.1:{dns.port}
    timeout resolve 200ms
resolvers other
    nameserver unused 127.0.0.1:9
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server s1 one.test:80 resolvers dns init-addr none
    server s2 127.0.0.1:80
"""
    out: list[object] = []
    try:
        dns.set({"one.test": "127.0.0.2", "two.test": "127.0.0.3"})
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: _up(_servers(sock)["s1"][0]), 10, "s1 resolved")
            for cmd in ("set server app/s1 fqdn two.test", "set server app/s1 fqdn two.test",
                        "set server app/s2 fqdn two.test", "set server app/s1 fqdn", "set server app/s1 fqdn a..b"):
                out.append((cmd, stats_cli(sock, cmd)))
            _wait(lambda: _servers(sock)["s1"][1] == "127.0.0.3:80", 5, "s1 at two.test's address")
            out.append(_state(sock))
            res = stats_cli(sock, "show resolvers")
            counts: dict[str, int] = {}
            for ln in res.splitlines()[:34]:  # section dns: its two nameservers
                if ln.startswith("  "):
                    counts[ln.split()[0]] = counts.get(ln.split()[0], 0) + int(ln.split()[1])
            out.append(counts["sent:"] > 0 and counts["valid:"] > 0)
            # the layout, counters masked (the 'default' section comes from this machine's
            # /etc/resolv.conf, read by both proxies alike)
            out.append([ln.split(":")[0] if ln.startswith("  ") else ln for ln in res.splitlines()])
            out.append(stats_cli(sock, "show resolvers other").splitlines()[:3])
            out.append(stats_cli(sock, "show resolvers nosuch"))
    finally:
        dns.stop()
    return out


def test_set_server_fqdn_and_show_resolvers_as_haproxy(tmp_path: Path) -> None:
    """set server fqdn (replies, the new name resolved, srv_fqdn) and show resolvers, as 2.6."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _fqdn_session("haproxy", tmp_path / "haproxy")
    ours = _fqdn_session("ours", tmp_path / "ours")
    assert ours == theirs


def _srv_args(records: list[tuple[str, int, int]]) -> tuple[str, ...]:
    return tuple(f"--srv-host=_http._tcp.svc.test,{t},{port},0,{w}" for t, port, w in records)


def _obsolete_run(which: str, tmp_path: Path) -> list[object]:
    dns = Dns(tmp_path)
    dns.hosts.write_text("127.0.0.2 h1.test\n127.0.0.3 h2.test\n")
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout resolve 200ms
    hold obsolete 2s
    hold timeout 10s
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server-template srv 2 _http._tcp.svc.test resolvers dns init-addr none
"""
    obs: list[object] = []
    try:
        dns.start(_srv_args([("h1.test", 8001, 10), ("h2.test", 8002, 10)]))
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: all(_up(st) for st, _ in _servers(sock).values()), 10, "both records applied")
            dns.stop()
            dns.start(_srv_args([("h2.test", 8002, 10)]))
            t0 = time.monotonic()
            time.sleep(1.0)
            obs.append(sorted(v for v in _servers(sock).values()))  # still held
            _wait(lambda: not all(_up(st) for st, _ in _servers(sock).values()), 6, "the obsolete one out")
            obs.append((sorted(v for v in _servers(sock).values()), time.monotonic() - t0 > 1.5))
    finally:
        dns.stop()
    return obs


def test_srv_hold_obsolete_as_haproxy(tmp_path: Path) -> None:
    """'hold obsolete': a server whose SRV record disappeared stays in rotation that long, as in 2.6."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _obsolete_run("haproxy", tmp_path / "haproxy")
    assert _obsolete_run("ours", tmp_path / "ours") == theirs


def _template_run(which: str, tmp_path: Path) -> list[object]:
    """server-template over SRV records: weights, a record added, records removed, under load.
    dnsmasq takes SRV records on its command line only, so it is restarted on the same port with
    the new records (within 'hold timeout': the servers keep their state meanwhile)."""
    dns = Dns(tmp_path)
    h = {"h1.test": "127.0.0.2", "h2.test": "127.0.0.3"}
    dns.hosts.write_text("".join(f"{ip} {n}\n" for n, ip in h.items()))
    p1, p2, p3 = free_port(), free_port(), free_port()
    webs = [Web("127.0.0.2", p1, "A"), Web("127.0.0.3", p2, "B"), Web("127.0.0.2", p3, "C")]
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout resolve 200ms
    timeout retry 200ms
    hold timeout 5s
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    balance roundrobin
    retries 3
    option redispatch
    server-template srv 3 _http._tcp.svc.test resolvers dns init-addr none
"""
    ports = {str(p1): "P1", str(p2): "P2", str(p3): "P3"}

    def picture(sock: str) -> list[tuple[str, ...]]:
        lines = stats_cli(sock, "show stat").splitlines()
        head = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(head, ln.split(","), strict=False)) for ln in lines[1:]]
        out = []
        for f in rows:
            if f.get("pxname") == "app" and f["svname"].startswith("srv"):
                addr = f["addr"]
                for k, v in ports.items():
                    addr = addr.replace(k, v)
                out.append((f["status"], addr, f["weight"]))
        return sorted(out)

    def restart(records: list[tuple[str, int, int]]) -> None:
        dns.stop()
        dns.start(_srv_args(records))

    obs: list[object] = []
    load = Load(fe)
    try:
        dns.start(_srv_args([("h1.test", p1, 256), ("h2.test", p2, 768)]))
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: sum(_up(st) for st, _, _ in picture(sock)) == 2, 10, "two SRV records applied")
            obs.append(("two records", picture(sock)))
            load.t.start()
            t0 = time.monotonic()
            _wait(lambda: len(load.since(t0)) >= 200, 30, "200 requests")
            got = load.since(t0)[:200]
            share_b = got.count("B") / len(got)
            obs.append(("weights 1:3", 0.65 <= share_b <= 0.85))
            restart([("h1.test", p1, 256), ("h2.test", p2, 768), ("h1.test", p3, 256)])
            _wait(lambda: sum(_up(st) for st, _, _ in picture(sock)) == 3, 10, "three records applied")
            t0 = time.monotonic()
            time.sleep(0.8)
            obs.append(("added", picture(sock), sorted(set(load.since(t0)))))
            restart([("h2.test", p2, 768)])
            _wait(lambda: sum(_up(st) for st, _, _ in picture(sock)) == 1, 10, "one record left")
            t0 = time.monotonic()
            time.sleep(0.8)
            obs.append(("removed", picture(sock), sorted(set(load.since(t0)))))
            load.stop_ev.set()
            load.t.join(10)
            assert not load.failures, load.failures[:5]
            LAST_STDERR[which] = pp.stderr_text()
    finally:
        load.stop_ev.set()
        for w in webs:
            w.stop()
        dns.stop()
    return obs


def test_server_template_a_and_srv_as_haproxy(tmp_path: Path) -> None:
    """server-template filled by SRV records (addresses, ports, weights; a record added brings a
    server in, removed ones take theirs out, no failed request), as 2.6 does against the same
    dnsmasq; which template server takes which record depends on the answer's order, so the
    servers are compared as a sorted picture."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _template_run("haproxy", tmp_path / "haproxy")
    ours = _template_run("ours", tmp_path / "ours")
    assert ours == theirs


_BAD = [
    "resolvers a\n nameserver n2 127.0.0.1\n",
    "resolvers a\n nameserver n1 127.0.0.1:53\n bogus 1\n",
    "resolvers a\n nameserver n1 127.0.0.1:53\n timeout foo 1s\n",
    "resolvers a\n nameserver n1 127.0.0.1:53\n hold foo 1s\n",
    "resolvers a\n nameserver n1 127.0.0.1:53\n",  # the server names another section
    "resolvers a\n nameserver n1 tcp@127.0.0.1\n",
    "resolvers a\n nameserver n1 tcp@foo:53\n",
    "resolvers a\n nameserver n1 stream@127.0.0.1:53\n",
    "resolvers a\n nameserver n1 tcp6@[::1]:0\n",
    "resolvers a\n nameserver n1 udp@127.0.0.1:5x\n",
    "resolvers a\n nameserver n1 udp@127.0.0.1:x5\n",
    "resolvers a\n nameserver n1 127.0.0.1:53-\n",
    "resolvers a\n nameserver n1 tcp4@127.0.0.1:53\n nameserver n2 tcp6@[::1]:53\n nameserver n3 udp@127.0.0.1:53\n",
]


@pytest.mark.parametrize("case", range(len(_BAD)))
def test_resolvers_config_errors_as_haproxy(case: int, tmp_path: Path) -> None:
    """-c on a broken resolvers section or reference: the same alert lines and exit code as 2.6."""
    require_haproxy("haproxy")
    ref = "zz" if case == 4 else "a"
    text = _BAD[case] + HTTP_DEFAULTS + f"backend b\n    server s1 one.test:80 resolvers {ref} init-addr none\n"
    if case == len(_BAD) - 1:  # the sections are right: resolve-opts is wrong
        text += "    server s2 one.test:80 resolvers a init-addr none resolve-opts allow-dup-ip,nope\n"
    cfg = tmp_path / "c.cfg"
    cfg.write_text(text)

    def run(cmd: list[str]) -> tuple[int, list[str]]:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        r = subprocess.run(cmd + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, env=env)
        return r.returncode, [ln.split(") : ", 1)[1] for ln in r.stderr.splitlines() if ln.startswith("[ALERT]")]

    ours = run([sys.executable, "-m", "haproxy_py"])
    assert ours == run(["haproxy"]), (ours, text)


def test_resolvers_with_two_workers(tmp_path: Path) -> None:
    """nbthread 2: the worker that runs the checks resolves; the master's show stat and the other
    worker follow it (an address change moves every worker's traffic)."""
    dns = Dns(tmp_path).start()
    port = _common_port()
    webs = [Web("127.0.0.2", port, "A"), Web("127.0.0.3", port, "B")]
    fe = free_port()
    cfg = ADMIN_SOCKET + "    nbthread 2\n" + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout resolve 200ms
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server s1 one.test:{port} resolvers dns init-addr none resolve-prefer ipv4
"""
    try:
        dns.set({"one.test": "127.0.0.2"})
        with run_proxy(cfg, wait_ports=[fe]) as pp:
            sock = admin_socket(pp)
            _wait(lambda: _servers(sock).get("s1", ("", ""))[1] == f"127.0.0.2:{port}", 10, "s1 at A")
            time.sleep(0.5)  # the other worker takes it with the next check-state sync
            assert {get(fe)[2] for _ in range(20)} == {b"A"}
            dns.set({"one.test": "127.0.0.3"})
            _wait(lambda: _servers(sock)["s1"][1] == f"127.0.0.3:{port}", 10, "s1 at B")
            time.sleep(0.5)
            assert {get(fe)[2] for _ in range(20)} == {b"B"}
    finally:
        for w in webs:
            w.stop()
        dns.stop()


def _rows(sock: str, backend: str) -> list[list[str]]:
    """show servers state of a backend without the time since the last change (column 10)."""
    rows = [ln.split() for ln in stats_cli(sock, f"show servers state {backend}").splitlines()[2:] if ln.strip()]
    return [r[:9] + r[10:] for r in rows]


def _weights(sock: str) -> list[tuple[str, ...]]:
    """show stat: proxy, server, status, address, weight, active/backup columns of the servers."""
    lines = stats_cli(sock, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    out = []
    for ln in lines[1:]:
        f = dict(zip(head, ln.split(","), strict=False))
        if f.get("svname") not in ("FRONTEND", "BACKEND", None):
            out.append((f["pxname"], f["svname"], f["status"], f["addr"], f["weight"], f["act"], f["bck"]))
    return out


def _srv_targets_run(which: str, tmp_path: Path) -> list[object]:
    dns = Dns(tmp_path)
    dns.hosts.write_text("127.0.0.2 h1.test\n127.0.0.3 h2.test\n")
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout resolve 200ms
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server-template srv 5 _http._tcp.svc.test resolvers dns init-addr none
backend app2
    server-template srv 2 _http._tcp.svc.test resolvers dns init-addr none resolve-opts ignore-weight resolve-prefer ipv4
"""
    # priorities 0, 10 and 5; two records name h1.test (dnsmasq sends its address once); h3.test is
    # answered by --address, which dnsmasq never puts in the additional section
    recs = ("--srv-host=_http._tcp.svc.test,h1.test,8001,0,10", "--srv-host=_http._tcp.svc.test,h2.test,8002,10,20",
            "--srv-host=_http._tcp.svc.test,h1.test,8003,5,512", "--srv-host=_http._tcp.svc.test,h3.test,8004,0,1000",
            "--address=/h3.test/127.0.0.4")
    obs: list[object] = []
    try:
        dns.start(recs)
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: sum(_up(r[2]) for r in _weights(sock)) == 6, 10, "every record applied")
            time.sleep(0.5)
            obs += [_rows(sock, "app"), _rows(sock, "app2"), _weights(sock)]
            LAST_STDERR[which] = pp.stderr_text()
    finally:
        dns.stop()
    return obs


def test_srv_priorities_weights_and_targets_without_additional_as_haproxy(tmp_path: Path) -> None:
    """SRV records as 2.6 applies them: the priority changes nothing (every record's server is an
    active one in rotation), the weight is scaled ((w + 255) / 256) unless 'resolve-opts
    ignore-weight'; a target whose address is not in the additional section (h3.test; and the
    second record of h1.test: the additional record goes to one record only) is resolved by its
    server itself ('by dns/ns1', 'administratively READY thanks to valid DNS answer'); which
    server takes which record follows 2.6's record order. Same state and log lines as 2.6."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _srv_targets_run("haproxy", tmp_path / "haproxy")
    ours = _srv_targets_run("ours", tmp_path / "ours")
    assert ours == theirs
    assert _events(LAST_STDERR["ours"]) == _events(LAST_STDERR["haproxy"]), LAST_STDERR
    # the picture itself: h3.test resolved by its server, no backup server, weights 1/2/1/4
    assert any(r[3] == "127.0.0.4:8004" for r in theirs[2]), theirs  # type: ignore[union-attr]
    assert all(r[6] == "0" for r in theirs[2]), theirs  # type: ignore[union-attr]


def _dup_run(which: str, tmp_path: Path) -> list[object]:
    dns = Dns(tmp_path).start()
    fe = free_port()
    opts = ["", "resolve-opts prevent-dup-ip", "resolve-opts allow-dup-ip", "resolve-opts allow-dup-ip,prevent-dup-ip"]
    lines = "".join(f"    server a{i + 1} multi.test:80 resolvers dns init-addr none resolve-prefer ipv4 {o}\n"
                    for i, o in enumerate(opts))
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout resolve 200ms
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
{lines}    server-template t 1-3 multi.test:80 resolvers dns init-addr none resolve-prefer ipv4 resolve-opts allow-dup-ip
backend other
    server b1 multi.test:80 resolvers dns init-addr none resolve-prefer ipv4
"""
    obs: list[object] = []
    try:
        dns.hosts.write_text("127.0.0.2 multi.test\n127.0.0.3 multi.test\n")
        assert dns.proc is not None
        dns.proc.send_signal(signal.SIGHUP)
        time.sleep(0.2)
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: bool(_rows(sock, "other")) and _rows(sock, "other")[0][4] != "-", 10, "b1 resolved")
            time.sleep(0.6)
            obs += [_rows(sock, "app"), _rows(sock, "other")]
            # 127.0.0.2 goes, 127.0.0.4 and 127.0.0.5 come: the servers that had .2 choose again
            dns.hosts.write_text("127.0.0.3 multi.test\n127.0.0.4 multi.test\n127.0.0.5 multi.test\n")
            dns.proc.send_signal(signal.SIGHUP)
            _wait(lambda: all(r[4] != "127.0.0.2" for r in _rows(sock, "app")), 5, "127.0.0.2 left")
            time.sleep(0.6)
            obs += [_rows(sock, "app"), _rows(sock, "other")]
            LAST_STDERR[which] = pp.stderr_text()
    finally:
        dns.stop()
    return obs


def test_duplicate_ip_prevention_as_haproxy(tmp_path: Path) -> None:
    """Servers of one name in one backend share its resolution and, by default or with 'resolve-opts
    prevent-dup-ip', never take an address another one has (a server left without one is in
    maintenance, 'No IP for server'); 'allow-dup-ip' lets a server take a used one (the last option
    written wins); another backend is not concerned. After an address change the servers that lost
    theirs choose again. Same addresses, states and log lines as 2.6."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _dup_run("haproxy", tmp_path / "haproxy")
    ours = _dup_run("ours", tmp_path / "ours")
    assert ours == theirs
    assert _events(LAST_STDERR["ours"]) == _events(LAST_STDERR["haproxy"]), LAST_STDERR


class TcpRelay:
    """A TCP relay on 127.0.0.1 to dnsmasq's TCP port, counting the connections it accepted and the
    DNS messages that went through it (so a test knows the proxy asked over TCP)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.connections = 0
        self.messages = 0
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = int(self.lsock.getsockname()[1])
        self.stop_ev = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop_ev.is_set():
            try:
                c, _ = self.lsock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        """Each message on a connection of its own to dnsmasq: dnsmasq answers a TCP connection from
        a child process forked with the records of that moment, so one long connection would never
        see the records change."""
        c.settimeout(0.5)
        with contextlib.suppress(OSError), c:
            buf = b""
            while not self.stop_ev.is_set():
                try:
                    d = c.recv(65535)
                except TimeoutError:
                    continue
                if not d:
                    return
                buf += d
                while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
                    n = int.from_bytes(buf[:2], "big")
                    q, buf = buf[:2 + n], buf[2 + n:]
                    with socket.create_connection(("127.0.0.1", self.target), timeout=2) as up:
                        up.sendall(q)
                        reply = b""
                        while len(reply) < 2 or len(reply) < 2 + int.from_bytes(reply[:2], "big"):
                            got = up.recv(65535)
                            if not got:
                                break
                            reply += got
                    c.sendall(reply)
                    self.messages += 1

    def stop(self) -> None:
        self.stop_ev.set()
        self.lsock.close()


def _tcp_run(which: str, tmp_path: Path) -> list[object]:
    dns = Dns(tmp_path).start()
    relay = TcpRelay(dns.port)
    port = _common_port()
    webs = [Web("127.0.0.2", port, "A"), Web("127.0.0.3", port, "B")]
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 tcp@127.0.0.1:{relay.port}
    timeout resolve 200ms
    timeout retry 300ms
    hold nx 500ms
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server s1 one.test:{port} resolvers dns init-addr none resolve-prefer ipv4
    server s2 two.test:{port} resolvers dns init-addr none resolve-prefer ipv4
"""
    obs: list[object] = []
    try:
        dns.set({"one.test": "127.0.0.2", "two.test": "127.0.0.2"})
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: all(_up(st) for st, _ in _servers(sock).values()), 10, "both resolved over TCP")
            obs.append((_servers(sock), {get(fe)[2] for _ in range(6)}))
            dns.set({"one.test": "127.0.0.3", "two.test": "127.0.0.2"})
            _wait(lambda: _servers(sock)["s1"][1].startswith("127.0.0.3:"), 5, "s1 at 127.0.0.3")
            obs.append((_servers(sock), {get(fe)[2] for _ in range(6)}))
            dns.set({"one.test": "127.0.0.3"})
            _wait(lambda: not _up(_servers(sock)["s2"][0]), 5, "s2 out (NX)")
            obs.append(_servers(sock))
            res = stats_cli(sock, "show resolvers dns")
            counts = {ln.split()[0]: int(ln.split()[1]) for ln in res.splitlines() if ln.startswith("  ")}
            obs.append((counts["sent:"] > 0, counts["valid:"] > 0, counts["nx:"] > 0, counts["snd_error:"]))
            obs.append((relay.connections > 0, relay.messages > 0))
            LAST_STDERR[which] = pp.stderr_text()
    finally:
        relay.stop()
        for w in webs:
            w.stop()
        dns.stop()
    return [repr(o).replace(str(port), "PORT") for o in obs]


@pytest.mark.slow
def test_tcp_nameserver_as_haproxy(tmp_path: Path) -> None:
    """'nameserver NAME tcp@IP:PORT': the queries go over TCP (through a relay of the test's own that
    counts them) and the answers move traffic as over UDP: the same picture as 2.6."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _tcp_run("haproxy", tmp_path / "haproxy")
    ours = _tcp_run("ours", tmp_path / "ours")
    assert ours == theirs
    assert "(True, True)" in theirs[-1]


def _stat_domain_run(which: str, tmp_path: Path) -> list[str]:
    dns = Dns(tmp_path).start()
    fe = free_port()
    cfg = ADMIN_SOCKET + f"""\
resolvers dns
    nameserver ns1 127.0.0.1:{dns.port}
    nameserver ns2 tcp@127.0.0.1:{dns.port}
    timeout resolve 1h
resolvers idle
    nameserver quiet 127.0.0.1:9
""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server s1 one.test:80 resolvers dns init-addr none resolve-prefer ipv4
"""
    try:
        dns.set({"one.test": "127.0.0.2"})
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            _wait(lambda: _up(_servers(sock)["s1"][0]), 10, "s1 resolved")
            time.sleep(0.5)  # both nameservers have answered; 'timeout resolve 1h': no more queries
            return [stats_cli(sock, c).replace(str(dns.port), "PORT") for c in (
                "show stat domain resolvers", "show stat domain resolvers typed",
                "show stat domain resolvers typed desc", "show stat domain resolvers json",
                "show stat domain resolvers up", "show stat domain", "show stat domain nope")]
    finally:
        dns.stop()


def test_show_stat_domain_resolvers_as_haproxy(tmp_path: Path) -> None:
    """'show stat domain resolvers' (CSV, typed, typed desc, json): every nameserver of every
    section, a UDP and a TCP one, with the counters of one resolution, byte for byte as 2.6
    (2.6's JSON has no comma between its rows: kept); a wrong domain is refused as 2.6 does."""
    require_haproxy("haproxy")
    (tmp_path / "ours").mkdir()
    (tmp_path / "haproxy").mkdir()
    theirs = _stat_domain_run("haproxy", tmp_path / "haproxy")
    ours = _stat_domain_run("ours", tmp_path / "ours")
    assert ours == theirs
    assert theirs[0].startswith("# id,pid,sent,send_error,valid,") and "ns2,dns," in theirs[0], theirs[0]


def _silent_run(which: str, tmp_path: Path) -> dict[str, dict[str, int]]:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a nameserver that never answers
    silent.bind(("127.0.0.1", 0))
    closed = _udp_port()  # and one whose port is closed: ICMP port unreachable
    fe = free_port()
    timers = "    timeout resolve 300ms\n    timeout retry 100ms\n    resolve_retries {n}\n"
    cfg = ADMIN_SOCKET + f"""\
resolvers quiet
    nameserver ns1 127.0.0.1:{silent.getsockname()[1]}
{timers.format(n=1)}resolvers quiet3
    nameserver ns1 127.0.0.1:{silent.getsockname()[1]}
{timers.format(n=3)}resolvers dead
    nameserver ns1 127.0.0.1:{closed}
{timers.format(n=1)}""" + HTTP_DEFAULTS + f"""\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    server s1 one.test:80 resolvers quiet init-addr none resolve-prefer ipv4
    server s2 one.test:80 resolvers quiet3 init-addr none resolve-prefer ipv4
    server s3 one.test:80 resolvers dead init-addr none resolve-prefer ipv4
"""
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            time.sleep(3)
            out: dict[str, dict[str, int]] = {}
            for sect in ("quiet", "quiet3", "dead"):
                lines = stats_cli(sock, f"show resolvers {sect}").splitlines()
                out[sect] = {ln.split()[0].rstrip(":"): int(ln.split()[1]) for ln in lines if ln.startswith("  ")}
            return out
    finally:
        silent.close()


@pytest.mark.slow
def test_silent_and_refusing_nameservers_counters_as_haproxy(tmp_path: Path) -> None:
    """A nameserver that never answers and one whose port is closed: 'resolve_retries N' sends N
    queries per resolution (then 'timeout resolve' until the next one), a closed port's ICMP error
    is no send error, and 2.6 counts no 'timeout' for them: the same counters as 2.6 over 3 s
    ('sent' within one query: the two processes do not start at the same instant)."""
    require_haproxy("haproxy")
    theirs = _silent_run("haproxy", tmp_path)
    ours = _silent_run("ours", tmp_path)
    for sect in theirs:
        t, o = dict(theirs[sect]), dict(ours[sect])
        assert abs(t.pop("sent") - o.pop("sent")) <= 1, (sect, theirs, ours)
        assert o == t, (sect, theirs, ours)
    assert theirs["quiet3"]["sent"] > theirs["quiet"]["sent"] > 3, theirs


# --------------------------------------------------------------------------- do-resolve
def _names(seed: int) -> tuple[dict[str, str], list[str]]:
    """Generated names: A only, AAAA only, both, and names the DNS server does not know (NXDOMAIN),
    asked in mixed case (the rules lower them)."""
    rnd = __import__("random").Random(seed)
    records: dict[str, list[str]] = {}
    asked = []
    for i in range(14):
        name = f"h{i}-{rnd.randrange(10**6)}.test"
        kind = rnd.choice(("a", "a", "aaaa", "both", "nx", "nx"))
        if kind in ("a", "both"):
            records.setdefault(name, []).append(f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}")
        if kind in ("aaaa", "both"):
            records.setdefault(name, []).append(f"2001:db8::{rnd.randrange(1, 0xffff):x}")
        asked.append("".join(c.upper() if rnd.random() < 0.3 else c for c in name))
    asked += ["", "bad..name.test", "trailing.test.".replace("trailing", asked[0].lower()[:-5])]
    return {n: " ".join(ips) for n, ips in records.items()}, asked


def _hosts_lines(records: dict[str, str]) -> str:
    return "".join(f"{ip} {name}\n" for name, ips in records.items() for ip in ips.split())


def _do_resolve_run(which: str, tmp_path: Path, seed: int) -> list[object]:
    dns = Dns(tmp_path).start()
    records, asked = _names(seed)
    dns.hosts.write_text(_hosts_lines(records) + "127.0.0.2 web-a.test\n")
    assert dns.proc is not None
    dns.proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a nameserver that never answers
    silent.bind(("127.0.0.1", 0))
    port = _common_port()
    webs = [Web("127.0.0.2", port, "A"), Web("127.0.0.3", port, "B")]
    fe, fb, ftc, ftn, tcp_a, tcp_nx = (free_port() for _ in range(6))
    out = '"%[var(txn.ip)]|%[var(txn.any)]|%[var(txn.q)]|%[var(txn.ip),ipmask(24)]|%[var(txn.after)]"'
    cfg = f"""\
resolvers mydns
    nameserver ns1 127.0.0.1:{dns.port}
    timeout retry 100ms
    resolve_retries 2
resolvers quiet
    nameserver ns1 127.0.0.1:{silent.getsockname()[1]}
    timeout retry 200ms
    resolve_retries 2
""" + HTTP_DEFAULTS + f"""\
frontend h
    bind 127.0.0.1:{fe}
    http-request do-resolve(txn.ip,mydns,ipv4) hdr(x-name),lower
    http-request do-resolve(txn.any,mydns) hdr(x-name),lower
    http-request do-resolve(txn.q,quiet,ipv4) hdr(x-name),lower if {{ hdr(x-quiet) -m found }}
    http-request set-var(txn.after) str(yes)
    http-request return status 200 content-type text/plain lf-string {out}
frontend hb
    bind 127.0.0.1:{fb}
    default_backend app
backend app
    http-request do-resolve(txn.ip,mydns,ipv6) hdr(x-name),lower
    http-request return status 200 content-type text/plain lf-string "%[var(txn.ip)]"
frontend tc
    bind 127.0.0.1:{ftc}
    tcp-request inspect-delay 2s
    tcp-request content do-resolve(sess.ip,mydns,ipv4) req.hdr(x-name),lower
    http-request return status 200 content-type text/plain lf-string "%[var(sess.ip)]"
frontend tn
    bind 127.0.0.1:{ftn}
    tcp-request content do-resolve(sess.ip,mydns,ipv4) req.hdr(x-name),lower
    http-request return status 200 content-type text/plain lf-string "[%[var(sess.ip)]]"
listen ta
    mode tcp
    bind 127.0.0.1:{tcp_a}
    tcp-request inspect-delay 2s
    tcp-request content do-resolve(sess.ip,mydns,ipv4) str(web-a.test)
    use_backend web_a if {{ var(sess.ip) -m ip 127.0.0.2 }}
    default_backend web_b
listen tnx
    mode tcp
    bind 127.0.0.1:{tcp_nx}
    tcp-request inspect-delay 2s
    tcp-request content do-resolve(sess.ip,mydns,ipv4) str(nowhere.test)
    use_backend web_a if {{ var(sess.ip) -m ip 127.0.0.2 }}
    default_backend web_b
backend web_a
    mode tcp
    server a 127.0.0.2:{port}
backend web_b
    mode tcp
    server b 127.0.0.3:{port}
"""
    obs: list[object] = []
    try:
        with run_proxy(cfg, wait_ports=[fe, fb, ftc, ftn, tcp_a, tcp_nx], which=which):
            for n in asked:
                for p in (fe, fb, ftc, ftn):
                    st, _, body = get(p, headers={"x-name": n}, timeout=5)
                    obs.append((p == fe, p == fb, p == ftc, n, st, body.decode()))
            # the silent nameserver: 'resolve_retries' tries of 'timeout retry', then the rules go on
            t0 = time.monotonic()
            st, _, body = get(fe, headers={"x-name": asked[0], "x-quiet": "1"}, timeout=5)
            took = time.monotonic() - t0
            obs.append(("quiet", st, body.decode(), 0.35 < took < 1.5))
            for p in (tcp_a, tcp_nx):
                st, _, body = get(p, timeout=5)
                obs.append(("tcp", p == tcp_a, st, body.decode()))
    finally:
        silent.close()
        for w in webs:
            w.stop()
        dns.stop()
    return obs


@pytest.mark.slow
def test_do_resolve_as_haproxy(tmp_path: Path) -> None:
    """http-request (frontend and backend) and tcp-request content do-resolve against the same
    dnsmasq as 2.6, on generated names (A, AAAA, both, NXDOMAIN, not a DNS name): the variable
    holds the same address (preferred family first), stays unset on NXDOMAIN or when a silent
    nameserver's tries run out (after about resolve_retries x timeout retry), the next rules run;
    in tcp-request content the rules wait only with an inspect-delay (without one 2.6 never waits,
    the variable stays unset), and a mode tcp proxy routes on the address found."""
    require_haproxy("haproxy")
    for seed in (19, 2026):
        (tmp_path / f"h{seed}").mkdir()
        (tmp_path / f"o{seed}").mkdir()
        theirs = _do_resolve_run("haproxy", tmp_path / f"h{seed}", seed)
        ours = _do_resolve_run("ours", tmp_path / f"o{seed}", seed)
        assert ours == theirs
        flat = repr(theirs)
        assert "10." in flat and "2001:db8::" in flat and "('tcp', True, 200, 'A')" in flat, theirs


_BAD_DO_RESOLVE = [
    "http-request do-resolve(txn.ip,nope) hdr(x-name)",
    "tcp-request content do-resolve(txn.ip,) hdr(x-name)",
    "http-request do-resolve(txn.ip,mydns,ipv5) hdr(x-name)",
    "http-request do-resolve(txn.ip,mydns)",
    "http-request do-resolve(txn.ip) hdr(x)",
    "http-request do-resolve(txn.ip,mydns hdr(x)",
    "http-request do-resolve(txn.ip,mydns) hdr(x),bogus",
    "http-request do-resolve(txn.ip,mydns) res.hdr(x)",
    "http-request do-resolve(txn.ip,mydns) hdr(x) foo",
    "http-request do-resolve",
    "http-request do-resolve(txn.ip,mydns,) hdr(x)",
    "http-request do-resolve(txn.ip,mydns,ipv6)x hdr(x)",
]


@pytest.mark.parametrize("case", range(len(_BAD_DO_RESOLVE)))
def test_do_resolve_config_errors_as_haproxy(case: int, tmp_path: Path) -> None:
    """-c on do-resolve arguments (unknown resolvers section, bad family, missing or bad expression,
    trailing words): the same first alert and exit code as 2.6."""
    require_haproxy("haproxy")
    text = "resolvers mydns\n    nameserver n1 127.0.0.1:53\n" + HTTP_DEFAULTS + \
        f"frontend f\n    bind 127.0.0.1:{free_port()}\n    {_BAD_DO_RESOLVE[case]}\n"
    cfg = tmp_path / "c.cfg"
    cfg.write_text(text)

    def run(cmd: list[str]) -> tuple[int, list[str]]:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        r = subprocess.run(cmd + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, env=env)
        alerts = [ln.split(") : ", 1)[1] for ln in r.stderr.splitlines() if ln.startswith("[ALERT]")]
        return r.returncode, alerts[:1]

    assert run([sys.executable, "-m", "haproxy_py"]) == run(["haproxy"]), text
