"""The runtime API (stats socket commands), pure: text in, exact HAProxy 2.6 reply text out.

One ``Cli`` per client connection: it keeps the session flags (lowered level, interactive prompt,
quit, ``set timeout cli``) and acts on the shared ``ProcessState``. The socket layer
(``engine/stats_socket.py``) only moves lines and bytes.

    cli = Cli(state)
    reply = cli.execute("show stat;show info", "admin", now, wall)   # exact bytes as str
    cli.interactive / cli.closing / cli.timeout                      # framing decisions

Reply rules (HAPROXY_FACTS 9.1): each command's output is followed by one empty line; in
interactive mode the prompt ``> `` follows each line's replies.

I/O the runtime API needs is asked for through ``state.hooks`` (all optional):
    "log_state_change"(srv, text, severity)  after an admin/health change; text is the cause
                                             ("changed from CLI"); severity None = let the
                                             checks' message builder decide
    "shutdown_session"(session)              kill one session
    "frontend_pause"(fe) / "frontend_resume"(fe) / "frontend_stop"(fe)
    "server_addr_changed"(srv)               after ``set server addr``
    "server_maxconn_changed"(srv)            after ``set maxconn server`` (dequeue)
    "global_maxconn_changed"(n)
Sessions in ``state.sessions`` are engine objects (engine/stream.py Stream); ``show sess`` reads
(all optional) ``src_ip``/``src_port``, ``fe``/``be``/``srv`` (runtime objects with ``.name``),
``accept_mono``, ``t_deadline`` (expiry), ``cli_sock``/``srv_sock`` (fds), ``closed``; the older
``src`` ("ip:port"), ``fe_name``/``be_name``/``srv_name``, ``start`` and ``sess_id`` still work;
``server`` (runtime Server) is used by ``shutdown sessions server``. The CLI's own stream is listed
last, as 2.6 lists it (``proto=unix_stream ... fe=GLOBAL``); epochs count ``show sess`` calls.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from haproxy_py.config.model import Address, ServerConf
from haproxy_py.stats import cli_static
from haproxy_py.stats.csv import StatFilter, find_proxy_iid, show_stat
from haproxy_py.stats.help_text import HELP_ENTRIES, HELP_HEADER, help_line
from haproxy_py.stats.info import SysInfo, show_info, version_of

LEVELS = {"user": 0, "operator": 1, "admin": 2}
DENIED = "Permission denied\n"

SRV_OP = {"STOPPED": 0, "STARTING": 1, "RUNNING": 2, "STOPPING": 3}
SRV_ADMIN_BITS = {"FMAINT": 0x1, "IMAINT": 0x2, "CMAINT": 0x4, "FDRAIN": 0x8, "IDRAIN": 0x10}
CHECK_STATUS_NUM = {"UNK": 0, "INI": 1, "START": 2, "CHECKED": 3, "HANA": 4, "SOCKERR": 5, "L4OK": 6,
                    "L4TOUT": 7, "L4CON": 8, "L6OK": 9, "L6TOUT": 10, "L6RSP": 11, "L7TOUT": 12,
                    "L7RSP": 13, "L7OK": 15, "L7OKC": 16, "L7STS": 17, "PROCERR": 18, "PROCTOUT": 19,
                    "PROCOK": 20}
_PASSED = {"L4OK", "L6OK", "L7OK", "PROCOK"}
_FAILED = {"HANA", "SOCKERR", "L4TOUT", "L4CON", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7STS", "PROCERR",
           "PROCTOUT"}
SERVERS_STATE_HEADER = (
    "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
    "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"
)
SET_SERVER_USAGE = ("usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | "
                    "check-addr | check-port | fqdn | health | ssl | state | weight\n")
STATIC_ALGOS = {"static-rr", "first", "source", "uri", "url_param", "hdr", "rdp-cookie", "hash"}


def split_commands(line: str) -> list[list[str]]:
    """Split a request line into commands (``;``) and words (blanks); ``\\`` escapes the next char."""
    cmds: list[list[str]] = []
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n:
            cur.append(line[i + 1])
            in_word = True
            i += 2
            continue
        if ch == ";":
            if in_word:
                words.append("".join(cur))
            cmds.append(words)
            words, cur, in_word = [], [], False
        elif ch in " \t":
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(ch)
            in_word = True
        i += 1
    if in_word:
        words.append("".join(cur))
    cmds.append(words)
    return cmds


def _fmt_date(wall: float) -> str:
    lt = time.localtime(wall)
    ms = int((wall - int(wall)) * 1000)
    return time.strftime("%d/%b/%Y:%H:%M:%S", lt) + f".{ms:03d}"


def _strtol(s: str) -> tuple[int, str]:
    """C strtol(s, &end, 10): (value, rest); rest == s when nothing was parsed."""
    i = 0
    n = len(s)
    while i < n and s[i] in " \t":
        i += 1
    j = i
    if j < n and s[j] in "+-":
        j += 1
    k = j
    while k < n and s[k].isdigit():
        k += 1
    if k == j:
        return 0, s
    return int(s[i:k]), s[k:]


def _sess_epoch(state: Any) -> int:
    return int(getattr(state, "cli_sess_epoch", 0) or 0)


def _sess_epochs(state: Any) -> Any:
    """Stream -> the ``show sess`` epoch current when it was first seen (weakly keyed)."""
    d = getattr(state, "cli_sess_seen", None)
    if d is None:
        import weakref

        d = weakref.WeakKeyDictionary()
        state.cli_sess_seen = d
    return d


def _epoch(n: int) -> str:
    return f"{n:#x}" if n else "0"


def _hex(n: int) -> str:
    return f"0x{n:x}"


def _human_s(sec: float) -> str:
    """HAProxy's short human time for ``show sess``: 4s, 1m30s, 2h5m, 3d."""
    s = max(0, int(sec))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        m, r = divmod(s, 60)
        return f"{m}m{r}s" if r else f"{m}m"
    if s < 86400:
        h, r = divmod(s, 3600)
        return f"{h}h{r // 60}m" if r // 60 else f"{h}h"
    return f"{s // 86400}d"


