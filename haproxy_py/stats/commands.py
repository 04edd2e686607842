"""The runtime API (stats socket commands), pure: text in, exact HAProxy 2.6 reply text out.

One ``Cli`` per client connection: it keeps the session flags (lowered level, interactive prompt,
quit, ``set timeout cli``) and acts on the shared ``ProcessState``. The socket layer
(``engine/stats_socket.py``) only moves lines and bytes.

    cli = Cli(state)
    reply = cli.execute("show stat;show info", "admin", now, wall)   # exact bytes as str
    cli.interactive / cli.closing / cli.timeout                      # framing decisions

Reply rules (HAPROXY_FACTS 9.1): each command's output is followed by one empty line; in
interactive mode the prompt ``> `` follows each line's replies.

Commands are one table (``COMMANDS`` at the end): each row is a command's words, its ``help`` line
(2.6's text; ``help`` prints the rows sorted as 2.6 sorts them), the level it needs and its handler.
Dispatch takes the row with the longest matching words; a row without a handler is a 2.6 command
haproxy-py does not implement, and answers so (``CLI.refusal``) instead of the unknown-command help.
The rows are the ``cli`` registry (haproxy_py/registry.py), each implemented one with its test.
Adding a command: one row, its handler, its test (CONTRIBUTING.md).

I/O is asked of the engine through ``state.ops`` (runtime/ops.py ``EngineOps``: typed, one method
per operation: frontends paused/resumed/stopped, server address and maxconn, global maxconn,
sessions killed, state-change outcomes, OS figures).
Sessions in ``state.sessions`` are engine objects (engine/stream.py Stream); ``show sess`` reads
(all optional) ``src_ip``/``src_port``, ``fe``/``be``/``srv`` (runtime objects with ``.name``),
``accept_mono``, ``t_deadline`` (expiry), ``cli_sock``/``srv_sock`` (fds), ``closed``; the older
``src`` ("ip:port"), ``fe_name``/``be_name``/``srv_name``, ``start`` and ``sess_id`` still work;
``server`` (runtime Server) is used by ``shutdown sessions server``. The CLI's own stream is listed
last, as 2.6 lists it (``proto=unix_stream ... fe=GLOBAL``); epochs count ``show sess`` calls.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from haproxy_py.config.model import Address, ServerConf
from haproxy_py.registry import Registry
from haproxy_py.stats import cli_static
from haproxy_py.stats.csv import StatFilter, find_proxy_iid, show_stat
from haproxy_py.stats.info import SysInfo, show_info, version_of
from haproxy_py.stats.patcmds import pat_command

LEVELS = {"user": 0, "operator": 1, "admin": 2}
USER, OPERATOR, ADMIN = 0, 1, 2
DENIED = "Permission denied\n"
HELP_HEADER = "The following commands are valid at this level:\n"

SRV_OP = {"STOPPED": 0, "STARTING": 1, "RUNNING": 2, "STOPPING": 3}
#: ``show stat domain resolvers``: the counters' names and descriptions as 2.6 gives them (the
#: order of ``show resolvers``, dns/resolution.py NsCounters)
NS_STAT_FIELDS = ("sent", "send_error", "valid", "update", "cname", "cname_error", "any_err", "nx", "timeout",
                  "refused", "other", "invalid", "too_big", "truncated", "outdated")
NS_STAT_DESC = ("ID", "Parent ID", "Sent", "Send error", "Valid", "Update", "CNAME", "CNAME error", "Any errors",
                "NX", "Timeout", "Refused", "Other", "Invalid", "Too big", "Truncated", "Outdated")

SRV_ADMIN_BITS = {"FMAINT": 0x1, "IMAINT": 0x2, "CMAINT": 0x4, "FDRAIN": 0x8, "IDRAIN": 0x10, "RMAINT": 0x20,
                  "HMAINT": 0x40}
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
                 "fd", "payload", "experimental")

    def __init__(self, state: Any, *, timeout: float | None = None, env: Mapping[str, str] | None = None,
                 sysinfo: Callable[[], SysInfo] | None = None) -> None:
        self.state = state
        self.lowered = 2  # the session may only lower its level
        self.interactive = False
        self.closing = False
        g = state.config.global_
        self.timeout = timeout if timeout is not None else g.stats_timeout / 1000.0
        self.env = env if env is not None else os.environ
        #: OS figures for ``show info``: given, or the engine's (runtime/ops.py)
        self.sysinfo = sysinfo if sysinfo is not None else state.ops.sysinfo
        #: this CLI stream as ``show sess`` lists it: start time (first command), epoch, fd
        self.started: float | None = None
        self.epoch = _sess_epoch(state)
        self.fd = -1
        #: the payload of the line being run (what followed 'CMD <<' up to an empty line), or None
        self.payload: str | None = None
        #: ``experimental-mode on`` said (and no level lowered since)
        self.experimental = False

    # ------------------------------------------------------------------ entry point
    def execute(self, line: str, level: str, now: float, wall: float) -> str:
        """Run one request line; returns the exact reply (blank lines and prompt included)."""
        lvl = min(LEVELS.get(level, 1), self.lowered)
        if self.started is None:
            self.started = now
        out: list[str] = []
        line = line.rstrip("\r\n")
        self.payload = None
        if "\n" in line:  # 'CMD <<' and its payload (engine/stats_socket.py reads it)
            line, _, self.payload = line.partition("\n")
        for words in split_commands(line):
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
        """One command: its output followed by the empty line (nothing at all for ``quit``)."""
        try:
            body = self.dispatch(w, lvl, now, wall)
        except Exception as exc:  # never let a command break the socket
            body = f"Internal error: {exc}\n"
        return "" if body is None else body + "\n"

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, w: list[str], lvl: int, now: float, wall: float) -> str | None:
        """The table row with the longest words ``w`` starts with: its level, then its handler."""
        if not w:
            return self.unknown(w, full=True)
        cmd = lookup(w)
        if cmd is None or cmd.master:  # master-CLI commands are unknown on a stats socket, as in 2.6
            return self.unknown(w)
        if _expert(cmd):  # expert-mode stays off here
            return "This command is restricted to expert mode only.\n"
        if cmd.experimental and not self.experimental:
            return "This command is restricted to experimental mode only.\n"
        if lvl < cmd.level:
            return DENIED
        if cmd.handler is None:
            return CLI.refusal(cmd.name) + "\n"
        return cmd.handler(self, Call(w, lvl, now, wall))

    def refuse(self, what: str) -> str:
        """A 2.6 command (or one of its forms) haproxy-py does not implement."""
        return CLI.refusal(what) + "\n"

    # ------------------------------------------------------------------ session commands
    def cmd_lower(self, want: int, lvl: int) -> str:
        """``operator`` / ``user``: the session's level can only go down."""
        if want > lvl:
            return DENIED
        self.lowered = want
        self.experimental = False  # 2.6 drops the mode with the level
        return ""

    def cmd_prompt(self) -> str:
        self.interactive = not self.interactive
        if not self.interactive:
            self.closing = True
        return ""

    def cmd_quit(self) -> None:
        self.closing = True

    # ------------------------------------------------------------------ help / unknown
    def help_entries(self) -> tuple[tuple[str, str], ...]:
        """What ``help`` lists in this session: experimental commands only in that mode."""
        return HELP_ENTRIES_EXPERIMENTAL if self.experimental else HELP_ENTRIES

    def visible(self) -> tuple[Command, ...]:
        """The commands this session may see, in the order 2.6 looks at them (experimental ones
        only in that mode)."""
        return VISIBLE_EXPERIMENTAL if self.experimental else VISIBLE

    def cmd_help(self, words: list[str]) -> str:
        return usage_message(self.visible(), ["help", *words])

    def unknown(self, w: list[str], full: bool = False) -> str:
        return usage_message(self.visible(), [] if full else w)

    # ------------------------------------------------------------------ show
    def cmd_show_info(self, w: list[str], now: float, wall: float) -> str:
        opts = set(w[2:])
        fmt = "typed" if "typed" in opts else "json" if "json" in opts else "plain"
        si = self.sysinfo() if self.sysinfo else None
        return show_info(self.state, now, wall, fmt, "desc" in opts, si)

    def cmd_show_env(self, name: str) -> str:
        if name:
            v = self.env.get(name)
            return f"{name}={v}\n" if v is not None else "Variable not found\n"
        return "".join(f"{k}={v}\n" for k, v in self.env.items())

    def cmd_show_profiling(self) -> str:
        prof = getattr(self.state, "cli_profiling", {})
        return cli_static.PROFILING_HEAD.format(tasks=prof.get("tasks", "auto-off"), memory=prof.get("memory", "off"))

    def cmd_startup_logs(self) -> str:
        logs = "".join(x if x.endswith("\n") else x + "\n" for x in getattr(self.state, "startup_logs", ()))
        return logs or "\n"  # 2.6 with nothing logged at startup: one empty line

    def cmd_show_stat(self, w: list[str], lvl: int, now: float, wall: float) -> str:
        flt = StatFilter(show_legends=lvl >= 1)
        args = w[2:]
        if args and args[0] == "domain":
            dom = args[1] if len(args) > 1 else ""
            if dom == "resolvers":
                return self.show_stat_resolvers(args[2:])
            if dom != "proxy":
                return "Invalid statistics domain.\n"
            args = args[2:]
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

    def show_stat_resolvers(self, rest: list[str]) -> str:
        """``show stat domain resolvers [typed|json] [desc]``: one row per nameserver (its name and
        section, then the counters of ``show resolvers``), as 2.6 prints them; the proxy filters
        and up/no-maint change nothing there. 2.6's JSON puts no comma between the rows (its
        own bug, kept: a client that copes with 2.6 copes with this)."""
        fmt = "typed" if "typed" in rest else "json" if "json" in rest else "csv"
        desc = "desc" in rest
        names = ["id", "pid", *NS_STAT_FIELDS]
        rows = [[ns, sect, *(getattr(c, f) for f in c.__slots__)]
                for sect, nss in self.state.resolvers for ns, c in nss]
        if fmt == "csv":
            return "# " + "".join(n + "," for n in names) + "\n" + "".join(
                "".join(f"{v}," for v in r) + "\n" for r in rows)
        if fmt == "typed":
            out = []
            for r in rows:
                for i, (n, v) in enumerate(zip(names, r, strict=True)):
                    tag = "CGP:str" if i < 2 else "MGP:u64"
                    out.append(f"N.{i}.{n}:{tag}:{v}" + (f':"{NS_STAT_DESC[i]}"' if desc else "") + "\n")
            return "".join(out)
        parts = []
        for r in rows:
            items = []
            for i, (n, v) in enumerate(zip(names, r, strict=True)):
                origin, typ = ("Config", "str") if i < 2 else ("Metric", "u64")
                val = json.dumps(str(v)) if i < 2 else str(v)
                items.append(f'{{"field":{{"pos":{i},"name":"{n}"}},"tags":{{"origin":"{origin}","nature":"Gauge",'
                             f'"scope":"Process"}},"value":{{"type":"{typ}","value":{val}}}}}')
            parts.append("[" + ",".join(items) + "]")
        return "[" + "".join(parts) + "]\n"

    def cmd_show_resolvers(self, name: str) -> str:
        """Each resolvers section's nameservers and their counters (2.6's layout)."""
        out = []
        for sect, rows in self.state.resolvers:
            if name and sect != name:
                continue
            out.append(f"Resolvers section {sect}\n")
            for ns, c in rows:
                out.append(f" nameserver {ns}:\n")
                for field in c.__slots__:
                    out.append(f"  {field + ':':<13}{getattr(c, field)}\n")
        if name and not out:
            return "Can't find that resolvers section\n"
        return "".join(out)

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
        mfd = getattr(self.state, "master_cli_fd", None)  # (duck-typed states in tests have none)
        if mfd is not None:  # a worker's link to its master's CLI (2.6: a socketpair listener)
            out.append(f"sockpair@{mfd} admin all\n")
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
                idle, safe, need, max_used = self.state.ops.server_pool_counts(s)
                # 2.6 has no per-thread counts for a server that keeps no idle connection; with one
                # thread (each worker of haproxy-py is one) that thread holds them all
                per_thr = ""
                if s.conf.pool_max_conn:
                    per_thr = f" {idle + safe}" + " 0" * (nbt - 1)
                out.append(f"{be.name}/{s.name} {be.uuid}/{s.puid} {s.host or '-'} {s.port} - "
                           f"{s.conf.pool_purge_delay} {used} {max_used} {need} {idle} {safe} "
                           f"{s.conf.pool_max_conn} {idle + safe}{per_thr}\n")
        return "".join(out)

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
                # a stream compiled by the accelerator (mypyc) takes no weak reference: it keeps its
                # epoch itself (engine/stream.py cli_epoch)
                e = getattr(s, "cli_epoch", epoch)
                if e < 0:
                    s.cli_epoch = e = epoch
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
        order = {px.uuid: i for i, px in enumerate(st.proxies)}

        def owner(e: dict[str, Any]) -> Any:
            return e.get("fe_iid") if e.get("kind", "request") == "request" else e.get("be_iid")

        # 2.6 lists the proxies in their order, each one's request capture before its response one
        errs = sorted((e for e in st.errors
                       if (iid == -1 or owner(e) == iid)
                       and (not kind or e.get("kind", "request") == kind)),
                      key=lambda e: (order.get(owner(e), len(order)), e.get("kind", "request") != "request"))
        total = getattr(st, "error_events", 0) or len(st.errors)
        out = [f"Total events captured on [{_fmt_date(wall)}] : {total}\n"]
        for e in errs:
            k = e.get("kind", "request")
            out.append(" \n")
            if k == "request":
                out.append(f"[{_fmt_date(e.get('when', wall))}] frontend {e.get('frontend', '?')} "
                           f"(#{e.get('fe_iid', -1)}): invalid request\n")
                be = e.get("backend")
                srv = e.get("server")
                out.append(f"  backend {be or '<NONE>'} (#{e.get('be_iid', -1)}), server {srv or '<NONE>'} "
                           f"(#{e.get('srv_id', -1)}), event #{e.get('event', 0)}, src {e.get('src', '?')}\n")
            else:
                out.append(f"[{_fmt_date(e.get('when', wall))}] backend {e.get('backend', '?')} "
                           f"(#{e.get('be_iid', -1)}): invalid response\n")
                srv = e.get("server")
                out.append(f"  frontend {e.get('frontend') or '<NONE>'} (#{e.get('fe_iid', -1)}), server "
                           f"{srv or '<NONE>'} (#{e.get('srv_id', -1)}), event #{e.get('event', 0)}, "
                           f"src {e.get('src', '?')}\n")
            buf: bytes = e.get("buf", b"")
            size = e.get("size", 16384)  # tune.bufsize rounded up to 16, as 2.6 sizes its buffers
            out.append(f"  buffer starts at 0 (including 0 out), {max(0, size - len(buf))} free,\n")
            out.append(f"  len {len(buf)}, wraps at {size - 48}, error at position {e.get('err_pos', 0)}\n")
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
        """Hand a state change's log lines and session shutdowns to the engine."""
        self.state.ops.apply_outcome(out)

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
            from haproxy_py.checks import health

            self._outcome((health.set_agent_up if a[4] == "up" else health.set_agent_down)(srv, wall))
            return ""
        if sub == "addr":
            return self.set_addr(srv, a[4], a[5], a[6])
        if sub in ("check-port", "check-addr"):
            return self.set_check_target(srv, sub, a[4], a[5], a[6])
        if sub in ("agent-addr", "agent-port", "agent-send"):
            return self.set_agent_target(srv, sub, a[4], a[5], a[6])
        if sub == "fqdn":
            return self.set_fqdn(be, srv, a[4])
        if sub == "ssl":
            return "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n"
        return SET_SERVER_USAGE

    @staticmethod
    def set_agent_target(srv: Any, sub: str, arg: str, kw: str, port: str) -> str:
        """``set server BE/SRV agent-send STR | agent-port P | agent-addr A [port P]``: the next
        agent checks send that, go there (2.6's replies; a warning has no empty line of its own)."""
        if sub == "agent-send":
            if not srv.agent_enabled:
                return "agent checks are not enabled on this server.\n"
            srv.agent_send = arg.encode("latin-1", "replace") if arg else None
            return ""
        if not arg:
            if sub == "agent-port":
                return "set server <b>/<s> agent-port requires a port.\n"
            return "set server <b>/<s> agent-addr requires an address and optionally a port.\n"
        if not srv.agent_enabled:
            return "agent checks are not enabled on this server"
        if sub == "agent-port":
            port, host = arg, None
        else:
            import ipaddress

            try:
                ipaddress.ip_address(arg)
            except ValueError:
                return f"invalid addr '{arg}'"
            host = arg
            port = port if kw == "port" else ""
        if port:
            if not port.isdigit():
                return "provided port is not an integer"
            srv.agent_port = int(port)
        if host is not None:
            srv.agent_host = host
        return ""

    def set_fqdn(self, be: Any, srv: Any, fqdn: str) -> str:
        """``set server fqdn NAME``: a server with ``resolvers`` resolves NAME from now on."""
        from haproxy_py.config.resolvers import configured_fqdn, resolvers_of, valid_fqdn

        if not resolvers_of(srv.conf):
            return "set server <b>/<s> fqdn failed because no resolution is configured.\n"
        if not fqdn:
            return "set server <b>/<s> fqdn requires a FQDN.\n"
        who = "by 'stats socket command'"
        ov = self.overrides(srv)
        cur = ov.get("fqdn") or configured_fqdn(srv.conf)
        if fqdn == cur:
            return f"no need to change the FDQN {who}\n"  # sic: 2.6's spelling
        if not valid_fqdn(fqdn):
            return f"could not update {be.name}/{srv.name} FQDN {who}\n"
        ov["fqdn"] = fqdn
        self.state.ops.set_server_fqdn(srv, fqdn)
        return f"{be.name}/{srv.name} changed its FQDN from {cur} to {fqdn} {who}\n"

    def set_addr(self, srv: Any, addr: str, kw: str, port_s: str) -> str:
        """``set server addr IP [port P]``: 2.6's reply; new connections go to the new address."""
        who = "by 'stats socket command'"
        if not addr:
            return "set server <b>/<s> addr requires an address and optionally a port.\n"
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            return f"Invalid addr '{addr}' {who}\n"
        parts = ["no need to change the addr" if addr == srv.host else f"IP changed from '{srv.host}' to '{addr}'"]
        new_port = srv.port
        if kw == "port":
            if port_s[:1] in ("+", "-"):
                parts.append("can't change <port> to port map because it is incompatible with current health "
                             "check port configuration (use 'port' statement from the 'server' directive.")
            else:
                p, rest = _strtol(port_s)
                if rest == port_s:
                    parts.append(f"problem converting port '{port_s}' to an int")
                else:
                    new_port = p & 0xFFFF  # 2.6 keeps the low 16 bits (70000 -> 4464)
                    parts.append("no need to change the port" if new_port == srv.port
                                 else f"port changed from '{srv.port}' to '{new_port}'")
        if addr != srv.host or new_port != srv.port:
            self.state.ops.set_server_addr(srv, addr, new_port)
            be = srv.backend
            if be is not None and be.dyncookie:  # 2.6 computes the dynamic cookie again
                be.set_dyncookies()
        return ", ".join(parts) + f" {who}\n"

    @staticmethod
    def _check_port(text: str) -> tuple[int | None, str]:
        """A health-check port as ``set server check-port`` reads it: (port, error reply)."""
        p, rest = _strtol(text)
        if rest == text or rest:
            return None, "provided port is not an integer"  # 2.6: no newline of its own
        if not 0 <= p <= 65535:
            return None, "provided port is invalid"
        return p, ""

    def set_check_target(self, srv: Any, sub: str, arg: str, kw: str, port_s: str) -> str:
        """``set server check-port P`` / ``check-addr IP [port P]``: where the health check goes."""
        if not srv.conf.check:
            return "health checks are not enabled on this server"  # 2.6: no newline of its own
        ov = self.overrides(srv)
        if sub == "check-port":
            if not arg:
                return "set server <b>/<s> check-port requires a port.\n"
            port, err = self._check_port(arg)
            if err:
                return err
            ov["check-port"] = port
            self.state.ops.set_server_check(srv, ov.get("check-addr"), port)
            return ""
        if not arg:
            return "set server <b>/<s> check-addr requires an address and optionally a port.\n"
        try:
            ipaddress.ip_address(arg)
        except ValueError:
            return f"invalid addr '{arg}'"  # 2.6: no newline of its own
        port = ov.get("check-port")
        if kw == "port":
            port, err = self._check_port(port_s)
            if err:
                return err
            ov["check-port"] = port
        ov["check-addr"] = arg
        self.state.ops.set_server_check(srv, arg, port)
        return ""

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
                self.state.ops.resume_frontend(fe)
            else:
                if fe.paused:
                    return "All sockets are already disabled.\n"
                self.state.ops.pause_frontend(fe)
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
            if not (srv.conf.agent_check and srv.conf.agent_port):
                return "" if not enable else "Agent was not configured on this server, cannot enable.\n"
            srv.agent_enabled = enable
            return ""
        return ""

    def cmd_set_maxconn_server(self, spec: str, val: str) -> str:
        _be, srv, err = self.find_server(spec)
        if err:
            return err
        if not val:
            return "Require <maxconn>.\n"
        v, rest = _strtol(val)
        if rest == val:
            return "maxconn string empty or preceded by garbage"  # 2.6: no newline of its own
        if rest:
            return "Trailing garbage in maxconn string"
        self.state.ops.set_server_maxconn(srv, v)
        return ""

    def cmd_set_maxconn_frontend(self, name: str, val: str) -> str:
        fe = self.find_frontend(name)
        if not name:
            return "A frontend name is expected.\n"
        if fe is None:
            return "No such frontend.\n"
        if not val:
            return "Integer value expected.\n"
        v = _strtol(val)[0]  # atoi(): trailing text ignored, none parsed is 0
        if v < 0:
            return "Value out of range.\n"
        self.state.ops.set_frontend_maxconn(fe, v)
        return ""

    def cmd_set_maxconn_global(self, val: str) -> str:
        st = self.state
        if not val:
            return "Expects an integer value.\n"
        v = _strtol(val)[0]  # atoi()
        if v > st.hard_maxconn:
            return "Value out of range.\n"
        st.ops.set_global_maxconn(v if v > 0 else st.hard_maxconn)
        return ""

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
        # the engine enforces no process-wide rate limit: refused rather than stored and ignored
        return self.refuse(f"set rate-limit {a[2]} global")

    def cmd_set_timeout(self, what: str, val: str) -> str:
        if what != "cli":
            return "'set timeout' only supports 'cli'.\n"
        if not val:
            return "Expects an integer value.\n"
        v, rest = _strtol(val)
        if rest == val or v < 0 or rest not in ("", "s", "ms", "m", "h", "d", "us"):
            return "Invalid timeout value.\n"
        mult = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0, "d": 86400.0, "us": 1e-6}[rest]
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
        kill = st.ops.shutdown_session
        if what == "session":
            if not a[2]:
                return "Session pointer expected (use 'show sess').\n"
            want = a[2].lower()
            for s in list(st.sessions):
                if hex(self._sess_id(s)) == want:
                    kill(s)
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
                kill(s)
            return ""
        if what == "frontend":
            fe = self.find_frontend(a[2])
            if not a[2]:
                return "A frontend name is expected.\n"
            if fe is None:
                return "No such frontend.\n"
            if fe.stopped:
                return "Frontend was already shut down.\n"
            st.ops.stop_frontend(fe)
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
            return "No such backend."  # 2.6: no empty line after this one
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
        """2.6 ends every ``del server`` reply with its text's own newline only (no empty line)."""
        return self._del_server(spec).removesuffix("\n")

    def _del_server(self, spec: str) -> str:
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

    def cmd_mode(self, mode: str, arg: str) -> str:
        """``experimental-mode [on|...]``: shown, or set (``on``) or cleared (any other word), for
        this session. ``expert-mode`` stays off: its commands are not implemented (shown, kept
        off, refused on)."""
        if mode == "experimental-mode":
            if not arg:
                return f"{mode} is {'ON' if self.experimental else 'OFF'}\n"
            self.experimental = arg == "on"
            return ""
        if not arg:
            return f"{mode} is OFF\n"
        if arg == "on":
            return self.refuse(f"{mode} on")
        return ""


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


