"""A ProcessState shaped like samples/main_haproxy.cfg, with counters set to the sample's values.

Built from config.model objects by hand (no parser needed) with a small runtime Backend double that
follows the contract in the brief (name uuid conf mode servers by_name queue counters cookie algo_name
usable_counts total_weight set_weight server_state_changed add_server del_server dynamic_maxconn).
When the real ``haproxy_py.runtime.backend.Backend`` exists it is used instead.
"""

from __future__ import annotations

from typing import Any

from haproxy_py.config.model import (
    Address,
    Balance,
    Config,
    CookieConf,
    Global,
    Proxy,
    ServerConf,
    StatsConf,
    StatsSocket,
    UseBackend,
)
from haproxy_py.runtime.counters import Counters
from haproxy_py.runtime.frontend import Frontend
from haproxy_py.runtime.queue import Queue
from haproxy_py.runtime.server import Server
from haproxy_py.runtime.state import ProcessState

START_WALL = 1795466220.0
NOW = 1000.0 + 83.2  # monotonic "now": 83 s of uptime
START_MONO = 1000.0
WALL = START_WALL + 83.2

STATIC_ALGOS = {"static-rr", "first", "source", "uri", "url_param", "hdr", "rdp-cookie", "hash"}


class FakeBackend:
    """Minimal runtime Backend following the shared contract."""

    def __init__(self, conf: Proxy, now: float = 0.0) -> None:
        self.conf = conf
        self.name = conf.name
        self.uuid = conf.uuid
        self.mode = conf.mode
        self.counters = Counters()
        self.queue = Queue()
        self.cookie = conf.cookie
        self.algo_name = conf.balance.algorithm
        self.servers: list[Server] = []
        self.by_name: dict[str, Server] = {}
        self.state_changes: list[str] = []
        for sc in conf.servers:
            self._add(Server(sc, self, now))

    def _add(self, s: Server) -> Server:
        s.eweight = s.uweight
        self.servers.append(s)
        self.by_name[s.name] = s
        return s

    def usable_counts(self) -> tuple[int, int]:
        return (sum(1 for s in self.servers if s.usable and not s.backup),
                sum(1 for s in self.servers if s.usable and s.backup))

    def total_weight(self) -> int:
        act = [s for s in self.servers if s.usable and not s.backup]
        if act:
            return sum(s.uweight for s in act)
        bck = [s for s in self.servers if s.usable and s.backup]
        return bck[0].uweight if bck else 0

    def set_weight(self, srv: Server, weight: int, now: float) -> str:
        if self.algo_name in STATIC_ALGOS and weight not in (0, srv.iweight):
            return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
        srv.uweight = weight
        srv.eweight = weight
        return ""

    def server_state_changed(self, srv: Server, now: float) -> None:
        srv.eweight = srv.uweight
        self.state_changes.append(srv.name)

    def add_server(self, conf: ServerConf, now: float) -> Server:
        s = Server(conf, self, now)
        s.dynamic = True
        return self._add(s)

    def del_server(self, srv: Server) -> None:
        self.servers.remove(srv)
        del self.by_name[srv.name]

    def dynamic_maxconn(self, srv: Server) -> int:
        return srv.maxconn


class PX:
    """One entry of ProcessState.proxies."""

    def __init__(self, conf: Proxy, fe: Any, be: Any) -> None:
        self.conf = conf
        self.name = conf.name
        self.uuid = conf.uuid
        self.frontend = fe
        self.backend = be


def addr(port: int, host: str = "127.0.0.1") -> Address:
    return Address("ipv4", host, port, port, text=f"{host}:{port}")


def sconf(name: str, port: int, puid: int, **kw: Any) -> ServerConf:
    return ServerConf(name=name, address=addr(port), puid=puid, **kw)