def _strtol_base16(s: str) -> tuple[int, str]:
    """C strtoul(s, &end, 0) for stream ids: ``0x`` hex, else decimal (0 when nothing parses)."""
    t = s.strip()
    if t[:2].lower() == "0x":
        t = t[2:]
        i = 0
        while i < len(t) and t[i] in "0123456789abcdefABCDEF":
            i += 1
        return (int(t[:i], 16) if i else 0), t[i:]
    return _strtol(t)


def _fd(sock: Any) -> int:
    try:
        return int(sock.fileno()) if sock is not None else -1
    except (OSError, ValueError, AttributeError):
        return -1


def stream_line(s: Any, sid: int, epoch: int, now: float) -> str:
    """One client stream in ``show sess``'s short form (flags are those 2.6 shows for a forwarding
    HTTP/TCP stream; the data we have: addresses, frontend, backend, server, age, fds, expiry)."""
    ip = getattr(s, "src_ip", None)
    port = getattr(s, "src_port", 0)
    legacy_src = getattr(s, "src", None)  # older contract: "ip:port" and *_name attributes
    if ip is None and isinstance(legacy_src, str):
        ip, _, p = legacy_src.rpartition(":")
        port = int(p) if p.isdigit() else 0
    if ip is None or ip == "unix":
        proto, src = "unix_stream", "unix:1"
    else:
        proto = "tcpv6" if ":" in str(ip) else "tcpv4"
        src = f"{ip}:{port}"
    fe_name = getattr(getattr(s, "fe", None), "name", None) or getattr(s, "fe_name", None)
    be_name = getattr(getattr(s, "be", None), "name", None) or getattr(s, "be_name", None)
    srv = getattr(s, "srv", None)
    srv_name = getattr(srv, "name", None) or getattr(s, "srv_name", None)
    start = getattr(s, "accept_mono", None)
    if start is None:
        start = getattr(s, "start", None)
    age = int(now - start) if isinstance(start, (int, float)) else 0
    dl = getattr(s, "t_deadline", 0.0) or 0.0
    exp = _human_s(dl - now) if dl > now else ""
    cfd = _fd(getattr(s, "cli_sock", None))
    sfd = _fd(getattr(s, "srv_sock", None))
    return (f"{_hex(sid)}: proto={proto} src={src} fe={fe_name or '<NONE>'} "
            f"be={be_name or '<NONE>'} srv={srv_name or '<none>'} ts=00 "
            f"epoch={_epoch(epoch)} age={_human_s(age)} calls=2 rate=0 cpu=0 lat=0 "
            f"rq[f=49c40080h,i=0,an=8000h,rx=,wx=,ax=] rp[f=80400000h,i=0,an=1400000h,rx={exp},wx=,ax=] "
            f"scf=[8,80h,fd={cfd}] scb=[8,{'11h' if srv_name else '1h'},fd={sfd}] exp={exp} rc=0 c_exp=\n")