def _fqdn(s: Any) -> str:
    """A server resolved by a ``resolvers`` section shows its name in srv_fqdn, as in 2.6 (for an
    SRV record's server: the record's target, none while it has no record)."""
    from haproxy_py.config.resolvers import configured_fqdn, resolvers_of

    if not resolvers_of(s.conf):
        return ""
    name = configured_fqdn(s.conf)
    return s.dns_fqdn if name.startswith("_") else name


def _srvrecord(s: Any) -> str:
    from haproxy_py.config.resolvers import configured_fqdn, resolvers_of

    name = configured_fqdn(s.conf) if resolvers_of(s.conf) else ""
    return name if name.startswith("_") else ""


def _agent_state(s: Any) -> int:
    """srv_agent_state: 2.6's check state bits of the agent (configured 0x2, enabled 0x4, agent 0x10)."""
    if not (s.conf.agent_check and s.conf.agent_port):
        return 0
    return 0x12 | (0x4 if s.agent_enabled else 0) | (0x1 if s.agent_running else 0)


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
        # 2.6 shows 0 for a server that started without an address (init-addr none), even once resolved
        health = 0 if s.conf.no_addr else s.health
    result = 3 if cst in _PASSED else 4 if cst == "L7OKC" else 2 if cst in _FAILED else 0
    since = max(0, int(wall - s.last_change))
    sforced = 1 if s.conf.id is not None else 0
    return " ".join(str(x) for x in (
        be.uuid, be.name, s.puid, s.name, s.host or "-", SRV_OP.get(s.state, 0), admin, s.uweight, s.iweight,
        since, CHECK_STATUS_NUM.get(cst, 0), result, health, chk_state, _agent_state(s), bforced, sforced,
        ov.get("fqdn") or _fqdn(s) or "-", s.port, _srvrecord(s) or "-", 1 if ov.get("ssl") == "on" else 0,
        ov.get("check-port", s.conf.check_port or 0), ov.get("check-addr") or "-", ov.get("agent-addr") or s.agent_host or "-",
        ov.get("agent-port", s.conf.agent_port or 0)))