def main_config(tmp_sock_dir: str = "/run/haproxy-lab/main") -> Config:
    g = Global(maxconn=1000, stats_timeout=30000, stats_sockets=(
        StatsSocket(Address("unix", path=f"{tmp_sock_dir}/admin.sock"), mode=0o600, level="admin"),
        StatsSocket(Address("unix", path=f"{tmp_sock_dir}/user.sock"), mode=0o600, level="user"),
        StatsSocket(Address("unix", path=f"{tmp_sock_dir}/oper.sock"), mode=0o600, level="operator"),
    ), node="vm")
    web = Proxy(name="web", kind="frontend", uuid=2, mode="http", default_backend="app",
                use_backends=(UseBackend("static"),))
    app = Proxy(name="app", kind="backend", uuid=3, mode="http", balance=Balance("roundrobin"),
                cookie=CookieConf("SRV", mode="insert", indirect=True, nocache=True),
                options=(("redispatch", True),),
                servers=(
                    sconf("s1", 23001, 1, check=True, cookie="c1", weight=1),
                    sconf("s2", 23002, 2, check=True, cookie="c2", weight=2),
                    sconf("s3", 23003, 3, check=True, cookie="c3", weight=3),
                    sconf("bk1", 23004, 4, check=True, backup=True),
                ))
    static = Proxy(name="static", kind="backend", uuid=4, mode="http", balance=Balance("static-rr"),
                   servers=(sconf("st1", 23005, 1), sconf("st2", 23006, 2, maxconn=10)))
    tcpsvc = Proxy(name="tcpsvc", kind="listen", uuid=5, mode="tcp", balance=Balance("leastconn"),
                   servers=(sconf("t1", 23001, 1, check=True), sconf("t2", 23099, 2, check=True)))
    stats = Proxy(name="stats", kind="listen", uuid=6, mode="http",
                  stats=StatsConf(enabled=True, uri="/stats", refresh=10000, auth=(("admin", "secret"),),
                                  admin=(object(),)))  # type: ignore[arg-type]
    return Config(global_=g, proxies=(web, app, static, tcpsvc, stats))


def build_state(config: Config | None = None, *, now: float = START_MONO, wall: float = START_WALL,
                pid: int = 6817) -> ProcessState:
    config = config or main_config()
    st = ProcessState(config, now=now, wall=wall, pid=pid)
    for pc in config.proxies:
        fe = Frontend(pc, st.maxconn) if pc.has_fe else None
        be = None
        if pc.has_be:
            try:  # the real runtime Backend, once it exists
                from haproxy_py.runtime.backend import Backend  # type: ignore[import-not-found]

                be = Backend(pc, now=now)  # pragma: no cover - depends on the LB engineer's work
            except Exception:
                be = FakeBackend(pc, now=wall)
            for s in be.servers:
                s.last_change = wall
        px = PX(pc, fe, be)
        st.proxies.append(px)
        if fe is not None:
            st.frontends[pc.name] = fe
        if be is not None:
            st.backends[pc.name] = be
    return st


def _set(c: Counters, **kw: Any) -> None:
    for k, v in kw.items():
        setattr(c, k, v)


def _rate_max(c: Counters, n: int) -> None:
    """The session, request and connection rate maxima of a frontend."""
    c.sess_rate.max = c.req_rate.max = c.conn_rate.max = n


def _check(s: Server, status: str, code: int | None, dur: int, desc: str, health: int, info: str = "") -> None:
    s.check_status = status
    s.check_code = code
    s.check_duration = dur
    s.check_desc = desc
    s.health = health
    s.check_info = info