class Cli:
    """One runtime-API session (one client connection)."""

    __slots__ = ("state", "lowered", "interactive", "closing", "timeout", "env", "sysinfo", "started", "epoch",
                 "fd", "severity")

    def __init__(self, state: Any, *, timeout: float | None = None, env: Mapping[str, str] | None = None,
                 sysinfo: Callable[[], SysInfo] | None = None) -> None:
        self.state = state
        self.lowered = 2  # the session may only lower its level
        self.interactive = False
        self.closing = False
        g = state.config.global_
        self.timeout = timeout if timeout is not None else g.stats_timeout / 1000.0
        self.env = env if env is not None else os.environ
        #: OS figures for ``show info``: given, or what the engine installed in state.hooks
        self.sysinfo = sysinfo if sysinfo is not None else state.hooks.get("sysinfo")
        #: this CLI stream as ``show sess`` lists it: start time (first command), epoch, fd
        self.started: float | None = None
        self.epoch = _sess_epoch(state)
        self.fd = -1
        self.severity = "none"

    # ------------------------------------------------------------------ entry point
    def execute(self, line: str, level: str, now: float, wall: float) -> str:
        """Run one request line; returns the exact reply (blank lines and prompt included)."""
        lvl = min(LEVELS.get(level, 1), self.lowered)
        if self.started is None:
            self.started = now
        out: list[str] = []
        for words in split_commands(line.rstrip("\r\n")):
            if self.closing:
                break
            if not words and out:
                continue  # trailing ";"
            out.append(self.run(words, lvl, now, wall))
            lvl = min(lvl, self.lowered)
        if self.interactive and not self.closing:
            out.append("> ")
        return "".join(out)

    def run(self, w: list[str], lvl: int, now: float, wall: float) -> str:
        """One command: its output followed by the empty line ("" only for quit)."""
        if w == ["quit"]:
            self.closing = True
            return ""
        if w == ["prompt"]:
            self.interactive = not self.interactive
            if not self.interactive:
                self.closing = True
            return "\n"
        try:
            body = self.dispatch(w, lvl, now, wall)
        except Exception as exc:  # never let a command break the socket
            body = f"Internal error: {exc}\n"
        return body + "\n"

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, w: list[str], lvl: int, now: float, wall: float) -> str:
        if not w:
            return self.unknown(w, full=True)
        c0 = w[0]
        c1 = w[1] if len(w) > 1 else ""
        a = w + [""] * 6
        if c0 == "help":
            return self.cmd_help(w[1:])
        if c0 == "show":
            return self.show(w, a, lvl, now, wall)
        if c0 in ("operator", "user") and len(w) == 1:
            want = LEVELS[c0]
            if want > lvl:
                return DENIED
            self.lowered = want
            return ""
        if c0 == "get" and c1 == "weight":
            return self.cmd_get_weight(a[2])
        if c0 == "clear" and c1 == "counters":
            return self.cmd_clear(a[2], lvl)
        if c0 == "set" and c1 == "timeout" and a[2] == "cli":
            return self.cmd_set_timeout(a[3])
        fixed = self.fixed(w, lvl)
        if fixed is not None:
            return fixed
        if c0 == "set" and c1 == "severity-output":
            if a[2] not in ("none", "number", "string"):
                return "one of 'none', 'number', 'string' is a required argument\n"
            self.severity = a[2]
            return ""
        if c0 == "set" and c1 == "profiling":
            if lvl < 2:
                return DENIED
            return self.cmd_set_profiling(a[2], a[3])
        if c0 in ("enable", "disable") and c1 == "dynamic-cookie" or c0 == "set" and c1 == "dynamic-cookie-key":
            if lvl < 2:
                return DENIED
            if a[2] != "backend":
                return self.unknown(w)
            if not a[3]:
                return "A backend name is expected.\n"
            if self.find_backend(a[3]) is None:
                return "No such backend.\n"
            if c0 == "set" and not a[4]:
                return "String value expected.\n"
            return ""
        # every remaining command changes state: admin only
        known = self.is_admin_command(c0, c1)
        if not known:
            return self.unknown(w)
        if lvl < 2:
            return DENIED
        if c0 == "set":
            if c1 == "weight":
                return self.cmd_set_weight(a[2], a[3], now, wall)
            if c1 == "server":
                return self.cmd_set_server(a, now, wall)
            if c1 == "maxconn":
                return self.cmd_set_maxconn(a)
            if c1 == "rate-limit":
                return self.cmd_set_rate_limit(a)
        if c0 in ("enable", "disable"):
            return self.cmd_enable_disable(c0 == "enable", c1, a[2], now, wall)
        if c0 == "shutdown":
            return self.cmd_shutdown(c1, a)
        if c0 == "add" and c1 == "server":
            return self.cmd_add_server(w[2:], now, wall)
        if c0 == "del" and c1 == "server":
            return self.cmd_del_server(a[2])
        return self.unknown(w)

    @staticmethod
    def is_admin_command(c0: str, c1: str) -> bool:
        return (c0, c1) in {
            ("set", "weight"), ("set", "server"), ("set", "maxconn"), ("set", "rate-limit"),
            ("enable", "server"), ("disable", "server"), ("enable", "health"), ("disable", "health"),
            ("enable", "agent"), ("disable", "agent"), ("enable", "frontend"), ("disable", "frontend"),
            ("shutdown", "session"), ("shutdown", "sessions"), ("shutdown", "frontend"),
            ("add", "server"), ("del", "server"),
        }

    # ------------------------------------------------------------------ help / unknown
    def cmd_help(self, words: list[str]) -> str:
        if not words:
            return HELP_HEADER + "".join(help_line(e) for e in HELP_ENTRIES)
        sel = [e for e in HELP_ENTRIES[:-3] if e[0].split()[: len(words)] == words]
        return HELP_HEADER + "".join(help_line(e) for e in sel + list(HELP_ENTRIES[-3:]))

    def unknown(self, w: list[str], full: bool = False) -> str:
        if not full and w:
            scored = []
            for e in HELP_ENTRIES[:-3]:
                kw = e[0].split()
                if kw and kw[0] == w[0]:
                    common = sum(1 for x in w[1:] if x in kw)
                    scored.append((-common, HELP_ENTRIES.index(e), e))
            if scored:
                scored.sort()
                best = [e for _c, _i, e in scored[:5]]
                best.sort(key=HELP_ENTRIES.index)
                return ("Unknown command, but maybe one of the following ones is a better match:\n"
                        + "".join(help_line(e) for e in best + list(HELP_ENTRIES[-3:])))
        return ("Unknown command. Please enter one of the following commands only:\n"
                + "".join(help_line(e) for e in HELP_ENTRIES))

    # ------------------------------------------------------------------ show
    def show(self, w: list[str], a: list[str], lvl: int, now: float, wall: float) -> str:
        c1 = a[1]
        st = self.state
        if c1 == "info":
            opts = set(w[2:])
            fmt = "typed" if "typed" in opts else "json" if "json" in opts else "plain"
            si = self.sysinfo() if self.sysinfo else None
            return show_info(st, now, wall, fmt, "desc" in opts, si)
        if c1 == "stat":
            return self.cmd_show_stat(w, lvl, now, wall)
        if c1 == "servers" and a[2] == "state":
            return self.cmd_servers_state(a[3], wall)
        if c1 == "backend":
            return "# name\n" + "".join(f"{px.name}\n" for px in st.proxies if px.backend is not None)
        if c1 == "version":
            return version_of(st) + "\n"
        if c1 == "cli" and a[2] == "level":
            return ("user", "operator", "admin")[lvl] + "\n"
        if c1 == "cli" and a[2] == "sockets":
            return self.cmd_cli_sockets()
        if c1 == "pools":
            return self.cmd_pools()
        if c1 == "startup-logs":
            return "".join(x if x.endswith("\n") else x + "\n" for x in getattr(st, "startup_logs", ()))
        if c1 == "env":
            if lvl < 1:
                return DENIED
            if a[2]:
                v = self.env.get(a[2])
                return f"{a[2]}={v}\n" if v is not None else "Variable not found\n"
            return "".join(f"{k}={v}\n" for k, v in self.env.items())
        if c1 == "sess":
            if lvl < 1:
                return DENIED
            return self.cmd_show_sess(a[2], now)
        if c1 == "schema" and a[2] == "json":
            return cli_static.SCHEMA_JSON
        if c1 == "servers" and a[2] == "conn":
            return self.cmd_servers_conn(a[3])
        if c1 == "tasks":
            return cli_static.SHOW_TASKS.format(threads=self.nbthread())
        if c1 == "profiling":
            prof = getattr(st, "cli_profiling", {})
            return cli_static.PROFILING_HEAD.format(tasks=prof.get("tasks", "auto-off"),
                                                    memory=prof.get("memory", "off"))
        if c1 == "errors":
            if lvl < 1:
                return DENIED
            return self.cmd_show_errors(a[2], a[3], wall)
        fx = self.fixed(w, lvl)
        return fx if fx is not None else self.unknown(w)

    def cmd_show_stat(self, w: list[str], lvl: int, now: float, wall: float) -> str:
        flt = StatFilter(show_legends=lvl >= 1)
        args = w[2:]
        if len(args) >= 3:
            iid = find_proxy_iid(self.state, args[0])
            if iid == 0:
                return "No such proxy.\n"
            flt.iid = iid
            flt.types = int(_strtol(args[1])[0])
            flt.sid = int(_strtol(args[2])[0])
            rest = args[3:]
        else:
            rest = args
        fmt = "csv"
        desc = False
        for x in rest:
            if x == "typed":
                fmt = "typed"
            elif x == "json":
                fmt = "json"
            elif x == "desc":
                desc = True
            elif x == "up":
                flt.hide_down = True
            elif x == "no-maint":
                flt.hide_maint = True
        return show_stat(self.state, now, wall, flt, fmt, desc)

    def cmd_servers_state(self, bename: str, wall: float) -> str:
        st = self.state
        bes = [px.backend for px in st.proxies if px.backend is not None]
        if bename:
            bes = [b for b in bes if b.name == bename]
            if not bes:
                return "Can't find backend.\n"
        out = [SERVERS_STATE_HEADER]
        for be in bes:
            bforced = 1 if getattr(be.conf, "explicit_id", None) is not None else 0
            for s in be.servers:
                out.append(servers_state_line(be, s, wall, bforced, self.overrides(s)) + "\n")
        return "".join(out)

    def cmd_cli_sockets(self) -> str:
        out = ["# socket lvl processes\n"]
        for ss in self.state.config.global_.stats_sockets:
            ad = ss.address
            if ad.kind == "unix":
                name = f"unix@{ad.path}"
            elif ad.kind == "ipv6":
                name = f"ipv6@[{ad.host}]:{ad.port_lo}"
            else:
                name = f"{ad.kind}@{ad.host}:{ad.port_lo}"
            out.append(f"{name} {ss.level} all\n")
        return "".join(out)

    def cmd_pools(self) -> str:
        pools = [("buffer", 16416), ("stream", 1024), ("connection", 384), ("session", 160),
                 ("task", 160), ("h1s", 120), ("h1c", 96), ("http_txn", 192)]
        total = 0
        lines = ["Dumping pools usage. Use SIGQUIT to flush them.\n"]
        nsess = len(self.state.sessions)
        for name, size in pools:
            n = nsess if name != "buffer" else 2 * nsess
            total += n * size
            lines.append(f"  - Pool {name} ({size} bytes) : {n} allocated ({n * size} bytes), {n} used "
                         f"(~0 by thread caches), needed_avg {n}, 0 failures, 1 users, @0x0 [SHARED]\n")
        lines.append(f"Total: {len(pools)} pools, {total} bytes allocated, {total} used (~0 by thread caches).\n")
        return "".join(lines)

    def _sess_id(self, s: Any) -> int:
        sid = getattr(s, "sess_id", None)
        return sid if isinstance(sid, int) else id(s)

    def nbthread(self) -> int:
        si = self.sysinfo() if self.sysinfo else None
        return (si.nbthread if si is not None else 0) or self.state.config.global_.nbthread or 1

    def fixed(self, w: list[str], lvl: int) -> str | None:
        """Commands whose 2.6 reply does not depend on our state (cli_static.FIXED), else None."""
        for n in (3, 2, 1):
            key = tuple(w[:n])
            ent = cli_static.FIXED.get(key)
            if ent is None or len(w) < n:
                continue
            if lvl < cli_static.MIN_LEVEL.get(key, 2):
                return DENIED
            reply = ent[0] if len(w) == n else ent[1]
            return reply or ""
        return None

    def cmd_set_profiling(self, what: str, how: str) -> str:
        if what not in ("tasks", "memory"):
            return "Expects either 'tasks' or 'memory'.\n"
        allowed = ("on", "auto", "off") if what == "tasks" else ("on", "off")
        if how not in allowed:
            return ("Expects 'on', 'auto', or 'off'.\n" if what == "tasks" else "Expects either 'on' or 'off'.\n")
        prof = getattr(self.state, "cli_profiling", None)
        if prof is None:
            prof = {}
            self.state.cli_profiling = prof
        prof[what] = {"auto": "auto-off"}.get(how, how)
        return ""

    def cmd_servers_conn(self, bename: str) -> str:
        bes = [px.backend for px in self.state.proxies if px.backend is not None]
        if bename:
            bes = [b for b in bes if b.name == bename]
            if not bes:
                return "Can't find backend.\n"
        nbt = self.nbthread()
        out = ["# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb "
               f"idle_lim idle_cur idle_per_thr[{nbt}]\n"]
        for be in bes:
            for s in be.servers:
                used = int(getattr(s, "served", 0) or 0)
                out.append(f"{be.name}/{s.name} {be.uuid}/{s.puid} {s.host or '-'} {s.port} - 5000 {used} "
                           f"{int(getattr(s.counters, 'smax', 0) or 0)} {used} 0 0 -1 0"
                           + " 0" * nbt + "\n")
        return "".join(out)

    def _sess_id(self, s: Any) -> int:
        sid = getattr(s, "sess_id", None)
        return sid if isinstance(sid, int) else id(s)

    def cmd_show_sess(self, which: str, now: float) -> str:
        """``show sess [ID|all]``: one line per stream as 2.6's short form, this CLI stream included."""
        st = self.state
        epoch = _sess_epoch(st)
        seen = _sess_epochs(st)
        streams = []
        for s in list(st.sessions):
            if getattr(s, "closed", False):
                continue
            try:
                e = seen.setdefault(s, epoch)
            except TypeError:
                e = epoch
            streams.append((getattr(s, "accept_mono", getattr(s, "start", 0.0)) or 0.0, e, s))
        streams.sort(key=lambda t: t[0])
        want = None
        if which and which != "all":
            n, _rest = _strtol_base16(which)
            if n:
                want = n
        lines = []
        for _t, e, s in streams:
            if want is not None and self._sess_id(s) != want:
                continue
            lines.append(stream_line(s, self._sess_id(s), e, now))
        if want is None or want == id(self):
            lines.append(self.cli_line(now))
        st.cli_sess_epoch = epoch + 1
        if want is not None and not lines:
            return "Session not found.\n"
        return "".join(lines)

    def cli_line(self, now: float) -> str:
        """This CLI stream, as 2.6 lists its own: fe=GLOBAL, no backend, the idle timeout as expiry."""
        age = int(now - (self.started if self.started is not None else now))
        tmo = _human_s(self.timeout)
        return (f"{_hex(id(self))}: proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> ts=00 "
                f"epoch={_epoch(self.epoch)} age={_human_s(age)} calls=1 rate=1 cpu=0 lat=0 "
                f"rq[f=c08002h,i=0,an=00h,rx={tmo},wx=,ax=] rp[f=80008000h,i=0,an=00h,rx=,wx=,ax=] "
                f"scf=[8,0h,fd={self.fd}] scb=[8,1h,fd=-1] exp={tmo} rc=0 c_exp=\n")

    def cmd_show_errors(self, pxname: str, kind: str, wall: float) -> str:
        st = self.state
        if pxname and pxname != "-1":
            iid = find_proxy_iid(st, pxname)
            if not any(px.uuid == iid for px in st.proxies):
                return "No such proxy.\n"
        else:
            iid = -1
        errs = [e for e in st.errors
                if (iid == -1 or e.get("fe_iid") == iid or e.get("be_iid") == iid)
                and (not kind or e.get("kind", "request") == kind)]
        out = [f"Total events captured on [{_fmt_date(wall)}] : {len(errs)}\n"]
        for e in errs:
            k = e.get("kind", "request")
            side = "frontend" if k == "request" else "backend"
            out.append(" \n")
            out.append(f"[{_fmt_date(e.get('when', wall))}] {side} {e.get('frontend', '?')} "
                       f"(#{e.get('fe_iid', -1)}): invalid {k}\n")
            be = e.get("backend")
            srv = e.get("server")
            out.append(f"  backend {be or '<NONE>'} (#{e.get('be_iid', -1)}), server {srv or '<NONE>'} "
                       f"(#{e.get('srv_id', -1)}), event #{e.get('event', 0)}, src {e.get('src', '?')}\n")
            buf: bytes = e.get("buf", b"")
            out.append(f"  buffer starts at 0 (including 0 out), {max(0, 16384 - len(buf))} free,\n")
            out.append(f"  len {len(buf)}, wraps at 16336, error at position {e.get('err_pos', 0)}\n")
            out.append("  \n")
            out.extend(hexdump_lines(buf))
        return "".join(out)

    # ------------------------------------------------------------------ lookups
    def find_backend(self, name: str) -> Any:
        for px in self.state.proxies:
            if px.backend is not None and px.name == name:
                return px.backend
        if name.startswith("#"):
            n = _strtol(name[1:])[0]
            for px in self.state.proxies:
                if px.backend is not None and px.uuid == n:
                    return px.backend
        return None

    def find_server(self, spec: str) -> tuple[Any, Any, str]:
        """``be/srv`` -> (backend, server, error reply)."""
        be_name, sep, srv_name = spec.partition("/")
        if not sep or not srv_name:
            return None, None, "Require 'backend/server'.\n"
        be = self.find_backend(be_name)
        if be is None:
            return None, None, "No such backend.\n"
        srv = be.by_name.get(srv_name) if hasattr(be, "by_name") else None
        if srv is None:
            srv = next((s for s in be.servers if s.name == srv_name), None)
        if srv is None:
            return be, None, "No such server.\n"
        return be, srv, ""

    def find_frontend(self, name: str) -> Any:
        for px in self.state.proxies:
            if px.frontend is not None and px.name == name:
                return px.frontend
        return None

    def overrides(self, srv: Any) -> dict[str, Any]:
        store = getattr(self.state, "cli_server_overrides", None)
        if store is None:
            store = {}
            self.state.cli_server_overrides = store
        be = srv.backend.name if srv.backend is not None else ""
        return store.setdefault((be, srv.name), {})

    # ------------------------------------------------------------------ weights
    def cmd_get_weight(self, spec: str) -> str:
        _be, srv, err = self.find_server(spec)
        if err:
            return err
        return f"{srv.uweight} (initial {srv.iweight})\n"

    def cmd_set_weight(self, spec: str, wstr: str, now: float, wall: float) -> str:
        be, srv, err = self.find_server(spec)
        if err:
            return err
        return self.apply_weight(be, srv, wstr, now)

    def apply_weight(self, be: Any, srv: Any, wstr: str, now: float) -> str:
        if not wstr:
            return "Require <weight> or <weight%>.\n"
        w, rest = _strtol(wstr)
        if rest == wstr:
            return "Empty weight string empty or preceded by garbage"
        if rest == "%":
            if w < 0:
                return "Relative weight must be positive.\n"
            w = srv.iweight * w // 100
            w = min(w, 256)
        elif w < 0 or w > 256:
            return "Absolute weight can only be between 0 and 256 inclusive.\n"
        elif rest:
            return "Trailing garbage in weight string"
        bal = getattr(be, "balancer", None)
        if bal is not None:
            # consistent hashing and first are dynamic (HAProxy 2.6.12 accepts any weight there)
            static = not bal.dynamic
        else:
            static = (getattr(be, "algo_name", None) or be.conf.balance.algorithm) in STATIC_ALGOS
        if static and w != 0 and w != srv.iweight:
            return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
        res = be.set_weight(srv, w, now)
        if res and not res.endswith("\n"):
            res += "\n"
        return res or ""

    # ------------------------------------------------------------------ admin state
    def _changed(self, be: Any, srv: Any, now: float, wall: float, cause: str) -> None:
        srv.last_change = wall
        be.server_state_changed(srv, wall)

    def _outcome(self, out: Any) -> None:
        """Hand a state change's log lines and session shutdowns to the engine (``apply_outcome``)."""
        hook = self.state.hooks.get("apply_outcome")
        if hook is not None:
            hook(out)

    def set_admin(self, be: Any, srv: Any, what: str, now: float, wall: float) -> None:
        """``ready`` | ``drain`` | ``maint`` (set server state / enable|disable server).

        The transitions, their log lines and tracking are the health state machine's
        (checks/health.py); server-state times are wall-clock times."""
        from haproxy_py.checks import health

        fn = {"maint": health.set_admin_maint, "drain": health.set_admin_drain,
              "ready": health.set_admin_ready}[what]
        self._outcome(fn(srv, wall))

    def set_health(self, be: Any, srv: Any, what: str, now: float, wall: float) -> str:
        from haproxy_py.checks import health

        if srv.track is not None:
            return "cannot change health on a tracking server.\n"
        fn = {"up": health.set_health_up, "down": health.set_health_down,
              "stopping": health.set_health_stopping}.get(what)
        if fn is None:
            return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n"
        self._outcome(fn(srv, wall))
        return ""

    def cmd_set_server(self, a: list[str], now: float, wall: float) -> str:
        be, srv, err = self.find_server(a[2])
        if err:
            return err
        sub = a[3]
        if sub == "state":
            if a[4] not in ("ready", "drain", "maint"):
                return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
            self.set_admin(be, srv, a[4], now, wall)
            return ""
        if sub == "weight":
            return self.apply_weight(be, srv, a[4], now)
        if sub == "health":
            return self.set_health(be, srv, a[4], now, wall)
        if sub == "agent":
            if not srv.agent_enabled:
                return "agent checks are not enabled on this server.\n"
            if a[4] not in ("up", "down"):
                return "'set server <srv> agent' expects 'up' or 'down'.\n"
            self.set_health(be, srv, a[4], now, wall)
            return ""
        if sub == "addr":
            return self.set_addr(srv, a[4], a[5], a[6])
        if sub in ("check-port", "agent-port"):
            port, rest = _strtol(a[4])
            if not a[4] or rest or not 0 < port < 65536:
                return "provided port is not valid.\n"
            self.overrides(srv)[sub] = port
            return ""
        if sub in ("check-addr", "agent-addr"):
            try:
                ipaddress.ip_address(a[4])
            except ValueError:
                return "incorrect addr address given for agent.\n" if sub == "agent-addr" \
                    else "check-addr: invalid IP address\n"
            self.overrides(srv)[sub] = a[4]
            return ""
        if sub in ("agent-send", "fqdn", "ssl"):
            self.overrides(srv)[sub] = a[4]
            return ""
        return SET_SERVER_USAGE

    def set_addr(self, srv: Any, addr: str, kw: str, port_s: str) -> str:
        who = "by 'stats socket command'"
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            return f"Invalid addr '{addr}' {who}\n"
        new_port = srv.port
        if kw == "port":
            p, rest = _strtol(port_s)
            if not port_s or rest or not 0 <= p < 65536:
                return f"Invalid port '{port_s}' {who}\n"
            new_port = p
        parts = []
        if addr == srv.host:
            parts.append("no need to change the addr")
        else:
            parts.append(f"IP changed from '{srv.host}' to '{addr}'")
        if kw == "port":
            if new_port == srv.port:
                parts.append("no need to change the port")
            else:
                parts.append(f"port changed from '{srv.port}' to '{new_port}'")
        changed = addr != srv.host or new_port != srv.port
        srv.host = addr
        srv.port = new_port
        if changed:
            hook = self.state.hooks.get("server_addr_changed")
            if hook is not None:
                hook(srv)
        return ", ".join(parts) + f" {who}\n"

    def set_checks(self, be: Any, srv: Any, enable: bool, now: float, wall: float) -> str:
        """``enable|disable health`` (CLI and stats page): through the health state machine."""
        if not srv.conf.check:
            return "Health checks are not configured on this server, cannot enable.\n" if enable else ""
        from haproxy_py.checks import health

        self._outcome((health.enable_health if enable else health.disable_health)(srv, wall))
        self._changed(be, srv, now, wall, "changed from CLI")
        return ""

    def cmd_enable_disable(self, enable: bool, what: str, spec: str, now: float, wall: float) -> str:
        if what == "frontend":
            fe = self.find_frontend(spec)
            if not spec:
                return "A frontend name is expected.\n"
            if fe is None:
                return "No such frontend.\n"
            if fe.stopped:
                return f"Frontend was previously shut down, cannot {'enable' if enable else 'disable'}.\n"
            if enable:
                if not fe.paused:
                    return "All sockets are already enabled.\n"
                fe.paused = False
                hook = self.state.hooks.get("frontend_resume")
            else:
                if fe.paused:
                    return "All sockets are already disabled.\n"
                fe.paused = True
                hook = self.state.hooks.get("frontend_pause")
            if hook is not None:
                hook(fe)
            return ""
        be, srv, err = self.find_server(spec)
        if err:
            return err
        if what == "server":
            self.set_admin(be, srv, "ready" if enable else "maint", now, wall)
            return ""
        if what == "health":
            return self.set_checks(be, srv, enable, now, wall)
        if what == "agent":
            if enable and not srv.conf.agent_check:
                return "Agent was not configured on this server, cannot enable.\n"
            srv.agent_enabled = enable and srv.conf.agent_check
            return ""
        return ""

    def cmd_set_maxconn(self, a: list[str]) -> str:
        what = a[2]
        st = self.state
        if what == "server":
            _be, srv, err = self.find_server(a[3])
            if err:
                return err
            v, rest = _strtol(a[4])
            if not a[4] or rest or v < 0:
                return "'set maxconn server' expects an integer parameter.\n"
            srv.maxconn = v
            hook = st.hooks.get("server_maxconn_changed")
            if hook is not None:
                hook(srv)
            return ""
        if what == "frontend":
            fe = self.find_frontend(a[3])
            if not a[3]:
                return "A frontend name is expected.\n"
            if fe is None:
                return "No such frontend.\n"
            v, rest = _strtol(a[4])
            if not a[4] or rest or v < 0:
                return "Integer value expected.\n"
            fe.maxconn = v
            return ""
        if what == "global":
            v, rest = _strtol(a[3])
            if not a[3] or rest:
                return "Expects an integer value.\n"
            if v > st.hard_maxconn or v < 0:
                return "Value out of range.\n"
            st.maxconn = v or st.hard_maxconn
            hook = st.hooks.get("global_maxconn_changed")
            if hook is not None:
                hook(st.maxconn)
            return ""
        return "'set maxconn' only supports 'frontend', 'server', and 'global'.\n"

    def cmd_set_rate_limit(self, a: list[str]) -> str:
        usage = ("'set rate-limit' only supports :\n"
                 "   - 'connections global' to set the per-process maximum connection rate\n"
                 "   - 'sessions global' to set the per-process maximum session rate\n"
                 "   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n")
        if a[2] not in ("connections", "sessions", "http-compression") or a[3] != "global":
            return usage
        v, rest = _strtol(a[4])
        if not a[4] or rest or v < 0:
            return "Expects an integer value.\n"
        if a[2] == "sessions":
            self.state.rate_limit_sessions = v
        elif a[2] == "connections":
            self.state.conn_rate_limit = v
        return ""

    def cmd_set_timeout(self, val: str) -> str:
        v, rest = _strtol(val)
        if not val or v < 0 or rest not in ("", "s", "ms", "m", "h"):
            return "'set timeout cli' requires a delay.\n"
        mult = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0}[rest]
        self.timeout = v * mult
        return ""

    def cmd_clear(self, arg: str, lvl: int) -> str:
        all_ = arg == "all"
        if lvl < (2 if all_ else 1):
            return DENIED
        st = self.state
        for px in st.proxies:
            for obj in (px.frontend, px.backend):
                if obj is not None:
                    obj.counters.clear(all_=all_)
            if px.backend is not None:
                for s in px.backend.servers:
                    s.counters.clear(all_=all_)
        if all_:
            for fc in (st.conn_rate, st.sess_rate):
                fc.max = 0
        else:
            st.conn_rate.max = 0
            st.sess_rate.max = 0
        return ""

    def cmd_shutdown(self, what: str, a: list[str]) -> str:
        st = self.state
        kill = st.hooks.get("shutdown_session")
        if what == "session":
            if not a[2]:
                return "Session pointer expected (use 'show sess').\n"
            want = a[2].lower()
            for s in list(st.sessions):
                if hex(self._sess_id(s)) == want:
                    if kill is not None:
                        kill(s)
                    elif hasattr(s, "shutdown"):
                        s.shutdown()
                    return ""
            return "No such session (use 'show sess').\n"
        if what == "sessions":
            if a[2] != "server":
                return "'shutdown sessions' only supports 'server'.\n"
            _be, srv, err = self.find_server(a[3])
            if err:
                return err
            victims = list(getattr(srv, "sessions", ()) or ())
            victims += [s for s in st.sessions if getattr(s, "server", None) is srv and s not in victims]
            for s in victims:
                if kill is not None:
                    kill(s)
                elif hasattr(s, "shutdown"):
                    s.shutdown()
            return ""
        if what == "frontend":
            fe = self.find_frontend(a[2])
            if not a[2]:
                return "A frontend name is expected.\n"
            if fe is None:
                return "No such frontend.\n"
            if fe.stopped:
                return "Frontend was already shut down.\n"
            fe.stopped = True
            hook = st.hooks.get("frontend_stop")
            if hook is not None:
                hook(fe)
            return ""
        return self.unknown(a[:2])

    # ------------------------------------------------------------------ dynamic servers
    def cmd_add_server(self, args: list[str], now: float, wall: float) -> str:
        if not args:
            return "Require 'backend/server'.\n"
        be_name, sep, srv_name = args[0].partition("/")
        if not sep or not srv_name:
            return "Require 'backend/server'.\n"
        be = self.find_backend(be_name)
        if be is None:
            return "No such backend.\n"
        algo = getattr(be, "algo_name", None) or be.conf.balance.algorithm
        if algo in STATIC_ALGOS and algo not in ("first",):
            return "Backend must use a dynamic load balancing to support dynamic servers.\n"
        if any(s.name == srv_name for s in be.servers):
            return "Already exists a server with the same name in backend.\n"
        if len(args) < 2:
            return "'server' expects <name> and <addr>[:<port>] as arguments.\n"
        try:
            conf = build_dynamic_server(be, srv_name, args[1], args[2:])
        except ValueError as exc:
            return f"{exc}\n"
        srv = be.add_server(conf, now)
        srv.dynamic = True
        srv.last_change = wall
        return "New server registered.\n"

    def cmd_del_server(self, spec: str) -> str:
        be, srv, err = self.find_server(spec)
        if err:
            return err
        if not srv.in_maint:
            return "Only servers in maintenance mode can be deleted.\n"
        if srv.served or len(srv.queue) or getattr(srv, "sessions", None):
            return "Server still has connections attached to it, cannot remove it.\n"
        if srv.trackers:
            return "Server has tracking servers attached to it, cannot remove it.\n"
        be.del_server(srv)
        return "Server deleted.\n"