def _dump_char(b: int) -> str:
    if b == 13:
        return "\\r"
    if b == 10:
        return "\\n"
    if b == 0x5C:
        return "\\\\"
    if b == 9:
        return "\\t"
    if b == 0x1B:
        return "\\e"
    if 32 <= b < 127:
        return chr(b)
    return f"\\x{b:02X}"


def hexdump_lines(buf: bytes) -> list[str]:
    """``show errors`` dump as 2.6 prints it: one line per input line, its offset then the escaped
    bytes, each output line at most 79 characters; a longer input line goes on in lines whose
    offset is followed by '+' instead of a space."""
    out = []
    pos = 0
    bol = 0
    n = len(buf)
    while pos < n:
        line = f"  {pos:05d}{' ' if pos == bol else '+'} "
        width = len(line)
        parts = [line]
        while pos < n:
            text = _dump_char(buf[pos])
            # 2.6 stops the line when the escaped byte would pass the 79th column
            if width + len(text) > 79:
                break
            parts.append(text)
            width += len(text)
            pos += 1
            if buf[pos - 1] == 10:
                bol = pos
                break
        out.append("".join(parts) + "\n")
    return out


# ====================================================================== the command table

Handler = Callable[["Cli", "Call"], "str | None"]


class Call:
    """One command as its handler sees it: the words (``a`` padded with empty words), the
    session's level, the monotonic and wall clocks."""

    __slots__ = ("w", "a", "lvl", "now", "wall")

    def __init__(self, w: list[str], lvl: int, now: float, wall: float) -> None:
        self.w = w
        self.a = w + [""] * 6
        self.lvl = lvl
        self.now = now
        self.wall = wall


@dataclass(frozen=True, slots=True)
class Command:
    """One runtime-API command: what it matches, what ``help`` says, who may run it, what runs."""

    #: the words the command starts with (HAProxy 2.6's keyword, as ``haproxy -dKall`` lists it)
    words: tuple[str, ...]
    #: (synopsis, description) as 2.6's ``help`` prints them; None: 2.6 does not list it
    help: tuple[str, str] | None
    #: USER, OPERATOR or ADMIN: a session below it gets "Permission denied" (2.6's level)
    level: int
    #: None: a 2.6 command haproxy-py does not implement (answered with the refusal)
    handler: Handler | None = None
    #: the test that exercises it at runtime ("tests/x.py::test_y"); implemented rows only
    test: str = ""
    #: a master-CLI command (engine/workers.py): unknown on a stats socket, as in 2.6
    master: bool = False
    #: runs (and ``help`` lists it) only once the session said ``experimental-mode on``
    experimental: bool = False

    @property
    def name(self) -> str:
        return " ".join(self.words)


def _row(words: str, synopsis: str | None, description: str, level: int, handler: Handler | None = None,
         test: str = "", master: bool = False, experimental: bool = False) -> Command:
    return Command(tuple(words.split(" ")), None if synopsis is None else (synopsis, description), level,
                   handler, test, master, experimental)


def _bind_fixed(words: str, bare: str | None, with_args: str | None = None) -> Handler:
    """A command whose 2.6 reply does not depend on state haproxy-py can have (no maps, ACL files,
    stick tables, SSL stores, caches, peers, traces): ``bare`` without arguments, ``with_args``
    after them (``{0}``: the first argument); None as ``with_args``: that form is refused (it
    would act on such an object)."""
    n = len(words.split(" "))

    def handler(cli: Cli, c: Call) -> str:
        if len(c.w) == n:
            return bare or ""
        if with_args is None:
            return cli.refuse(words)
        return with_args.format(c.w[n]) if "{0}" in with_args else with_args

    return handler


def _get_var(cli: Cli, c: Call) -> str:
    """``get var <name>``: a process-scope variable (samples/procvars.py get_var_reply, which
    the engine hands the state)."""
    reply = getattr(cli.state, "get_var_reply", None)
    return reply(c.w[2:3]) if reply is not None else "Variable not found.\n"


def _set_var(cli: Cli, c: Call) -> str:
    """``set var``: a process-scope variable from an expression or a format (samples/procvars.py
    set_var_reply, which the engine hands the state); operator level, checked after the mode."""
    if c.lvl < OPERATOR:
        return DENIED
    reply = getattr(cli.state, "set_var_reply", None)
    return reply(c.w[2:]) if reply is not None else cli.refuse("set var")


def _show_cache(cli: Cli, c: Call) -> str:
    """Each cache section and its live objects (http/cache.py Caches.show); the addresses are
    made up."""
    caches = cli.state.caches
    return "" if caches is None else str(caches.show(int(c.wall)))


def _show_peers(cli: Cli, c: Call) -> str:
    """The running peers sections as 2.6 dumps them (haproxy_py/stick/peersshow.py)."""
    from haproxy_py.stick.peersshow import show_peers

    return show_peers(cli.state.peer_syncs, c.w[2:], int(c.now * 1000), cli.state.start_wall)