def sample_state() -> ProcessState:
    """The main lab instance as samples/show_stat.csv shows it (83 s after start)."""
    st = build_state()
    last = WALL - 9.2  # lastsess 9
    web = st.frontends["web"]
    _set(web.counters, smax=1, stot=38, bin=3212, bout=3071, ereq=1, req_tot=38, conn_tot=38)
    web.counters.hrsp = [0, 0, 34, 1, 2, 1]
    _rate_max(web.counters, 20)
    app = st.backends["app"]
    s1, s2, s3, bk1 = app.servers
    for s, stot, b_in, b_out, rmax, h2, h3, h4, h5, dur in (
        (s1, 5, 424, 415, 2, 5, 0, 0, 0, 4), (s2, 11, 944, 913, 5, 10, 0, 0, 1, 2),
        (s3, 17, 1464, 1411, 8, 15, 1, 1, 0, 0), (bk1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    ):
        _set(s.counters, smax=1 if stot else 0, stot=stot, bin=b_in, bout=b_out, lbtot=stot, req_tot=stot,
             connect=stot, last_sess=last if stot else -1.0)
        s.counters.sess_rate.max = rmax
        s.counters.hrsp = [0, 0, h2, h3, h4, h5]
        _check(s, "L7OK", 200, dur, "Layer7 check passed", 4)
        if stot:
            s.counters.rtime.add(1)
            s.counters.ttime.add(1)
    _set(app.counters, smax=1, stot=33, bin=2832, bout=2739, lbtot=33, req_tot=33, connect=33, last_sess=last)
    app.counters.hrsp = [0, 0, 30, 1, 1, 1]
    app.counters.sess_rate.max = 15
    app.counters.rtime.add(1)
    app.counters.ttime.add(1)
    static = st.backends["static"]
    for s in static.servers:
        _set(s.counters, smax=1, stot=2, bin=190, bout=166, lbtot=2, req_tot=2, connect=2, last_sess=last)
        s.counters.sess_rate.max = 2
        s.counters.hrsp = [0, 0, 2, 0, 0, 0]
    st1 = static.servers[0]
    st1.counters.ctime.add(1)
    st1.counters.rtime.add(2)
    st1.counters.ttime.add(2)
    st1.counters.rtime.max, st1.counters.ttime.max = 3, 4
    static.servers[1].counters.rtime.add(1)
    static.servers[1].counters.ttime.add(1)
    static.servers[1].counters.rtime.max, static.servers[1].counters.ttime.max = 2, 2
    _set(static.counters, smax=1, stot=4, bin=380, bout=332, lbtot=4, req_tot=4, connect=4, last_sess=last)
    static.counters.hrsp = [0, 0, 4, 0, 0, 0]
    static.counters.sess_rate.max = 4
    static.counters.ctime.add(1)
    static.counters.rtime.add(2)
    static.counters.ttime.add(2)
    static.counters.rtime.max, static.counters.ttime.max = 3, 4
    tcp_fe = st.frontends["tcpsvc"]
    _set(tcp_fe.counters, smax=1, stot=3, bin=249, bout=240, conn_tot=3)
    tcp_fe.counters.sess_rate.max = 3
    tcp_fe.counters.conn_rate.max = 3
    tcp = st.backends["tcpsvc"]
    t1, t2 = tcp.servers
    _set(t1.counters, smax=1, stot=3, bin=249, bout=240, lbtot=3, connect=3, last_sess=last)
    t1.counters.sess_rate.max = 3
    t1.counters.ttime.add(1)
    _check(t1, "L4OK", None, 0, "Layer4 check passed", 4)
    _check(t2, "L4CON", None, 0, "Layer4 connection problem", 0, "Connection refused")
    t2.state = "STOPPED"
    if hasattr(t2.backend, "server_state_changed"):
        t2.backend.server_state_changed(t2, NOW)
    t2.last_change = WALL - 82.2
    t2.down_since = WALL - 82.2
    _set(t2.counters, chkfail=1, chkdown=1)
    _set(tcp.counters, smax=1, stot=3, bin=249, bout=240, lbtot=3, connect=3, last_sess=last)
    tcp.counters.sess_rate.max = 3
    tcp.counters.ttime.add(1)
    sfe = st.frontends["stats"]
    _set(sfe.counters, smax=1, stot=1, bin=126, bout=4934, req_tot=1, conn_tot=1, intercepted=1)
    sfe.counters.hrsp = [0, 0, 1, 0, 0, 0]
    _rate_max(sfe.counters, 1)
    sbe = st.backends["stats"]
    _set(sbe.counters, bin=126, bout=4934, last_sess=last)
    st.cum_conns = 337
    st.cum_req = 86
    st.conn_rate.max = 24
    st.sess_rate.max = 24
    st.jobs = 7
    st.listeners = 6
    st.total_bytes_out = 320832
    st.version = "2.6.12-1+deb12u4"  # type: ignore[attr-defined]
    st.release_date = "2026/10/17"  # type: ignore[attr-defined]
    return st
