"""Name resolution at runtime: the ``resolvers`` sections' nameservers asked from the loop, over UDP
or (``tcp@``) over one TCP stream per nameserver with 2-byte length framing (RFC 7766), as 2.6 does.

One non-blocking socket per nameserver (read with ``add_reader``), one timer per resolution.
Servers that ask the same name in the same family share one resolution, as in 2.6 (a
server-template's servers, or several ``server`` lines with one name): the records of its answers
are kept in 2.6's order (dns/order.py) with the servers that took them, so that a server keeps its
address while it is answered and two servers of a backend never share one unless
``resolve-opts allow-dup-ip`` (dns/resolution.py ``choose_ip``). What an answer or a failure does to a
server is decided by pure code (``dns/resolution.py`` for the address and the holds,
``checks/health.py`` for the maintenance transitions and their log lines); this module only sends,
receives and keeps time.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from typing import Any

from haproxy_py.config.resolvers import (
    ResolveOpts,
    ResolversConf,
    build,
    configured_fqdn,
    read_resolv_conf,
    resolve_opts_of,
)
from haproxy_py.dns import message as msg
from haproxy_py.dns.order import ip_key, target_key
from haproxy_py.dns.resolution import NsCounters, choose_ip, failure_goes_to_maint, status_of_rcode
from haproxy_py.runtime.server import Server

_REASONS = {"nx": "DNS NX status", "timeout": "DNS timeout status", "refused": "DNS refused status",
            "other": "unspecified DNS error", "noip": "No IP for server "}


def server_fqdn(srv: Any) -> str:
    return configured_fqdn(srv.conf)


def server_params(srv: Any) -> dict[str, Any]:
    return {k: v for k, v in srv.conf.extra}


class Resolution:
    """One name asked again and again for the servers linked to it (2.6's requesters, in order)."""

    __slots__ = ("srvs", "fqdn", "rc", "qtypes", "qi", "tries", "qid", "timer", "status", "last_valid", "key",
                 "records", "attached", "srv_first", "ar_of", "free", "waiters")

    def __init__(self, key: tuple[str, ...], fqdn: str, rc: ResolversConf, prefer: str) -> None:
        self.key = key
        self.srvs: list[Any] = []
        self.fqdn = fqdn
        self.rc = rc
        if fqdn.startswith("_"):
            self.qtypes: tuple[int, ...] = (msg.T_SRV,)
        else:
            self.qtypes = (msg.T_AAAA, msg.T_A) if prefer == "ipv6" else (msg.T_A, msg.T_AAAA)
        self.qi = 0
        self.tries = 0
        self.qid = -1
        self.timer: asyncio.TimerHandle | None = None
        self.status = "none"
        self.last_valid: float | None = None
        #: A/AAAA: the answer's addresses kept (address -> when last answered) and the address each
        #: server took from them
        self.records: dict[str, float] = {}
        self.attached: dict[Server, str] = {}
        #: SRV: when each (target, port) was first seen (2.6's order among same keys), the
        #: additional record each one holds, the servers without a record (freed ones go last)
        self.srv_first: dict[tuple[str, int], int] = {}
        self.ar_of: dict[tuple[str, int], str] = {}
        self.free: list[Any] = []
        #: a do-resolve resolution (key "req"): what each waiting rule set is called back with
        self.waiters: list[Callable[[str | None], None]] = []


class UdpNameserver:
    def __init__(self, loop: asyncio.AbstractEventLoop, name: str, host: str, port: int,
                 on_message: Callable[[Any, bytes], None]) -> None:
        self.loop = loop
        self.name = name
        self.addr = (host, port)
        self.on_message = on_message
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.connect(self.addr)
        self.counters = NsCounters()
        loop.add_reader(self.sock.fileno(), self._readable)

    def send(self, data: bytes) -> bool:
        for _ in range(2):
            try:
                self.sock.send(data)
                return True
            except ConnectionRefusedError:
                continue  # the ICMP "port unreachable" of an earlier query, reported now: send again
            except OSError:
                return False
        return False

    def _readable(self) -> None:
        for _ in range(64):
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable, ...
                return
            self.on_message(self, data)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class TcpNameserver:
    """``nameserver NAME tcp@IP:PORT``: queries go over one TCP connection, opened at the first query
    and again after the server closes it; each message is preceded by its length on 2 bytes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str, host: str, port: int,
                 on_message: Callable[[Any, bytes], None]) -> None:
        self.loop = loop
        self.name = name
        self.addr = (host, port)
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.on_message = on_message
        self.counters = NsCounters()
        self.sock: socket.socket | None = None
        self.connecting = False
        self.out = bytearray()
        self.inbuf = bytearray()

    def send(self, data: bytes) -> bool:
        self.out += len(data).to_bytes(2, "big") + data
        if self.sock is None:
            return self._connect()
        if not self.connecting:
            self._flush()
        return True

    def _connect(self) -> bool:
        s = socket.socket(self.family, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(self.addr)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            s.close()
            self.out.clear()
            return False
        self.sock = s
        self.connecting = True
        self.loop.add_writer(s.fileno(), self._writable)
        self.loop.add_reader(s.fileno(), self._readable)
        return True

    def _writable(self) -> None:
        if self.sock is None:
            return
        if self.connecting:
            if self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._close()
                return
            self.connecting = False
        self._flush()

    def _flush(self) -> None:
        assert self.sock is not None
        try:
            n = self.sock.send(self.out) if self.out else 0
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            self._close()
            return
        del self.out[:n]
        if self.out:
            self.loop.add_writer(self.sock.fileno(), self._writable)
        else:
            self.loop.remove_writer(self.sock.fileno())

    def _readable(self) -> None:
        if self.sock is None:
            return
        try:
            data = self.sock.recv(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close()
            return
        if not data:
            self._close()
            return
        self.inbuf += data
        while len(self.inbuf) >= 2:
            n = int.from_bytes(self.inbuf[:2], "big")
            if len(self.inbuf) < 2 + n:
                break
            m = bytes(self.inbuf[2:2 + n])
            del self.inbuf[:2 + n]
            self.on_message(self, m)

    def _close(self) -> None:
        """The connection is gone: what was not sent is dropped (the resolutions' retries ask again)."""
        if self.sock is not None:
            fd = self.sock.fileno()
            self.loop.remove_reader(fd)
            self.loop.remove_writer(fd)
            self.sock.close()
        self.sock = None
        self.connecting = False
        self.out.clear()
        self.inbuf.clear()

    def close(self) -> None:
        self._close()


Nameserver = UdpNameserver | TcpNameserver


class ResolversEngine:
    def __init__(self, loop: asyncio.AbstractEventLoop, sections: list[Any], backends: list[Any], *,
                 now: Callable[[], float], wall: Callable[[], float], set_addr: Callable[[Any, str, int], None],
                 apply: Callable[[Any], None], log: Callable[[str, Any, str], None],
                 asked: set[str] | None = None) -> None:
        self.loop = loop
        self.now = now
        self.wall = wall
        self.set_addr = set_addr
        self.apply = apply
        self.log = log
        self.started = False
        #: the sections do-resolve rules use, and their resolutions in progress
        self.asked = asked or set()
        self.asks: dict[tuple[str, ...], Resolution] = {}
        self.confs: dict[str, ResolversConf] = {}
        for s in sections:
            text = None
            if any(w and w[0] == "parse-resolv-conf" for w in s.lines):
                try:
                    with open("/etc/resolv.conf") as f:
                        text = f.read()
                except OSError:
                    text = ""
            self.confs[s.name] = build(s.name, s.lines, text)
        self.nameservers: dict[str, list[Nameserver]] = {}
        #: show resolvers: (section, [(nameserver name, counters)]) in declaration order, then
        #: 2.6's implicit 'default' section (the nameservers of /etc/resolv.conf) unless one is declared
        self.table: list[tuple[str, list[tuple[str, NsCounters]]]] = []
        self.pending: dict[int, Resolution] = {}
        #: when an SRV record last named each server
        self.seen: dict[Server, float] = {}
        self.resolutions: list[Resolution] = []
        self.groups: dict[tuple[str, ...], Resolution] = {}
        #: each server's options and the resolution it is linked to
        self.opts: dict[Server, ResolveOpts] = {}
        self.of: dict[Server, Resolution] = {}
        self.srv_of: dict[Server, Resolution] = {}
        for be in backends:
            for srv in be.servers:
                p = server_params(srv)
                name = p.get("resolvers")
                if not isinstance(name, str) or name not in self.confs:
                    continue
                fqdn = server_fqdn(srv)
                if not fqdn:
                    continue
                self.opts[srv] = resolve_opts_of(srv.conf)
                if fqdn.startswith("_"):
                    key = ("srv", name, be.name, fqdn.lower().rstrip("."))
                    r = self.groups.get(key)
                    if r is None:
                        r = self._new(key, fqdn, self.confs[name], "ipv6")
                    r.srvs.append(srv)
                    r.free.append(srv)
                    self.srv_of[srv] = r
                else:
                    self._link(srv, name, fqdn)

    # ------------------------------------------------------------------ resolutions and servers
    def _new(self, key: tuple[str, ...], fqdn: str, rc: ResolversConf, prefer: str) -> Resolution:
        r = Resolution(key, fqdn, rc, prefer)
        self.groups[key] = r
        self.resolutions.append(r)
        return r

    def _link(self, srv: Any, section: str, fqdn: str) -> Resolution:
        """Link a server to the resolution of (section, name, preferred family), made if new."""
        o = self.opts[srv]
        key = ("a", section, fqdn.lower().rstrip("."), o.prefer)
        r = self.groups.get(key)
        new = r is None
        if r is None:
            r = self._new(key, fqdn, self.confs[section], o.prefer)
        r.srvs.append(srv)
        self.of[srv] = r
        if new and self.started:
            self._query(r, first=True)
        return r

    def _unlink(self, srv: Any) -> None:
        r = self.of.pop(srv, None)
        if r is None:
            return
        if srv in r.srvs:
            r.srvs.remove(srv)
        r.attached.pop(srv, None)
        if not r.srvs:
            if r.timer is not None:
                r.timer.cancel()
                r.timer = None
            self.pending.pop(r.qid, None)
            self.groups.pop(r.key, None)
            if r in self.resolutions:
                self.resolutions.remove(r)

    def start(self, resolv_conf: str | None = None) -> None:
        used = {r.rc.name for r in self.resolutions} | self.asked
        for name, rc in self.confs.items():
            nss: list[Nameserver] = []
            rows = []
            for ns in rc.nameservers:
                n: Nameserver | None = None
                if name in used:
                    cls = TcpNameserver if ns.proto == "tcp" else UdpNameserver
                    try:
                        n = cls(self.loop, ns.name, ns.host, ns.port, self._message)
                    except OSError:
                        n = None
                if n is not None:
                    nss.append(n)
                rows.append((ns.name, n.counters if n is not None else NsCounters()))
            self.nameservers[name] = nss
            self.table.append((name, rows))
        if "default" not in self.confs and resolv_conf is not None:
            rows = [(h, NsCounters()) for h, _ in read_resolv_conf(resolv_conf)]
            if rows:
                self.table.append(("default", rows))
        self.started = True
        for r in list(self.resolutions):
            self._query(r, first=True)

    def set_fqdn(self, srv: Any, fqdn: str) -> None:
        r = self.of.get(srv)
        if r is None:
            return
        section = r.rc.name
        self._unlink(srv)
        r = self._link(srv, section, fqdn)
        self._query(r, first=True)

    def stop(self) -> None:
        for r in [*self.resolutions, *self.asks.values()]:
            if r.timer is not None:
                r.timer.cancel()
        for nss in self.nameservers.values():
            for n in nss:
                n.close()

    # ------------------------------------------------------------------ queries
    def _query(self, r: Resolution, first: bool = False) -> None:
        if first:
            r.qi = 0
            r.tries = 0
        if r.qid >= 0:
            self.pending.pop(r.qid, None)
        qid = random.randrange(0x10000)
        while qid in self.pending:
            qid = random.randrange(0x10000)
        r.qid = qid
        self.pending[qid] = r
        data = msg.encode_query(qid, r.fqdn, r.qtypes[r.qi], r.rc.accepted_payload_size)
        for n in self.nameservers.get(r.rc.name, ()):
            if n.send(data):
                n.counters.sent += 1
            else:
                n.counters.snd_error += 1
        r.tries += 1
        self._arm(r, r.rc.timeout_retry, self._retry)

    def _arm(self, r: Resolution, delay: float, fn: Callable[[Resolution], None]) -> None:
        if r.timer is not None:
            r.timer.cancel()
        r.timer = self.loop.call_later(max(delay, 0.001), fn, r)

    def _retry(self, r: Resolution) -> None:
        r.timer = None
        # 'resolve_retries N': N queries in all, as 2.6 sends them (the first one and N-1 retries);
        # 2.6 counts no nameserver 'timeout' for a resolution that ends so
        if r.tries < r.rc.resolve_retries:
            if r.key[0] == "req":
                r.qi = 0  # 2.6 asks the preferred family again
            self._query(r)
            return
        self.pending.pop(r.qid, None)
        r.qid = -1
        if r.key[0] == "req":
            self._req_done(r, None)
            return
        self._failed(r, "timeout")

    def _next(self, r: Resolution) -> None:
        self._arm(r, r.rc.timeout_resolve, lambda rr: self._query(rr, first=True))

    def _message(self, n: Nameserver, data: bytes) -> None:
        try:
            resp = msg.decode_response(data)
        except msg.DnsError:
            n.counters.invalid += 1
            return
        r = self.pending.get(resp.qid)
        if r is None or resp.qname != r.fqdn.lower().rstrip(".") or resp.qtype != r.qtypes[r.qi]:
            n.counters.outdated += 1
            return
        self._answer(r, n, resp)

    def _answer(self, r: Resolution, n: Nameserver, resp: msg.Response) -> None:
        if r.key[0] == "req":
            self._req_answer(r, n, resp)
            return
        self.pending.pop(r.qid, None)
        r.qid = -1
        status = status_of_rcode(resp.rcode)
        found = msg.addresses(resp, r.qtypes[r.qi]) if status == "valid" else []
        if r.qtypes[r.qi] == msg.T_SRV:
            if status == "valid":
                n.counters.valid += 1
                self._valid_srv(r, resp, n)
            else:
                setattr(n.counters, status, getattr(n.counters, status) + 1)
                self._failed(r, status)
            return
        if status == "valid":
            n.counters.valid += 1
        else:
            setattr(n.counters, status, getattr(n.counters, status) + 1)
        if status in ("valid", "nx") and not found and r.qi == 0 and len(r.qtypes) > 1:
            r.qi = 1  # the other family before concluding
            r.tries = 0
            self._query(r)
            return
        if status == "valid" and found:
            self._valid(r, found, n)
        elif status == "valid":
            r.status = "valid"
            r.last_valid = self.now()
            self._maint(r, "noip")
        else:
            self._failed(r, status)

    # ------------------------------------------------------------------ do-resolve
    def ask(self, section: str, fqdn: str, prefer: str, cb: Callable[[str | None], None]) -> None:
        """Resolve ``fqdn`` for a do-resolve rule: ``cb(address)``, or ``cb(None)`` on a failure or a
        timeout, once (at once when a resolution of the same name is valid within 'hold valid').
        Rules asking the same name in the same family share one resolution, as in 2.6; it is
        forgotten once answered (2.6 frees a resolution when its last requester leaves)."""
        rc = self.confs.get(section)
        if rc is None or not self.nameservers.get(section):
            cb(None)
            return
        norm = fqdn.lower().rstrip(".")
        g = self.groups.get(("a", section, norm, prefer))
        if g is not None and g.status == "valid" and g.records and g.last_valid is not None \
                and self.now() - g.last_valid < rc.hold["valid"]:
            cb(self._pick(list(g.records), prefer))  # a server's resolution of that name: 2.6's cache
            return
        key = ("req", section, norm, prefer)
        r = self.asks.get(key)
        if r is None:
            try:
                msg.encode_query(0, fqdn, msg.T_A)
            except (msg.DnsError, UnicodeError):
                cb(None)
                return
            r = self.asks[key] = Resolution(key, fqdn, rc, prefer)
            r.qtypes = (msg.T_AAAA, msg.T_A) if prefer == "ipv6" else (msg.T_A, msg.T_AAAA)
            r.waiters.append(cb)
            self._query(r, first=True)
            return
        r.waiters.append(cb)

    @staticmethod
    def _pick(found: list[str], prefer: str) -> str | None:
        return choose_ip(sorted(found, key=ip_key), "", prefer, (), set(), True)[0]

    def _req_answer(self, r: Resolution, n: Nameserver, resp: msg.Response) -> None:
        """An answer to a do-resolve query. As in 2.6, any answer without an address of the type
        asked (an error, NXDOMAIN, no record) has the other family asked at once; when that one has
        none either, the resolution waits for its next try ('timeout retry') and fails after
        'resolve_retries' tries."""
        self.pending.pop(r.qid, None)
        r.qid = -1
        status = status_of_rcode(resp.rcode)
        setattr(n.counters, status, getattr(n.counters, status) + 1)
        found = msg.addresses(resp, r.qtypes[r.qi]) if status == "valid" else []
        if found:
            self._req_done(r, self._pick(found, r.key[3]))
            return
        if r.qi == 0:
            r.qi = 1
            r.tries -= 1  # the other family's query is no try of its own
            self._query(r)
            return
        if r.tries >= r.rc.resolve_retries:
            self._req_done(r, None)
        # else: the retry timer _query armed asks again

    def _req_done(self, r: Resolution, ip: str | None) -> None:
        if r.timer is not None:
            r.timer.cancel()
            r.timer = None
        if r.qid >= 0:
            self.pending.pop(r.qid, None)
            r.qid = -1
        self.asks.pop(r.key, None)
        waiters, r.waiters = r.waiters, []
        for cb in waiters:
            cb(ip)

    # ------------------------------------------------------------------ effects
    def _valid(self, r: Resolution, found: list[str], n: Nameserver) -> None:
        """An answer with addresses, given to the resolution's servers in 2.6's way: a server that
        took a record still answered keeps it; the others choose (``choose_ip``) among the records
        in 2.6's order; the first server of the resolution names the nameserver in its log line,
        the next ones say "DNS cache"; a server left without an address goes to resolution
        maintenance ("No IP for server")."""
        now = self.now()
        r.status = "valid"
        r.last_valid = now
        for a in found:
            r.records[a] = now
        hold = r.rc.hold["obsolete"]
        for a, seen in list(r.records.items()):
            if seen + hold < now:
                del r.records[a]
        for k, a in list(r.attached.items()):
            if a not in r.records:
                del r.attached[k]
        order = sorted(r.records, key=ip_key)
        first = True
        for s in list(r.srvs):
            by = f"{r.rc.name}/{n.name}" if first else "DNS cache"
            count = first
            first = False
            ip: str | None = r.attached.get(s)
            if ip is None:
                o = self.opts[s]
                used = {a for k, a in r.attached.items() if k is not s and k.backend is s.backend}
                ip, _cur = choose_ip(order, s.host, o.prefer, o.nets, used, o.allow_dup_ip)
                if ip is None:
                    if "RMAINT" not in s.admin:
                        self._maint_one(s, "noip")
                    continue
                r.attached[s] = ip
            self._place(r, s, ip, by, n, count=count)
        self._next(r)

    def _place(self, r: Resolution, srv: Any, new: str | None, by: str, n: Nameserver,
               port: int | None = None, fqdn: str | None = None, admin_line: bool = True,
               count: bool = True) -> None:
        """Give ``srv`` its resolved address (and port); bring it out of resolution maintenance."""
        port = srv.port if port is None else port
        if new is not None and (new != srv.host or port != srv.port):
            old = srv.host or "(none)"
            be = srv.backend.name if srv.backend is not None else ""
            self.set_addr(srv, new, port)
            if count:
                n.counters.update += 1
            if new != old:
                self.log(be, "warning", f"{be}/{srv.name} changed its IP from {old} to {new} by {by}.")
        if new is not None and "RMAINT" in srv.admin:
            from haproxy_py.checks import health

            out = health.clear_resolution_maint(srv, self.wall(), fqdn or r.fqdn)
            if not admin_line:
                out.logs = [x for x in out.logs if "administratively READY" not in x[2]]
            self.apply(out)

    def _valid_srv(self, r: Resolution, resp: msg.Response, n: Nameserver) -> None:
        """SRV records fill a template's servers as 2.6 does. The records are taken in 2.6's order
        (dns/order.py); each additional A/AAAA record goes to the first record of its target that
        has none (a record keeps the one it has while both are answered). A server keeps the
        record of its (target, port); the other records go to the servers without one, in order
        (a server freed goes last). With an additional record the server takes its address;
        without one, it resolves the target itself (A/AAAA, its own ``resolve-prefer``), as a
        server of its own name would. The weight is the record's, scaled to 0..256 as 2.6 does
        ((w + 255) / 256), unless ``resolve-opts ignore-weight``; the priority is not used (2.6
        reads it and does nothing with it). A server whose record is gone leaves after
        'hold obsolete'."""
        now = self.now()
        r.status = "valid"
        r.last_valid = now
        uniq: dict[tuple[str, int], msg.Record] = {}
        for a in resp.answers:
            if a.rtype == msg.T_SRV:
                k = (a.data, a.port)
                uniq.setdefault(k, a)
                r.srv_first.setdefault(k, len(r.srv_first))
        order = sorted(uniq.values(), key=lambda a: (target_key(a.data), r.srv_first[(a.data, a.port)]))
        addl = [(a.name, a.data) for a in resp.additional if a.rtype in (msg.T_A, msg.T_AAAA)]
        ar: dict[tuple[str, int], str] = {k: ip for k, ip in r.ar_of.items() if k in uniq and (k[0], ip) in addl}
        for name, aip in addl:
            if any(k[0] == name and v == aip for k, v in ar.items()):
                continue
            for rec in order:
                k = (rec.data, rec.port)
                if rec.data == name and k not in ar:
                    ar[k] = aip
                    break
        r.ar_of = ar
        owner: dict[tuple[str, int], Any] = {}
        for s in r.srvs:
            if s.dns_fqdn and (s.dns_fqdn, s.port) in uniq and (s.dns_fqdn, s.port) not in owner:
                owner[(s.dns_fqdn, s.port)] = s
        owned = set(owner.values())
        for rec in order:
            k = (rec.data, rec.port)
            if k in owner:
                continue
            s = next((x for x in r.free if x not in owned and not x.dns_fqdn), None)
            if s is None:
                continue
            r.free.remove(s)
            owner[k] = s
            owned.add(s)
        for rec in order:
            k = (rec.data, rec.port)
            s = owner.get(k)
            if s is None:
                continue
            s.dns_fqdn = rec.data
            s.admin.add("HMAINT")  # 2.6 shows 0x40 in srv_admin_state for a server an SRV record fills
            if not self.opts[s].ignore_weight:
                w = (rec.weight + 255) // 256
                if s.uweight != w and s.backend is not None:
                    s.backend.set_weight(s, w, now)
            arip = ar.get(k)
            if arip is not None:
                self._unlink(s)
                self._place(r, s, arip, "DNS additional record", n, port=rec.port, fqdn=rec.data, admin_line=False)
                continue
            # no additional record: the server resolves the target itself
            if s.port != rec.port:
                self.set_addr(s, s.host, rec.port)
            cur = self.of.get(s)
            if cur is None or cur.fqdn.lower().rstrip(".") != rec.data:
                self._unlink(s)
                self._link(s, r.rc.name, rec.data)
        held = set(owner.values())
        for s in held:
            self.seen[s] = now
        for s in r.srvs:
            if s not in held and s.dns_fqdn and now - self.seen.get(s, now) < r.rc.hold["obsolete"]:
                continue  # 'hold obsolete': a record gone for less than that keeps its server
            if s not in held and s.dns_fqdn:
                self._unlink(s)
                s.dns_fqdn = ""
                s.admin.discard("HMAINT")
                self._maint_one(s, "noip")
                self.set_addr(s, "", 0)
                r.free.append(s)
        self._next(r)

    def _failed(self, r: Resolution, status: str) -> None:
        r.status = status
        if failure_goes_to_maint(status, r.last_valid, self.now(), r.rc):
            self._maint(r, status)
        else:
            self._next(r)

    def _maint(self, r: Resolution, why: str) -> None:
        for srv in list(r.srvs):
            self._maint_one(srv, why)
        self._next(r)

    def _maint_one(self, srv: Any, why: str) -> None:
        if "RMAINT" not in srv.admin:
            from haproxy_py.checks import health

            self.apply(health.set_resolution_maint(srv, self.wall(), _REASONS.get(why, why)))
            if srv.host:  # 2.6 forgets the address of a server it takes out this way
                self.set_addr(srv, "", srv.port)
        r = self.of.get(srv)
        if r is not None:
            r.attached.pop(srv, None)


def wanted(config: Any) -> list[Any]:
    return [s for s in config.other_sections if s.kind == "resolvers"]