def _show_events(cli: Cli, c: Call) -> str | None:
    """The sink list, or what a ring holds: buf0 (the debug converter's lines) or a ``ring``
    section's (log/ring.py); -w (waiting for new lines) is not implemented."""
    from haproxy_py.log.ring import RINGS
    from haproxy_py.log.sink import BUF0, SINKS

    if len(c.w) == 2:
        return cli_static.SHOW_EVENTS + "".join(f"    {r.conf.name:<10} : type=buffer, 0 dropped, "
                                                f"{r.conf.description}\n" for r in RINGS.values())
    sink, opts = c.w[2], c.w[3:]
    if sink not in SINKS and sink not in RINGS:
        return "No such event sink"  # 2.6 ends this one without the empty line
    if "-w" in opts:
        return cli.refuse("show events")
    if "-n" in opts:  # only lines to come: without -w 2.6 answers the empty line alone
        return ""
    if sink in RINGS:
        return RINGS[sink].dump()
    if sink != "buf0":
        return ""
    return "".join(line + "\n" for line in BUF0)


def _dynamic_cookie(cli: Cli, c: Call) -> str:
    """``enable|disable dynamic-cookie backend BK``, ``set dynamic-cookie-key backend BK KEY``:
    2.6's argument checks, then the servers' dynamic cookies computed again (or dropped); no reply
    text."""
    a = c.a
    if not a[3]:
        return "A backend name is expected.\n"
    be = cli.find_backend(a[3])
    if be is None:
        return "No such backend.\n"
    if a[0] == "set":
        if not a[4]:
            return "String value expected.\n"
        be.dyncookie_key = a[4]
        be.set_dyncookies()
    elif a[0] == "enable":
        be.dyncookie = True
        be.set_dyncookies()
    else:
        be.clear_dyncookies()
    return ""


def _pat(verb: str, kind: str) -> Handler:
    """``verb map|acl ...`` over the pattern references (stats/patcmds.py)."""
    n = 2

    def handler(cli: Cli, c: Call) -> str | None:
        return pat_command(cli.state, verb, kind, c.w[n:])

    return handler


def _table_cmd(verb: str) -> Handler:
    """``show|clear|set table ...`` on the live stick tables (haproxy_py/stick/cli.py)."""

    def handler(cli: Cli, c: Call) -> str:
        from haproxy_py.stick import cli as stk

        tables = getattr(cli.state, "tables", {})
        now = int(c.now * 1000)
        view = getattr(cli.state, "table_view", None)
        if view is not None and verb == "show":  # several workers: every one's data merged
            tables = view(now)
        if verb == "show":
            return stk.show_table(tables, c.w[2:], now, c.lvl >= OPERATOR)
        if verb == "clear":
            return stk.clear_table(tables, c.w[2:], now, c.lvl >= OPERATOR)
        return stk.set_table(tables, c.w[2:], now, c.lvl >= OPERATOR)

    return handler


def _set_server(cli: Cli, c: Call) -> str:
    return cli.cmd_set_server(c.a, c.now, c.wall)


_UNIT = "tests/unit/test_stats_commands.py::"
_TABLE = "tests/unit/test_cli_table.py::"
_SOCAT = "tests/clients/test_socat.py::"
_RT = "tests/integration/test_runtime_changes.py::"
_OPS = "tests/integration/test_cli_engine_ops.py::"
_DIFF = "tests/differential/test_cli_levels.py::"
_STATS_DIFF = "tests/differential/test_stats_vs_haproxy.py::"
_DYNCK_T = "tests/integration/test_dynamic_cookie_vs_haproxy.py::test_dynamic_cookie_cli_as_haproxy"
_MASTER = "tests/integration/test_process_master.py::test_master_reload_by_sigusr2_keeps_sockets_state_and_pid"
_MCLI = "tests/differential/test_master_cli_vs_haproxy.py::test_master_cli_lines_as_haproxy"
def _show_ssl_cert(cli: Cli, c: Call) -> str:
    """``show ssl cert [NAME|*NAME]``: the certificate files the TLS listeners loaded (tls/certs.py),
    the ongoing transaction's first."""
    from haproxy_py.tls.certs import show_cert, show_cert_list

    st = cli.state
    if len(c.w) > 3:
        return show_cert(st.config, c.w[3], st.tls_certs, st.tls_tx)
    return show_cert_list(st.config, st.tls_certs, st.tls_tx)


#: what 'set ssl cert NAME.EXT' replaces in NAME's store (2.6's extra files); no extension: the PEM
_CERT_EXTS = (".key", ".ocsp", ".issuer", ".sctl")


def _set_ssl_cert(cli: Cli, c: Call) -> str:
    """``set ssl cert NAME <<`` + a PEM payload: the (one) transaction replacing a file the
    listeners loaded; ``NAME.key|.ocsp|.issuer|.sctl``: one of its extra files."""
    import dataclasses

    from haproxy_py.tls import certs as tc

    usage = "'set ssl cert expects a filename and a certificate as a payload\n"
    if len(c.w) < 4 or cli.payload is None:
        return usage
    name = c.w[3]
    st = cli.state
    ext = next((x for x in _CERT_EXTS if name.endswith(x) and len(name) > len(x)), "")
    base = name[:-len(ext)] if ext else name
    tx = next(iter(st.tls_tx), None)
    if tx is not None and tx != base:
        # 2.6's refusal (2.6.12 gives it only with ssl-load-extra-del-ext: see README)
        return f"The ongoing transaction is about '{tx}' but you are trying to set '{base}'\nCan't update {name}!\n"
    old = st.tls_tx.get(base) or tc.loaded_certs(st.config, st.tls_certs).get(base)
    if old is None:
        return f"Can't replace a certificate which is not referenced by the configuration!\nCan't update {name}!\n"
    try:
        if ext == ".key":
            new = tc.key_from_payload(base, cli.payload, old)
        elif ext == ".ocsp":
            new = tc.ocsp_from_payload(cli.payload, old)
        elif ext == ".issuer":
            new = tc.issuer_from_payload(base, cli.payload, old)
        elif ext == ".sctl":
            sctl = _sctl_payload(cli.payload)
            if sctl is None:
                return f"Can't load the payload\nCan't update {name}!\n"
            new = dataclasses.replace(old, sctl=sctl)
        else:
            new = tc.cert_from_payload(name, cli.payload, old, st.config.tls_issuers)
    except tc.CertError as e:
        if ext == ".ocsp":  # 2.6 ends its message with no line end
            return f"{e}Can't load the payload\nCan't update {name}!\n"
        return f"{e}\nCan't load the payload\nCan't update {name}!\n"
    st.tls_tx = {base: new}
    return f"Transaction {'updated' if tx is not None else 'created'} for certificate {base}!\n"


def _sctl_payload(payload: str) -> bytes | None:
    """A 'set ssl cert NAME.sctl' payload: an SCT list as a .sctl file holds it, in base64 (2.6.12
    reads the payload as a string up to its first NUL, and every SCT starts with one: it can load
    none; base64, as its .ocsp payloads, carries the binary list), checked as 2.6 checks a .sctl
    file; None when it is not one."""
    import base64
    import binascii

    from haproxy_py.tls.certs import sctl_ok

    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if sctl_ok(data) else None


def _commit_ssl_cert(cli: Cli, c: Call) -> str:
    """``commit ssl cert NAME``: the transaction's store replaces NAME for new handshakes; its OCSP
    response, checked again, is stapled (2.6's warning on stderr when it is not)."""
    if len(c.w) < 4:
        return "'commit ssl cert expects a filename\n"
    name = c.w[3]
    st = cli.state
    tx = next(iter(st.tls_tx), None)
    if tx is None:
        return f"No ongoing transaction! !\nCan't commit {name}!\n"
    if tx != name:
        return f"The ongoing transaction is about '{tx}' but you are trying to set '{name}'\nCan't commit {name}!\n"
    from haproxy_py.tls.certs import CertError, cert_instances, commit_problem, loaded_certs, restaple

    cert = st.tls_tx[name]
    problem = commit_problem(cert)
    if problem is not None:
        return f"{problem}\nCan't commit {name}!\n"
    stapled = {k.ocsp_key: k.ocsp for k in loaded_certs(st.config, st.tls_certs).values() if k.ocsp_key and k.ocsp}
    stapled.update(st.tls_ocsp)
    warnings: list[str] = []
    try:
        cert = restaple(cert, stapled, warnings)
    except CertError as e:  # 2.6 ends the transaction there
        st.tls_tx = {}
        return f"Committing {name}{'.' * cert_instances(st.config, name)}\n{e}\nFailed!\n"
    try:
        st.ops.replace_certificate(cert)
    except (OSError, ValueError) as e:
        return f"Committing {name}.\n{e}\nCan't commit {name}!\n"
    for w in warnings:
        st.ops.warning(w)
    if cert.ocsp and stapled.get(cert.ocsp_key) != cert.ocsp:
        # one OCSP entry per CertID, as 2.6: the certificates sharing it staple the new response
        st.tls_ocsp[cert.ocsp_key] = cert.ocsp
        st.ops.set_ocsp_response(cert.ocsp_key, cert.ocsp)
    st.tls_tx = {}
    st.tls_certs[name] = cert
    return f"Committing {name}{'.' * cert_instances(st.config, name)}\nSuccess!\n"


def _new_ssl_cert(cli: Cli, c: Call) -> str:
    """``new ssl cert NAME``: an empty certificate store (set ssl cert fills it)."""
    from haproxy_py.tls.certs import new_cert

    if len(c.w) < 4:
        return "'new ssl cert' expects a filename\n"
    return new_cert(cli.state.config, c.w[3], cli.state.tls_certs)


def _del_ssl_cert(cli: Cli, c: Call) -> str:
    """``del ssl cert NAME``: a store nothing uses (one made by new ssl cert) is removed."""
    from haproxy_py.tls.certs import del_cert

    if len(c.w) < 4:
        return "'del ssl cert' expects a certificate name\n"
    return del_cert(cli.state.config, c.w[3], cli.state.tls_certs, cli.state.tls_tx)


def _show_ssl_ca_file(cli: Cli, c: Call) -> str:
    """``show ssl ca-file [NAME[:INDEX]]``: the CA files loaded and their certificates."""
    from haproxy_py.tls.certs import CaStore, show_ca_file, show_ca_list

    st = cli.state
    store = CaStore(st.config, st.tls_ca_new, st.tls_ca_deleted)
    if len(c.w) > 3:
        return show_ca_file(st.config, c.w[3], store, st.tls_ca_tx)
    return show_ca_list(st.config, store, st.tls_ca_tx)


def _set_ssl_ca_file(cli: Cli, c: Call) -> str:
    """``set ssl ca-file NAME <<`` + PEM certificates: the (one) transaction replacing a CA file."""
    from haproxy_py.tls.certs import CaStore, _pem_certs

    if len(c.w) < 4 or cli.payload is None:
        return "'set ssl ca-file expects a filename and CAs as a payload\n"
    name = c.w[3]
    st = cli.state
    tx = st.tls_ca_tx
    if tx is not None and tx[0] != name:
        return f"The ongoing transaction is about '{tx[0]}' but you are trying to set '{name}'\nCan't update {name}!\n"
    if name not in CaStore(st.config, st.tls_ca_new, st.tls_ca_deleted).used:
        return f"Can't replace a CA file which is not referenced by the configuration!\nCan't update {name}!\n"
    blocks = _pem_certs(cli.payload)
    if not blocks:
        return f"Invalid payload\nCan't update {name}!\n"
    st.tls_ca_tx = (name, blocks)
    return f"transaction {'updated' if tx is not None else 'created'} for CA {name}!\n"