def build_dynamic_server(be: Any, name: str, addr_s: str, params: list[str]) -> ServerConf:
    """ServerConf for ``add server``: the backend's default-server first, then the given keywords."""
    from dataclasses import replace

    host, _, port_s = addr_s.rpartition(":") if ":" in addr_s and not addr_s.startswith("[") else (addr_s, "", "")
    if addr_s.startswith("["):
        host, _, port_s = addr_s[1:].partition("]")
        port_s = port_s.lstrip(":")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(f"Invalid address '{addr_s}'.") from exc
    port = 0
    if port_s:
        p, rest = _strtol(port_s)
        if rest or not 0 <= p < 65536:
            raise ValueError(f"invalid port '{port_s}'.")
        port = p
    kind = "ipv6" if ip.version == 6 else "ipv4"
    used = {s.puid for s in be.servers}
    puid = 1
    while puid in used:
        puid += 1
    conf = replace(be.conf.default_server, name=name, address=Address(kind, host, port, port, text=addr_s),
                   puid=puid, disabled=False)
    ints = {"weight", "maxconn", "maxqueue", "minconn", "rise", "fall", "inter", "fastinter", "downinter",
            "port", "id", "slowstart"}
    i = 0
    kw: dict[str, Any] = {}
    while i < len(params):
        k = params[i]
        if k in ("check", "backup", "disabled", "send-proxy", "send-proxy-v2"):
            kw[k.replace("-", "_")] = True
            i += 1
            continue
        if k == "enabled":
            kw["disabled"] = False
            i += 1
            continue
        if i + 1 >= len(params):
            raise ValueError(f"'{k}' expects an argument.")
        v = params[i + 1]
        if k in ints:
            n, rest = _strtol(v)
            if rest and not (k in ("inter", "fastinter", "downinter", "slowstart") and rest in ("ms", "s")):
                raise ValueError(f"'{k}' expects an integer argument.")
            if rest == "s":
                n *= 1000
            key = {"port": "check_port"}.get(k, k)
            kw[key] = n
        elif k == "cookie":
            kw["cookie"] = v
        elif k == "addr":
            kw["check_addr"] = v
        elif k == "track":
            kw["track"] = v
        else:
            raise ValueError(f"'{k}' is not supported for dynamic servers.")
        i += 2
    if "id" in kw:
        kw["puid"] = kw["id"]
    return replace(conf, **kw)


