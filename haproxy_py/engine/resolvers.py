"""Name resolution at runtime: the ``resolvers`` sections' nameservers asked over UDP from the loop.

One non-blocking UDP socket per nameserver (connected, read with ``add_reader``), one timer per
resolution. What an answer or a failure does to a server is decided by pure code
(``dns/resolution.py`` for the address and the holds, ``checks/health.py`` for the maintenance
transitions and their log lines); this module only sends, receives and keeps time.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from typing import Any

from haproxy_py.config.resolvers import ResolversConf, build, configured_fqdn, read_resolv_conf
from haproxy_py.dns import message as msg
from haproxy_py.dns.resolution import NsCounters, failure_goes_to_maint, pick_address, status_of_rcode
from haproxy_py.runtime.server import Server

_REASONS = {"nx": "DNS NX status", "timeout": "DNS timeout status", "refused": "DNS refused status",
            "other": "unspecified DNS error", "noip": "No IP for server "}


def server_fqdn(srv: Any) -> str:
    return configured_fqdn(srv.conf)


def server_params(srv: Any) -> dict[str, Any]:
    return {k: v for k, v in srv.conf.extra}


class Resolution:
    """One server's name, asked again and again."""

    __slots__ = ("srv", "srvs", "fqdn", "rc", "qtypes", "qi", "tries", "qid", "timer", "status", "last_valid",
                 "nets", "counters")

    def __init__(self, srv: Any, fqdn: str, rc: ResolversConf, prefer: str, nets: tuple[str, ...]) -> None:
        self.srv = srv
        #: the servers this name fills (several for a server-template)
        self.srvs = [srv]
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
        self.nets = nets


class Nameserver:
    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name
        self.addr = (host, port)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.connect(self.addr)
        self.counters = NsCounters()