def _commit_file_tx(cli: Cli, c: Call, kind: str, count: Callable[[str], int],
                    replace: Callable[[str, str], None]) -> str:
    """``commit ssl ca-file|crl-file NAME``: the transaction (``state.tls_KIND_tx``) replaces the
    file for new handshakes; 2.6's replies (its usage line says "ca-file" for both)."""
    if len(c.w) < 4:
        return "'commit ssl ca-file expects a filename\n"
    name = c.w[3]
    st = cli.state
    tx = getattr(st, f"tls_{kind}_tx")
    if tx is None:
        return f"No ongoing transaction! !\nCan't commit {name}!\n"
    if tx[0] != name:
        return f"The ongoing transaction is about '{tx[0]}' but you are trying to set '{name}'\nCan't commit {name}!\n"
    n = count(name)
    try:
        replace(name, "".join(tx[1]))
    except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
        return f"Committing {name}\n{e}\nCan't commit {name}!\n"
    getattr(st, f"tls_{kind}_new")[name] = tx[1]
    setattr(st, f"tls_{kind}_tx", None)
    return f"Committing {name}{'.' * n}\nSuccess!\n"


def _abort_file_tx(cli: Cli, c: Call, kind: str) -> str:
    """``abort ssl ca-file|crl-file NAME``: the transaction (``state.tls_KIND_tx``) is dropped."""
    if len(c.w) < 4:
        return f"'abort ssl {kind}-file' expects a filename\n"
    name = c.w[3]
    st = cli.state
    tx = getattr(st, f"tls_{kind}_tx")
    if tx is None:
        return "No ongoing transaction!\n"
    if tx[0] != name:
        return f"The ongoing transaction is about '{tx[0]}' but you are trying to abort a transaction for '{name}'\n"
    setattr(st, f"tls_{kind}_tx", None)
    return f"Transaction aborted for certificate '{name}'!\n"


def _commit_ssl_ca_file(cli: Cli, c: Call) -> str:
    """``commit ssl ca-file NAME``: new handshakes of the listeners and servers using it verify
    against the transaction's certificates."""
    from haproxy_py.tls.certs import CaStore

    st = cli.state
    return _commit_file_tx(cli, c, "ca",
                           lambda name: CaStore(st.config, st.tls_ca_new, st.tls_ca_deleted).instances(st.config, name),
                           lambda name, text: st.ops.replace_ca_file(name, text))


def _abort_ssl_ca_file(cli: Cli, c: Call) -> str:
    return _abort_file_tx(cli, c, "ca")


def _new_ssl_ca_file(cli: Cli, c: Call) -> str:
    """``new ssl ca-file NAME``: an empty CA file in the store."""
    from haproxy_py.tls.certs import new_ca_file

    if len(c.w) < 4:
        return "'new ssl ca-file' expects a filename\n"
    return new_ca_file(cli.state.config, c.w[3], cli.state.tls_ca_new, cli.state.tls_ca_deleted)


def _del_ssl_ca_file(cli: Cli, c: Call) -> str:
    """``del ssl ca-file NAME``: a CA file no certificate instance uses leaves the store."""
    from haproxy_py.tls.certs import del_ca_file

    if len(c.w) < 4:
        return "'del ssl ca-file' expects a CA file name\n"
    return del_ca_file(cli.state.config, c.w[3], cli.state.tls_ca_new, cli.state.tls_ca_deleted)


def _abort_ssl_cert(cli: Cli, c: Call) -> str:
    if len(c.w) < 4:
        return "'abort ssl cert' expects a filename\n"
    name = c.w[3]
    tx = next(iter(cli.state.tls_tx), None)
    if tx is None:
        return "No ongoing transaction!\n"
    if tx != name:
        return f"The ongoing transaction is about '{tx}' but you are trying to abort a transaction for '{name}'\n"
    cli.state.tls_tx = {}
    return f"Transaction aborted for certificate '{name}'!\n"


def _crl_store(cli: Cli) -> Any:
    from haproxy_py.tls.crl import CrlStore

    st = cli.state
    return CrlStore(st.config, st.tls_crl_new, st.tls_crl_deleted)


def _show_ssl_crl_file(cli: Cli, c: Call) -> str:
    """``show ssl crl-file [NAME[:INDEX]]``: the CRL files and their CRLs (tls/crl.py)."""
    from haproxy_py.tls.crl import show_crl_file, show_crl_list

    if len(c.w) > 3:
        return show_crl_file(c.w[3], _crl_store(cli), cli.state.tls_crl_tx)
    return show_crl_list(_crl_store(cli), cli.state.tls_crl_tx)


def _new_ssl_crl_file(cli: Cli, c: Call) -> str:
    from haproxy_py.tls.crl import new_crl_file

    if len(c.w) < 4:
        return "'new ssl crl-file' expects a filename\n"
    st = cli.state
    return new_crl_file(_crl_store(cli), c.w[3], st.tls_crl_new, st.tls_crl_deleted)


def _del_ssl_crl_file(cli: Cli, c: Call) -> str:
    from haproxy_py.tls.crl import del_crl_file

    if len(c.w) < 4:
        return "'del ssl crl-file' expects a CRL file name\n"
    st = cli.state
    return del_crl_file(st.config, _crl_store(cli), c.w[3], st.tls_crl_new, st.tls_crl_deleted)


def _set_ssl_crl_file(cli: Cli, c: Call) -> str:
    """``set ssl crl-file NAME <<`` + PEM CRLs: the (one) transaction replacing a CRL file."""
    from haproxy_py.tls.crl import set_crl_file

    if len(c.w) < 4 or cli.payload is None:
        return "'set ssl crl-file expects a filename and CRLs as a payload\n"
    st = cli.state
    reply, st.tls_crl_tx = set_crl_file(_crl_store(cli), c.w[3], cli.payload, st.tls_crl_tx)
    return reply


def _commit_ssl_crl_file(cli: Cli, c: Call) -> str:
    """``commit ssl crl-file NAME``: new handshakes of the listeners and servers using it check
    the peer's certificate against the transaction's CRLs."""
    return _commit_file_tx(cli, c, "crl", lambda name: _crl_store(cli).instances(name),
                           lambda name, text: cli.state.ops.replace_crl_file(name, text))


def _abort_ssl_crl_file(cli: Cli, c: Call) -> str:
    return _abort_file_tx(cli, c, "crl")


_CRL_T = "tests/integration/test_tls_runtime2_vs_haproxy.py::test_crl_file_changed_at_run_time_as_haproxy"


_SSL_CERT_T = "tests/integration/test_tls_vs_haproxy.py::test_certificate_changed_at_run_time_as_haproxy"
_TKEYS_T = "tests/integration/test_tls_ticket_keys_vs_haproxy.py::test_cli_tls_keys_as_haproxy"
_CRT_LIST_T = "tests/integration/test_tls_bind_vs_haproxy.py::"


def show_ocsp(config: Any, store: Any, args: list[str], updated: dict[bytes, bytes] | None = None) -> str:
    from haproxy_py.tls.certs import show_ocsp as show

    return show(config, store, args, updated)


def _tls_keys(verb: str) -> Handler:
    """``show tls-keys [id|*]`` / ``set ssl tls-key <id|file> <key>``: the key rings of the
    tls-ticket-keys files (tls/ticketkeys.py), whose tickets the listeners make and read with the
    ring as it is now (a worker of several replays the set line on its own rings)."""
    from haproxy_py.tls import ticketkeys

    def handler(cli: Cli, c: Call) -> str:
        rings = ticketkeys.rings(cli.state.config)
        if verb == "show":
            return ticketkeys.show(rings, c.w[2:3])
        return ticketkeys.set_key(rings, c.w[3:5])

    return handler


def _set_ssl_ocsp_response(cli: Cli, c: Call) -> str:
    """``set ssl ocsp-response BASE64`` or ``<<`` + base64 lines: new handshakes of the
    certificates with that CertID staple the new response."""
    from haproxy_py.tls.certs import set_ocsp

    if cli.payload is not None:  # 2.6 drops the payload's CR and LF
        text = cli.payload.replace("\r", "").replace("\n", "")
    elif len(c.w) > 3:
        text = c.w[3]
    else:
        return "'set ssl ocsp-response' expects response in base64 encoding.\n"
    st = cli.state
    reply, key, der = set_ocsp(st.config, st.tls_certs, text)
    if key:
        st.tls_ocsp[key] = der
        st.ops.set_ocsp_response(key, der)
    return reply


def _crt_lists(cli: Cli) -> dict[str, Any]:
    """The crt-lists as the runtime API changed them (tls/crtlist.py), read from the configuration
    the first time."""
    st = cli.state
    if st.tls_lists is None:
        from haproxy_py.tls.crtlist import crt_lists

        st.tls_lists = crt_lists(st.config)
    return st.tls_lists


def _show_crt_list(cli: Cli, c: Call) -> str:
    from haproxy_py.tls.crtlist import show_crt_list

    return show_crt_list(_crt_lists(cli), c.w[3:])


def _add_crt_list(cli: Cli, c: Call) -> str:
    from haproxy_py.tls.certs import loaded_certs
    from haproxy_py.tls.crtlist import add_entry, list_binds

    st = cli.state
    lists = _crt_lists(cli)
    binds = list_binds(st.config, c.w[3]) if len(c.w) > 3 else 1
    reply, entry = add_entry(lists, loaded_certs(st.config, st.tls_certs), c.w, cli.payload, binds)
    if entry is not None:
        lists[entry.list_path] = [*lists[entry.list_path], entry]
        st.ops.set_crt_list(entry.list_path, lists[entry.list_path])
    return reply


def _del_crt_list(cli: Cli, c: Call) -> str:
    from haproxy_py.tls.crtlist import del_entry

    st = cli.state
    lists = _crt_lists(cli)
    reply, entry = del_entry(st.config, lists, c.w)
    if entry is not None:
        lists[entry.list_path] = [e for e in lists[entry.list_path] if e is not entry]
        st.ops.set_crt_list(entry.list_path, lists[entry.list_path])
    return reply