def servers_state_line(be: Any, s: Any, wall: float, bforced: int, ov: Mapping[str, Any]) -> str:
    admin = 0
    for flag in s.admin:
        admin |= SRV_ADMIN_BITS.get(flag, 0)
    chk_conf = bool(s.conf.check)
    if chk_conf:
        cst = s.check_status or "INI"
        chk_state = 0x2 | (0x4 if s.check_enabled else 0) | (0x8 if s.in_maint and s.check_enabled else 0)
        health = s.health
    else:
        cst = "INI"
        chk_state = 0
        health = s.rise
    result = 3 if cst in _PASSED else 4 if cst == "L7OKC" else 2 if cst in _FAILED else 0
    since = max(0, int(wall - s.last_change))
    sforced = 1 if s.conf.id is not None else 0
    return " ".join(str(x) for x in (
        be.uuid, be.name, s.puid, s.name, s.host or "-", SRV_OP.get(s.state, 0), admin, s.uweight, s.iweight,
        since, CHECK_STATUS_NUM.get(cst, 0), result, health, chk_state, 0, bforced, sforced,
        ov.get("fqdn") or "-", s.port, "-", 1 if ov.get("ssl") == "on" else 0,
        ov.get("check-port", s.conf.check_port or 0), ov.get("check-addr") or "-", ov.get("agent-addr") or "-",
        ov.get("agent-port", s.conf.agent_port or 0)))


def hexdump_lines(buf: bytes) -> list[str]:
    """``show errors`` dump: one line per input line, offset then the escaped bytes."""
    out = []
    start = 0
    n = len(buf)
    while start < n:
        end = buf.find(b"\n", start)
        end = n if end < 0 else end + 1
        chunk = buf[start:end]
        text = []
        for b in chunk:
            if b == 13:
                text.append("\\r")
            elif b == 10:
                text.append("\\n")
            elif b == 0x5C:
                text.append("\\\\")
            elif 32 <= b < 127:
                text.append(chr(b))
            else:
                text.append(f"\\x{b:02x}")
        out.append(f"  {start:05d}  {''.join(text)}\n")
        start = end
    return out