class ResolversEngine:
    def __init__(self, loop: asyncio.AbstractEventLoop, sections: list[Any], backends: list[Any], *,
                 now: Callable[[], float], wall: Callable[[], float], set_addr: Callable[[Any, str, int], None],
                 apply: Callable[[Any], None], log: Callable[[str, Any, str], None]) -> None:
        self.loop = loop
        self.now = now
        self.wall = wall
        self.set_addr = set_addr
        self.apply = apply
        self.log = log
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
        groups: dict[str, Resolution] = {}
        for be in backends:
            for srv in be.servers:
                p = server_params(srv)
                name = p.get("resolvers")
                if not isinstance(name, str) or name not in self.confs:
                    continue
                fqdn = server_fqdn(srv)
                if not fqdn:
                    continue
                nets = tuple(str(p.get("resolve-net", "")).split(",")) if p.get("resolve-net") else ()
                tpl = p.get("server-template")
                if isinstance(tpl, str) and tpl in groups:
                    groups[tpl].srvs.append(srv)
                    continue
                res = Resolution(srv, fqdn, self.confs[name], str(p.get("resolve-prefer", "ipv6")), nets)
                if isinstance(tpl, str):
                    groups[tpl] = res
                self.resolutions.append(res)

    def start(self, resolv_conf: str | None = None) -> None:
        used = {r.rc.name for r in self.resolutions}
        for name, rc in self.confs.items():
            nss = []
            rows = []
            for ns in rc.nameservers:
                n: Nameserver | None = None
                if name in used:
                    try:
                        n = Nameserver(ns.name, ns.host, ns.port)
                    except OSError:
                        n = None
                if n is not None:
                    self.loop.add_reader(n.sock.fileno(), self._readable, n)
                    nss.append(n)
                rows.append((ns.name, n.counters if n is not None else NsCounters()))
            self.nameservers[name] = nss
            self.table.append((name, rows))
        if "default" not in self.confs and resolv_conf is not None:
            rows = [(h, NsCounters()) for h, _ in read_resolv_conf(resolv_conf)]
            if rows:
                self.table.append(("default", rows))
        for r in self.resolutions:
            self._query(r, first=True)

    def set_fqdn(self, srv: Any, fqdn: str) -> None:
        for r in self.resolutions:
            if r.srv is srv:
                r.fqdn = fqdn
                self._query(r, first=True)

    def stop(self) -> None:
        for r in self.resolutions:
            if r.timer is not None:
                r.timer.cancel()
        for nss in self.nameservers.values():
            for n in nss:
                self.loop.remove_reader(n.sock.fileno())
                n.sock.close()

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
            try:
                n.sock.send(data)
                n.counters.sent += 1
            except OSError:
                n.counters.snd_error += 1
        r.tries += 1
        self._arm(r, r.rc.timeout_retry, self._retry)

    def _arm(self, r: Resolution, delay: float, fn: Callable[[Resolution], None]) -> None:
        if r.timer is not None:
            r.timer.cancel()
        r.timer = self.loop.call_later(max(delay, 0.001), fn, r)

    def _retry(self, r: Resolution) -> None:
        r.timer = None
        if r.tries <= r.rc.resolve_retries:
            self._query(r)
            return
        self.pending.pop(r.qid, None)
        r.qid = -1
        for n in self.nameservers.get(r.rc.name, ()):
            n.counters.timeout += 1
        self._failed(r, "timeout")

    def _next(self, r: Resolution) -> None:
        self._arm(r, r.rc.timeout_resolve, lambda rr: self._query(rr, first=True))

    def _readable(self, n: Nameserver) -> None:
        for _ in range(64):
            try:
                data = n.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable, ...
                return
            try:
                resp = msg.decode_response(data)
            except msg.DnsError:
                n.counters.invalid += 1
                continue
            r = self.pending.get(resp.qid)
            if r is None or resp.qname != r.fqdn.lower().rstrip(".") or resp.qtype != r.qtypes[r.qi]:
                n.counters.outdated += 1
                continue
            self._answer(r, n, resp)

    def _answer(self, r: Resolution, n: Nameserver, resp: msg.Response) -> None:
        self.pending.pop(r.qid, None)
        r.qid = -1
        status = status_of_rcode(resp.rcode)
        found = msg.addresses(resp, r.qtypes[r.qi]) if status == "valid" else []
        if r.qtypes[r.qi] == msg.T_SRV:
            if status == "valid":
                n.counters.valid += 1
                self._valid_srv(r, resp)
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

    # ------------------------------------------------------------------ effects
    def _valid(self, r: Resolution, found: list[str], n: Nameserver) -> None:
        r.status = "valid"
        r.last_valid = self.now()
        if len(r.srvs) == 1:
            new = pick_address(found, r.srv.host, r.nets)
            self._place(r, r.srv, new, f"{r.rc.name}/{n.name}", n)
            self._next(r)
            return
        # a server-template: each server keeps its address while it is answered, the others take
        # the addresses no server of the template has, in order; a server left without one goes
        # to resolution maintenance ("No IP for server")
        taken = {s.host for s in r.srvs if s.host in found}
        free = [ip for ip in found if ip not in taken]
        first = True
        for s in r.srvs:
            if s.host and s.host in found:
                self._place(r, s, s.host, "", n)
                continue
            if free:
                self._place(r, s, free.pop(0), f"{r.rc.name}/{n.name}" if first else "DNS cache", n)
                first = False
            elif "RMAINT" not in s.admin:
                self._maint_one(s, "noip")
        self._next(r)

    def _place(self, r: Resolution, srv: Any, new: str | None, by: str, n: Nameserver,
               port: int | None = None, fqdn: str | None = None, admin_line: bool = True) -> None:
        """Give ``srv`` its resolved address (and port); bring it out of resolution maintenance."""
        port = srv.port if port is None else port
        if new is not None and (new != srv.host or port != srv.port):
            old = srv.host or "(none)"
            be = srv.backend.name if srv.backend is not None else ""
            self.set_addr(srv, new, port)
            n.counters.update += 1
            if new != old:
                self.log(be, "warning", f"{be}/{srv.name} changed its IP from {old} to {new} by {by}.")
        if new is not None and "RMAINT" in srv.admin:
            from haproxy_py.checks import health

            out = health.clear_resolution_maint(srv, self.wall(), fqdn or r.fqdn)
            if not admin_line:
                out.logs = [x for x in out.logs if "administratively READY" not in x[2]]
            self.apply(out)

    def _valid_srv(self, r: Resolution, resp: msg.Response) -> None:
        """SRV records fill a template's servers: a server keeps the record of its (target, port),
        the other records go to servers without one; a server whose record is gone leaves (after
        'hold obsolete'). The address comes from the additional section; the weight is the
        record's, scaled to 0..256 as 2.6 does ((w + 255) / 256)."""
        r.status = "valid"
        r.last_valid = self.now()
        recs = [a for a in resp.answers if a.rtype == msg.T_SRV]
        addl: dict[str, str] = {}
        for a in resp.additional:
            if a.rtype in (msg.T_A, msg.T_AAAA):
                addl.setdefault(a.name, a.data)
        owner: dict[int, Any] = {}
        for s in r.srvs:
            if s.dns_fqdn:
                for i, rec in enumerate(recs):
                    if i not in owner and rec.data == s.dns_fqdn and rec.port == s.port:
                        owner[i] = s
                        break
        owned = set(owner.values())
        free = [s for s in r.srvs if s not in owned and not s.dns_fqdn]
        for i in range(len(recs)):
            if i not in owner and free:
                owner[i] = free.pop(0)
        n = self.nameservers[r.rc.name][0] if self.nameservers.get(r.rc.name) else None
        for i, s in owner.items():
            rec = recs[i]
            ip = addl.get(rec.data)
            s.dns_fqdn = rec.data
            s.admin.add("HMAINT")  # 2.6 shows 0x40 in srv_admin_state for a server an SRV record fills
            w = (rec.weight + 255) // 256
            if s.uweight != w and s.backend is not None:
                s.backend.set_weight(s, w, self.now())
            if ip is not None and n is not None:
                self._place(r, s, ip, "DNS additional record", n, port=rec.port, fqdn=rec.data, admin_line=False)
        held = set(owner.values())
        now = self.now()
        for s in held:
            self.seen[s] = now
        for s in r.srvs:
            if s not in held and s.dns_fqdn and now - self.seen.get(s, now) < r.rc.hold["obsolete"]:
                continue  # 'hold obsolete': a record gone for less than that keeps its server
            if s not in held and s.dns_fqdn:
                s.dns_fqdn = ""
                s.admin.discard("HMAINT")
                self._maint_one(s, "noip")
                self.set_addr(s, "", 0)
        self._next(r)

    def _failed(self, r: Resolution, status: str) -> None:
        r.status = status
        if failure_goes_to_maint(status, r.last_valid, self.now(), r.rc):
            self._maint(r, status)
        else:
            self._next(r)

    def _maint(self, r: Resolution, why: str) -> None:
        for srv in r.srvs:
            self._maint_one(srv, why)
        self._next(r)

    def _maint_one(self, srv: Any, why: str) -> None:
        if "RMAINT" not in srv.admin:
            from haproxy_py.checks import health

            self.apply(health.set_resolution_maint(srv, self.wall(), _REASONS.get(why, why)))
            if srv.host:  # 2.6 forgets the address of a server it takes out this way
                self.set_addr(srv, "", srv.port)


def wanted(config: Any) -> list[Any]:
    return [s for s in config.other_sections if s.kind == "resolvers"]