_FIXED_T = _DIFF + "test_fixed_replies_as_2_6"
_SSL_STORE_T = "tests/integration/test_tls_cli_vs_haproxy.py::test_ssl_store_commands_as_haproxy"
_STK_T = "tests/differential/test_stick_vs_haproxy.py::"
_PAT_T = "tests/differential/test_maps_runtime_vs_haproxy.py::test_generated_map_and_acl_operations"
_UM, _UA, _NT = cli_static.UNKNOWN_MAP, cli_static.UNKNOWN_ACL, cli_static.NO_TABLE

#: every command HAProxy 2.6.12 registers (``haproxy -dKall``), with its 2.6 help line and level
COMMANDS: tuple[Command, ...] = (
    # -- SSL stores (haproxy-py has no SSL): usage replies as 2.6 gives them without arguments
    _row("abort ssl ca-file", "abort ssl ca-file <cafile>", "abort a transaction for a CA file", ADMIN,
         _abort_ssl_ca_file, _SSL_STORE_T),
    _row("abort ssl cert", "abort ssl cert <certfile>", "abort a transaction for a certificate file", ADMIN,
         _abort_ssl_cert, _SSL_CERT_T),
    _row("abort ssl crl-file", "abort ssl crl-file <crlfile>", "abort a transaction for a CRL file", ADMIN,
         _abort_ssl_crl_file, _CRL_T),
    _row("add acl", "add acl [@<ver>] <acl> <pattern>", "add an acl entry", USER,
         _pat("add", "acl"), _PAT_T),
    _row("add map", "add map [@<ver>] <map> <key> <val>", "add a map entry (payload supported instead of key/val)",
         USER, _pat("add", "map"), _PAT_T),
    _row("add server", "add server <bk>/<srv>", "create a new server", ADMIN,
         lambda cli, c: cli.cmd_add_server(c.w[2:], c.now, c.wall), _UNIT + "test_add_and_del_server"),
    _row("add ssl crt-list", "add ssl crt-list <list> <cert> [opts]*",
         "add to crt-list file <list> a line <cert> or a payload", ADMIN,
         _add_crt_list, _CRT_LIST_T + "test_crt_list_changed_at_run_time_as_haproxy"),
    _row("clear acl", "clear acl [@<ver>] <acl>", "clear the contents of this acl", USER,
         _pat("clear", "acl"), _PAT_T),
    _row("clear counters", "clear counters [all]", "clear max statistics counters (or all counters)", OPERATOR,
         lambda cli, c: cli.cmd_clear(c.a[2], c.lvl), _UNIT + "test_clear_counters_all"),
    _row("clear map", "clear map [@<ver>] <map>", "clear the contents of this map", USER,
         _pat("clear", "map"), _PAT_T),
    _row("clear table", "clear table <table> [<filter>]*", "remove an entry from a table (filter: data/key)", USER,
         _table_cmd("clear"), _STK_T + "test_cli_table_commands_as_haproxy"),
    _row("commit acl", "commit acl @<ver> <acl>", "commit the ACL at this version", USER,
         _pat("commit", "acl"), _PAT_T),
    _row("commit map", "commit map @<ver> <map>", "commit the map at this version", USER,
         _pat("commit", "map"), _PAT_T),
    _row("commit ssl ca-file", "commit ssl ca-file <cafile>", "commit a CA file", ADMIN,
         _commit_ssl_ca_file, _SSL_STORE_T),
    _row("commit ssl cert", "commit ssl cert <certfile>", "commit a certificate file", ADMIN,
         _commit_ssl_cert, _SSL_CERT_T),
    _row("commit ssl crl-file", "commit ssl crl-file <crlfile>", "commit a CRL file", ADMIN,
         _commit_ssl_crl_file, _CRL_T),
    *(_row(f"debug dev {w}", None, "", USER) for w in (  # expert mode only in 2.6
        "bug", "check", "close", "delay", "exit", "fd", "hex", "log", "loop", "panic", "sched", "stream", "sym",
        "tkill", "warn", "write")),
    _row("del acl", "del acl <acl> [<key>|#<ref>]", "delete acl entries matching <key>", USER,
         _pat("del", "acl"), _PAT_T),
    _row("del map", "del map <map> [<key>|#<ref>]", "delete map entries matching <key>", USER,
         _pat("del", "map"), _PAT_T),
    _row("del server", "del server <bk>/<srv>", "remove a dynamically added server", ADMIN,
         lambda cli, c: cli.cmd_del_server(c.a[2]), _UNIT + "test_add_and_del_server"),
    _row("del ssl ca-file", "del ssl ca-file <cafile>", "delete an unused CA file", ADMIN,
         _del_ssl_ca_file, _SSL_STORE_T),
    _row("del ssl cert", "del ssl cert <certfile>", "delete an unused certificate file", ADMIN,
         _del_ssl_cert, _SSL_STORE_T),
    _row("del ssl crl-file", "del ssl crl-file <crlfile>", "delete an unused CRL file", ADMIN,
         _del_ssl_crl_file, _CRL_T),
    _row("del ssl crt-list", "del ssl crt-list <list> <cert[:line]>", "delete a line <cert> from crt-list file <list>",
         ADMIN, _del_crt_list, _CRT_LIST_T + "test_crt_list_changed_at_run_time_as_haproxy"),
    _row("disable agent", "disable agent", "disable agent checks", ADMIN,
         lambda cli, c: cli.cmd_enable_disable(False, "agent", c.a[2], c.now, c.wall),
         "tests/differential/test_agent_check_vs_haproxy.py::test_agent_cli_commands_as_haproxy"),
    _row("disable dynamic-cookie backend", "disable dynamic-cookie backend <bk>",
         "disable dynamic cookies on a specific backend", ADMIN, _dynamic_cookie, _DYNCK_T),
    _row("disable frontend", "disable frontend <frontend>", "temporarily disable specific frontend", ADMIN,
         lambda cli, c: cli.cmd_enable_disable(False, "frontend", c.a[2], c.now, c.wall),
         _RT + "test_disable_frontend_refuses_connections"),
    _row("disable health", "disable health", "disable health checks", ADMIN,
         lambda cli, c: cli.cmd_enable_disable(False, "health", c.a[2], c.now, c.wall),
         _UNIT + "test_states_and_servers_state"),
    _row("disable server", "disable server (DEPRECATED)", "disable a server for maintenance (use 'set server' instead)",
         ADMIN, lambda cli, c: cli.cmd_enable_disable(False, "server", c.a[2], c.now, c.wall),
         _RT + "test_server_taken_out_and_back"),
    _row("enable agent", "enable agent", "enable agent checks", ADMIN,
         lambda cli, c: cli.cmd_enable_disable(True, "agent", c.a[2], c.now, c.wall),
         "tests/differential/test_agent_check_vs_haproxy.py::test_agent_cli_commands_as_haproxy"),
    _row("enable dynamic-cookie backend", "enable dynamic-cookie backend <bk>",
         "enable dynamic cookies on a specific backend", ADMIN, _dynamic_cookie, _DYNCK_T),
    _row("enable frontend", "enable frontend <frontend>", "re-enable specific frontend", ADMIN,
         lambda cli, c: cli.cmd_enable_disable(True, "frontend", c.a[2], c.now, c.wall),
         _RT + "test_disable_frontend_refuses_connections"),
    _row("enable health", "enable health", "enable health checks", ADMIN,
         lambda cli, c: cli.cmd_enable_disable(True, "health", c.a[2], c.now, c.wall),
         _UNIT + "test_states_and_servers_state"),
    _row("enable server", "enable server  (DEPRECATED)", "enable a disabled server (use 'set server' instead)", ADMIN,
         lambda cli, c: cli.cmd_enable_disable(True, "server", c.a[2], c.now, c.wall),
         _RT + "test_server_taken_out_and_back"),
    _row("experimental-mode", None, "", ADMIN, lambda cli, c: cli.cmd_mode("experimental-mode", c.a[1]),
         _TABLE + "test_expert_mode_stays_off_experimental_mode_lasts_the_session"),
    _row("expert-mode", None, "", ADMIN, lambda cli, c: cli.cmd_mode("expert-mode", c.a[1]),
         _TABLE + "test_expert_mode_stays_off_experimental_mode_lasts_the_session"),
    _row("get acl", "get acl <acl> <value>", "report the patterns matching a sample for an ACL", USER,
         _pat("get", "acl"), _PAT_T),
    _row("get map", "get map <acl> <value>", "report the keys and values matching a sample for a map", USER,
         _pat("get", "map"), _PAT_T),
    _row("get var", "get var <name>", "retrieve contents of a process-wide variable", OPERATOR,
         _get_var, "tests/differential/test_proc_vars_vs_haproxy.py::test_global_set_var_and_get_var_as_haproxy"),
    _row("get weight", "get weight <bk>/<srv>", "report a server's current weight", USER,
         lambda cli, c: cli.cmd_get_weight(c.a[2]), _UNIT + "test_weight_sequence_and_quirks"),
    _row("help", "help [<command>]", "list matching or all commands", USER,
         lambda cli, c: cli.cmd_help(c.w[1:]), _TABLE + "test_help_is_generated_from_the_table"),
    _row("httpclient", None, "", USER),  # expert mode only in 2.6
    _row("mcli-debug-mode", None, "", USER, master=True),
    _row("new ssl ca-file", "new ssl ca-file <cafile>", "create a new CA file to be used in a crt-list", ADMIN,
         _new_ssl_ca_file, _SSL_STORE_T),
    _row("new ssl cert", "new ssl cert <certfile>", "create a new certificate file to be used in a crt-list or a "
         "directory", ADMIN, _new_ssl_cert, _SSL_STORE_T),
    _row("new ssl crl-file", "new ssl crlfile <crlfile>", "create a new CRL file to be used in a crt-list", ADMIN,
         _new_ssl_crl_file, _CRL_T),
    _row("operator", "operator", "lower the level of the current CLI session to operator", OPERATOR,
         lambda cli, c: cli.cmd_lower(OPERATOR, c.lvl), _UNIT + "test_lowering_level_sticks"),
    _row("prepare acl", "prepare acl <acl>", "prepare a new version for atomic ACL replacement", USER,
         _pat("prepare", "acl"), _PAT_T),
    _row("prepare map", "prepare map <acl>", "prepare a new version for atomic map replacement", USER,
         _pat("prepare", "map"), _PAT_T),
    _row("prompt", "prompt", "toggle interactive mode with prompt", USER,
         lambda cli, c: cli.cmd_prompt(), _SOCAT + "test_prompt_mode"),
    _row("quit", "quit", "disconnect", USER, lambda cli, c: cli.cmd_quit(), _UNIT + "test_semicolons_prompt_and_quit"),
    _row("reload", "reload", "reload haproxy", USER, test=_OPS + "test_master_cli_reload_and_pid_target", master=True),
    _row("set dynamic-cookie-key backend", "set dynamic-cookie-key backend <bk> <k>",
         "change a backend secret key for dynamic cookies", ADMIN, _dynamic_cookie, _DYNCK_T),
    _row("set map", "set map <map> [<key>|#<ref>] <value>", "modify a map entry", USER,
         _pat("set", "map"), _PAT_T),
    _row("set maxconn frontend", "set maxconn frontend <frontend> <value>", "change a frontend's maxconn setting",
         ADMIN, lambda cli, c: cli.cmd_set_maxconn_frontend(c.a[3], c.a[4]),
         _OPS + "test_set_maxconn_frontend_holds_new_connections"),
    _row("set maxconn global", "set maxconn global <value>", "change the per-process maxconn setting", ADMIN,
         lambda cli, c: cli.cmd_set_maxconn_global(c.a[3]), _OPS + "test_set_maxconn_global_holds_new_connections"),
    _row("set maxconn server", "set maxconn server <bk>/<srv>", "change a server's maxconn setting", ADMIN,
         lambda cli, c: cli.cmd_set_maxconn_server(c.a[3], c.a[4]), _OPS + "test_set_maxconn_server_caps_and_queues"),
    _row("set profiling", "set profiling <what> {auto|on|off}", "enable/disable resource profiling (tasks,memory)",
         ADMIN, lambda cli, c: cli.cmd_set_profiling(c.a[2], c.a[3]), _TABLE + "test_profiling_setting_is_shown"),
    _row("set rate-limit", "set rate-limit <setting> <value>", "change a rate limiting value", ADMIN,
         lambda cli, c: cli.cmd_set_rate_limit(c.a), _TABLE + "test_rate_limit_is_refused_not_ignored"),
    _row("set server", "set server <bk>/<srv> [opts]", "change a server's state, weight, address or ssl", ADMIN,
         _set_server, _RT + "test_server_taken_out_and_back"),
    _row("set severity-output", "set severity-output [none|number|string]",
         "set presence of severity level in feedback information", USER),
    _row("set ssl ca-file", "set ssl ca-file <cafile> <payload>", "replace a CA file", ADMIN,
         _set_ssl_ca_file, _SSL_STORE_T),
    _row("set ssl cert", "set ssl cert <certfile> <payload>", "replace a certificate file", ADMIN,
         _set_ssl_cert, _SSL_CERT_T),
    _row("set ssl crl-file", "set ssl crl-file <crlfile> <payload>", "replace a CRL file", ADMIN,
         _set_ssl_crl_file, _CRL_T),
    _row("set ssl ocsp-response", "set ssl ocsp-response <resp|payload>",
         "update a certificate's OCSP Response from a base64-encode DER", USER,
         _set_ssl_ocsp_response, "tests/integration/test_tls_runtime2_vs_haproxy.py::test_ocsp_response_set_at_run_time_as_haproxy"),
    _row("set ssl tls-key", "set ssl tls-key [id|file] <key>",
         "set the next TLS key for the <id> or <file> listener to <key>", USER,
         _tls_keys("set"), _TKEYS_T),
    _row("set table", "set table <table> key <k> [data.* <v>]*", "update or create a table entry's data", USER,
         _table_cmd("set"), _STK_T + "test_cli_table_commands_as_haproxy"),
    _row("set timeout", "set timeout [cli] <delay>", "change a timeout setting", USER,
         lambda cli, c: cli.cmd_set_timeout(c.a[2], c.a[3]), _UNIT + "test_semicolons_prompt_and_quit"),
    _row("set var", "set var <name> [fmt|expr] {<fmt>|<expr>}", "set variable from an expression or a format",
         USER, _set_var, "tests/differential/test_proc_vars_vs_haproxy.py::test_cli_set_var_generated_as_haproxy",
         experimental=True),
    _row("set weight", "set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)",
         ADMIN, lambda cli, c: cli.cmd_set_weight(c.a[2], c.a[3], c.now, c.wall), _RT + "test_weight_shifts_the_share"),
    _row("show acl", "show acl [@<ver>] <acl>]", "report available acls or dump an acl's contents", USER,
         _pat("show", "acl"), _PAT_T),
    _row("show activity", "show activity", "show per-thread activity stats (for support/developers)", USER),
    _row("show backend", "show backend", "list backends in the current running config", USER,
         lambda cli, c: "# name\n" + "".join(f"{px.name}\n" for px in cli.state.proxies if px.backend is not None),
         _UNIT + "test_show_variants"),
    _row("show cache", "show cache", "show cache status", ADMIN, _show_cache,
         "tests/integration/test_cache_vs_haproxy.py::test_cache_as_haproxy"),
    _row("show cli level", "show cli level", "display the level of the current CLI session", USER,
         lambda cli, c: ("user", "operator", "admin")[c.lvl] + "\n", _UNIT + "test_lowering_level_sticks"),
    _row("show cli sockets", "show cli sockets", "dump list of cli sockets", USER,
         lambda cli, c: cli.cmd_cli_sockets(), _UNIT + "test_show_variants"),
    _row("show env", "show env [var]", "dump environment variables known to the process", OPERATOR,
         lambda cli, c: cli.cmd_show_env(c.a[2]), _UNIT + "test_show_variants"),
    _row("show errors", "show errors [<px>] [request|response]",
         "report last request and/or response errors for each proxy", OPERATOR,
         lambda cli, c: cli.cmd_show_errors(c.a[2], c.a[3], c.wall), _UNIT + "test_show_errors"),
    _row("show events", "show events [<sink>] [-w] [-n]", "show event sink state", USER,
         lambda cli, c: _show_events(cli, c),
         "tests/differential/test_samples_vs_haproxy.py::test_debug_converter_vs_haproxy"),
    _row("show fd", "show fd [num]", "dump list of file descriptors in use or a specific one", OPERATOR),
    _row("show info", "show info [desc|json|typed|float]*", "report information about the running process", USER,
         lambda cli, c: cli.cmd_show_info(c.w, c.now, c.wall), _SOCAT + "test_show_info"),
    _row("show libs", "show libs", "show loaded object files and libraries", OPERATOR),
    _row("show map", "show map [@ver] [map]", "report available maps or dump a map's contents", USER,
         _pat("show", "map"), _PAT_T),
    _row("show peers", "show peers [dict|-] [section]",
         "dump some information about all the peers or this peers section", USER,
         _show_peers, "tests/integration/test_peers_runtime_vs_haproxy.py::test_show_peers_as_haproxy"),
    _row("show pools", "show pools", "report information about the memory pools usage", USER,
         lambda cli, c: cli.cmd_pools(), _FIXED_T),
    _row("show proc", "show proc", "show processes status", USER, test=_MASTER, master=True),
    _row("show profiling", "show profiling [<what>|<#lines>|byaddr]*", "show profiling state (all,status,tasks,memory)",
         ADMIN, lambda cli, c: cli.cmd_show_profiling(), _TABLE + "test_profiling_setting_is_shown"),
    _row("show resolvers", "show resolvers [id]",
         "dumps counters from all resolvers section and associated name servers", USER,
         lambda cli, c: cli.cmd_show_resolvers(c.a[2]), _UNIT + "test_show_resolvers"),
    _row("show schema json", "show schema json", "report schema used for stats", USER,
         lambda cli, c: cli_static.SCHEMA_JSON, _STATS_DIFF + "test_show_schema_json"),
    _row("show servers conn", "show servers conn [<backend>]",
         "dump server connections status (all or for a single backend)", USER,
         lambda cli, c: cli.cmd_servers_conn(c.a[3]), _FIXED_T),
    _row("show servers state", "show servers state [<backend>]",
         "dump volatile server information (all or for a single backend)", USER,
         lambda cli, c: cli.cmd_servers_state(c.a[3], c.wall), _UNIT + "test_states_and_servers_state"),
    _row("show sess", "show sess [id]", "report the list of current sessions or dump this exact session", OPERATOR,
         lambda cli, c: cli.cmd_show_sess(c.a[2], c.now), _STATS_DIFF + "test_show_sess_lines"),
    _row("show ssl ca-file", "show ssl ca-file [<cafile>[:<index>]]",
         "display the SSL CA files used in memory, or the details of a <cafile>, or a single certificate of index "
         "<index> of a CA file <cafile>", USER, _show_ssl_ca_file, _SSL_STORE_T),
    _row("show ssl cert", "show ssl cert [<certfile>]",
         "display the SSL certificates used in memory, or the details of a file", USER,
         _show_ssl_cert, "tests/integration/test_tls_vs_haproxy.py::test_show_ssl_cert_as_haproxy"),
    _row("show ssl crl-file", "show ssl crl-file [<crlfile[:<index>>]]",
         "display the SSL CRL files used in memory, or the details of a <crlfile>, or a single CRL of index <index> "
         "of CRL file <crlfile>", USER, _show_ssl_crl_file, _CRL_T),
    _row("show ssl crt-list", "show ssl crt-list [-n] [<list>]",
         "show the list of crt-lists or the content of a crt-list file <list>", ADMIN,
         _show_crt_list, _CRT_LIST_T + "test_crt_list_as_haproxy"),
    _row("show ssl ocsp-response", "show ssl ocsp-response [id]",
         "display the IDs of the OCSP responses used in memory, or the details of a single OCSP response", USER,
         lambda cli, c: show_ocsp(cli.state.config, cli.state.tls_certs, c.w[3:], cli.state.tls_ocsp),
         _CRT_LIST_T + "test_extra_files_as_haproxy"),
    _row("show ssl providers", "show ssl providers", "show loaded SSL providers", USER,
         _bind_fixed("show ssl providers", "Loaded providers : \n\t- default\n",
                     "Loaded providers : \n\t- default\n"), _FIXED_T),
    _row("show startup-logs", "show startup-logs", "report logs emitted during HAProxy startup", OPERATOR,
         lambda cli, c: cli.cmd_startup_logs(), _FIXED_T),
    _row("show stat", "show stat [desc|json|no-maint|typed|up]*", "report counters for each proxy and server", USER,
         lambda cli, c: cli.cmd_show_stat(c.w, c.lvl, c.now, c.wall), _SOCAT + "test_show_stat_counts_traffic"),
    _row("show table", "show table <table> [<filter>]*",
         "report table usage stats or dump this table's contents (filter: data/key)", USER,
         _table_cmd("show"), _STK_T + "test_cli_table_commands_as_haproxy"),
    _row("show tasks", "show tasks", "show running tasks", USER,
         lambda cli, c: cli_static.SHOW_TASKS.format(threads=cli.nbthread()), _FIXED_T),
    _row("show threads", "show threads", "show some threads debugging information", USER),
    _row("show tls-keys", "show tls-keys [id|*]", "show tls keys references or dump tls ticket keys when id specified",
         USER, _tls_keys("show"), _TKEYS_T),
    _row("show trace", "show trace [<module>]", "show live tracing state", USER,
         _bind_fixed("show trace", cli_static.SHOW_TRACE), _FIXED_T),
    _row("show version", "show version", "show version of the current process", USER,
         lambda cli, c: version_of(cli.state) + "\n", _UNIT + "test_show_variants"),
    _row("shutdown frontend", "shutdown frontend <frontend>", "stop a specific frontend", ADMIN,
         lambda cli, c: cli.cmd_shutdown("frontend", c.a), _OPS + "test_shutdown_frontend_refuses_new_connections"),
    _row("shutdown session", "shutdown session [id]", "kill a specific session", ADMIN,
         lambda cli, c: cli.cmd_shutdown("session", c.a), _UNIT + "test_sessions"),
    _row("shutdown sessions server", "shutdown sessions server <bk>/<srv>", "kill sessions on a server", ADMIN,
         lambda cli, c: cli.cmd_shutdown("sessions", c.a), _RT + "test_shutdown_sessions_server_closes_tcp_session"),
    _row("trace", "trace [<module>|0] [cmd [args...]]", "manage live tracing (empty to list, 0 to stop all)", OPERATOR,
         _bind_fixed("trace", cli_static.TRACE), _FIXED_T),
    _row("user", "user", "lower the level of the current CLI session to user", USER,
         lambda cli, c: cli.cmd_lower(USER, c.lvl), _UNIT + "test_lowering_level_sticks"),
    # -- handled before the CLI (engine/stats_socket.py, ``expose-fd listeners``); elsewhere 2.6
    #    answers nothing at all
    _row("_getsocks", None, "", USER, lambda cli, c: cli.cmd_quit(), _FIXED_T),
    # -- the master CLI's own commands (stats/mastercli.py, engine/workers.py)
    _row("@<relative pid>", "@<relative pid>", "send a command to the <relative pid> process", USER, test=_MASTER,
         master=True),
    _row("@!<pid>", "@!<pid>", "send a command to the <pid> process", USER,
         test=_OPS + "test_master_cli_reload_and_pid_target", master=True),
    _row("@master", "@master", "send a command to the master process", USER, test=_MCLI, master=True),
)

#: the words ``help`` lists last, in this order (2.6 prints them after the sorted others)
_HELP_TAIL = (("help",), ("prompt",), ("quit",))


def _help_entries(rows: tuple[Command, ...], experimental: bool = False) -> tuple[tuple[str, str], ...]:
    """``help``'s lines as 2.6 orders them: sorted by synopsis, then help, prompt, quit (the
    experimental commands only with ``experimental``)."""
    listed = [c for c in rows if c.help is not None and not c.master and (experimental or not c.experimental)]
    body = sorted((c for c in listed if c.words not in _HELP_TAIL), key=lambda c: c.help[0])  # type: ignore[index]
    tail = sorted((c for c in listed if c.words in _HELP_TAIL), key=lambda c: _HELP_TAIL.index(c.words))
    return tuple(c.help for c in body + tail)  # type: ignore[misc]


def help_line(entry: tuple[str, str]) -> str:
    return f"  {entry[0]:<40}: {entry[1]}\n"


HELP_ENTRIES: tuple[tuple[str, str], ...] = _help_entries(COMMANDS)
HELP_ENTRIES_EXPERIMENTAL: tuple[tuple[str, str], ...] = _help_entries(COMMANDS, experimental=True)

#: the 2.6 source file of each command, and the order in which 2.6 registers their commands (the
#: link order: the TLS files first), which decides between equally close suggestions
_SOURCES = {
    "ssl_sock": ("show tls-keys", "set ssl tls-key", "set ssl ocsp-response", "show ssl ocsp-response",
                 "show ssl providers"),
    "ssl_crtlist": ("add ssl crt-list", "del ssl crt-list", "show ssl crt-list"),
    "ssl_ckch": tuple(f"{v} ssl {o}" for o in ("cert", "ca-file", "crl-file")
                      for v in ("new", "set", "commit", "abort", "del", "show")),
    "stream": ("show sess", "shutdown session"),
    "stats": ("clear counters", "show info", "show stat", "show schema json"),
    "server": ("disable agent", "disable health", "disable server", "enable agent", "enable health",
               "enable server", "set maxconn server", "set server", "get weight", "set weight", "add server",
               "del server", "shutdown sessions server"),
    "stick_table": ("clear table", "set table", "show table"),
    "peers": ("show peers",),
    "resolvers": ("show resolvers",),
    "cli": ("help", "prompt", "quit", "_getsocks", "expert-mode", "experimental-mode", "operator", "user",
            "set maxconn global", "set rate-limit", "set severity-output", "set timeout", "show activity",
            "show cli level", "show cli sockets", "show env", "show fd", "show version"),
    "proxy": ("disable frontend", "enable frontend", "set maxconn frontend", "shutdown frontend", "show backend",
              "show errors", "show servers conn", "show servers state", "set dynamic-cookie-key backend",
              "enable dynamic-cookie backend", "disable dynamic-cookie backend"),
    "cache": ("show cache",),
    "http_client": ("httpclient",),
    "vars": ("get var", "set var"),
    "debug": ("show threads", "show libs"),
    "sink": ("show events",),
    "map": tuple(f"{v} {o}" for o in ("acl", "map") for v in ("add", "clear", "commit", "del", "get", "prepare",
                                                                "set", "show") if (v, o) != ("set", "acl")),
    "pool": ("show pools",),
    "trace": ("trace", "show trace"),
    "mworker": ("@<relative pid>", "@!<pid>", "@master", "mcli-debug-mode", "reload", "show proc"),
    "activity": ("set profiling", "show profiling", "show tasks"),
    "errors": ("show startup-logs",),
}
_SOURCE_RANK = {name: i * 100 + j for i, names in enumerate(_SOURCES.values()) for j, name in enumerate(names)}


def _registered(c: Command) -> int:
    """Where 2.6 registers ``c`` among the others (debug dev ... are debug.c's)."""
    return _SOURCE_RANK.get(c.name, _SOURCE_RANK["show threads"] if c.words[:2] == ("debug", "dev") else 1 << 20)


def _expert(c: Command) -> bool:
    """2.6's expert-mode commands (haproxy-py's expert-mode stays off: never visible)."""
    return c.words[:2] == ("debug", "dev") or c.words == ("httpclient",)


_REGISTERED = sorted(COMMANDS, key=_registered)
#: the commands of a stats socket's session (those of the master CLI are not), without and with
#: experimental-mode, in 2.6's registration order
VISIBLE = tuple(c for c in _REGISTERED if not c.master and not c.experimental and not _expert(c))
VISIBLE_EXPERIMENTAL = tuple(c for c in _REGISTERED if not c.master and not _expert(c))

#: 2.6 compares at most this many words of a command (CLI_PREFIX_KW_NB), and proposes at most
#: this many close ones (CLI_MAX_MATCHES)
_PREFIX_WORDS = 5
_MAX_MATCHES = 5
_TAIL_LINES = ("  help [<command>]                        : list matching or all commands\n"
               "  prompt                                  : toggle interactive mode with prompt\n"
               "  quit                                    : disconnect\n")


def usage_message(visible: tuple[Command, ...], args: list[str]) -> str:
    """2.6's reply to ``help [WORDS]`` (``args`` starts with "help") and to an unknown command
    (``args``: its words): the commands whose first words are those ``args`` matches exactly (as
    many as the best match has), or, when more words follow, the closest of those (up to five,
    by the fingerprint distance of the remaining words, none over 5/2 of the best), sorted, then
    help, prompt and quit."""
    from haproxy_py.config.diagnostics import fingerprint, fp_distance

    ishelp = bool(args) and args[0] == "help"
    if ishelp:
        args = args[1:]
    args = args[:_PREFIX_WORDS]
    n = 0
    for c in visible:
        for i, kw in enumerate(c.words[:_PREFIX_WORDS]):
            if i >= len(args) or not args[i] or kw != args[i]:
                break
            n = max(n, i + 1)
    if ishelp:
        out = [HELP_HEADER]
    elif not n and (not args or not args[0]):
        out = ["Unknown command. Please enter one of the following commands only:\n"]
    else:
        out = ["Unknown command, but maybe one of the following ones is a better match:\n"]

    def prefix_ok(c: Command) -> bool:
        return len(c.words) >= n and list(c.words[:n]) == args[:n]

    listed = [c for c in visible if c.help is not None and c.words not in _HELP_TAIL]
    chosen: list[Command] = []
    if n < len(args) and args[n]:
        rest: list[str] = []
        for a in args[n:]:
            if not a:
                break
            rest.append(a)
        mine: dict[int, int] = {}
        for a in rest:
            fingerprint(a, mine)
        alen = sum(map(len, rest))
        matches: list[tuple[int, Command]] = []
        for c in listed:
            if not prefix_ok(c):
                continue
            theirs: dict[int, int] = {}
            for kw in c.words[n:_PREFIX_WORDS]:
                fingerprint(kw, theirs)
            total = alen + sum(len(kw) for kw in c.words[n:_PREFIX_WORDS])
            d = fp_distance(mine, theirs)
            if d < 5 * total // 2 and (len(matches) < _MAX_MATCHES or d < matches[-1][0]):
                at = len(matches)
                while at and matches[at - 1][0] > d:  # after the equal ones
                    at -= 1
                matches.insert(at, (d, c))
                del matches[_MAX_MATCHES:]
        if matches:
            chosen = [c for d, c in matches if d <= 5 * matches[0][0] // 2]
    if not chosen:
        chosen = [c for c in listed if prefix_ok(c)]
    chosen.sort(key=lambda c: help_line(c.help))  # type: ignore[arg-type]
    out += [help_line(c.help) for c in chosen]  # type: ignore[arg-type]
    out.append(_TAIL_LINES)
    return "".join(out)

#: first word -> rows, longest words first (dispatch takes the first that matches)
_BY_FIRST: dict[str, list[Command]] = {}
for _c in sorted(COMMANDS, key=lambda c: -len(c.words)):
    _BY_FIRST.setdefault(_c.words[0], []).append(_c)


def lookup(w: list[str]) -> Command | None:
    """The row whose words are the longest prefix of ``w``."""
    for c in _BY_FIRST.get(w[0], ()):
        n = len(c.words)
        if len(w) >= n and tuple(w[:n]) == c.words:
            return c
    return None


#: the ``cli`` registry: every 2.6 command known, the implemented ones registered with their test
CLI: Registry[Command] = Registry("cli", "runtime API command", known=(c.name for c in COMMANDS))
for _c in COMMANDS:
    if _c.test:
        CLI.register(_c.name, _c, test=_c.test)
