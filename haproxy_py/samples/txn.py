"""The transaction every sample fetch reads: :class:`Txn` (sans-IO).

The engine builds one per request (HTTP) or per session (TCP). It carries the request and
response heads, the connection's addresses, the proxy and server names, the variables and the
times, and a :class:`Runtime` for the live facts (server counts, connection counts, rates) that
only the engine knows. ``Runtime`` is a typed :class:`typing.Protocol`: a fetch asks
``txn.runtime.nbsrv(name)``; an engine that lacks an operation is a type error, not a silent
no-op. Times are given (``now`` monotonic seconds, ``wall`` epoch seconds); nothing here reads a
clock.

Variables: scopes ``proc`` (the whole process, shared by every Txn: :data:`PROC_VARS`), ``sess``
(the client connection: the engine passes the same dict for each request of a connection),
``txn`` (this request and its response), ``req`` (the request processing: dropped when the
response is attached, as 2.6 frees them then) and ``res`` (the response processing).

Their memory, as 2.6 accounts it (``tune.vars.*-max-size``): a variable costs :data:`VAR_SIZE`
bytes plus its string, binary or unknown method's bytes. A ``req``/``res`` variable counts in
its stream's reqres, txn, session and process totals, a ``txn`` one from txn on, a ``sess`` one
from the session on, a ``check`` one (a health check's) in its check's, its check session's
and the process's totals, a ``proc`` one in the process total; a set that would take a total over its
limit fails (a variable already there keeps its name but loses its value). Every ``proc`` name
the configuration (or the CLI) mentions costs its :data:`VAR_SIZE` once, when it is read. The
process total is the whole process's: every live session's and transaction's variables are in it
until the engine releases them (:meth:`Vars.release`: end of a transaction, of a session, of
a check).
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any, Protocol

from ..http.message import RequestHead, ResponseHead
from .types import Sample

__all__ = ["Txn", "CheckTxn", "Runtime", "PROC_VARS", "VAR_SCOPES", "VAR_CONDS", "var_name_error", "Vars", "ProcVars",
           "VAR_SIZE", "release_vars"]

VAR_SCOPES = ("proc", "sess", "txn", "req", "res")

_VAR_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def var_name_error(w: str) -> str | None:
    """Why 2.6 refuses ``w`` as a variable name (None: it is one)."""
    if not w:
        return "Empty variable name cannot be accepted"
    scope, dot, rest = w.partition(".")
    if not dot or not rest or scope not in (*VAR_SCOPES, "check"):
        return (f"invalid variable name '{w}'. A variable name must be start by its scope. The scope "
                "can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'")
    for i, c in enumerate(rest):
        if c not in _VAR_CHARS:
            return f"invalid syntax at char '{rest[i:]}'"
    if scope == "proc":  # 2.6 creates a proc variable when its name is read (its memory counts)
        DECLARE[0].declare(w)
    return None


#: what 2.6 accounts for one variable (sizeof(struct var) on 64-bit Linux), its data aside
VAR_SIZE = 80

#: the methods 2.6 stores as a number (a method variable of another one keeps its bytes)
_KNOWN_METHODS = frozenset((b"OPTIONS", b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"TRACE", b"CONNECT"))


def data_size(s: Sample) -> int:
    """The bytes of a value 2.6 accounts besides the variable itself."""
    t = s.type
    if t == "str" or t == "bin":
        return len(s.value)
    if t == "meth":
        return 0 if s.value in _KNOWN_METHODS else len(s.value)
    return 0


class Vars(dict):
    """A scope's variables ("scope.name" -> Sample) and the bytes they account (only while a
    limit is set): ``size`` (a transaction's txn, req and res variables together, a session's
    own, or the process's total), ``rr`` (a transaction's req and res only), ``kids`` (a
    session's: its live transactions' ``size``). ``up``: what this one's bytes were added to
    (the process scope, and a transaction's session), until :meth:`release`."""

    __slots__ = ("size", "rr", "kids", "up")

    def __init__(self) -> None:
        super().__init__()
        self.size = 0
        self.rr = 0
        self.kids = 0
        self.up: tuple[ProcVars, Vars | None] | None = None

    def release(self) -> None:
        """The transaction or session is over (2.6 frees its variables): its bytes leave the
        totals they were in. Idempotent; also run when the dict is dropped unreleased."""
        up = self.up
        if up is None:
            return
        self.up = None
        pv, sv = up
        pv.size -= self.size
        if sv is not None:
            sv.kids -= self.size
        self.size = self.rr = 0


class _Accounted(Vars):
    """A Vars whose bytes are in the totals, released when dropped unreleased too (a Vars becomes
    one when it is first accounted: the others cost no finaliser)."""

    __slots__ = ()

    def __del__(self) -> None:
        if self.up is not None:  # a path that did not release it: the totals must not leak
            self.release()


def _accounted(d: Vars, pv: ProcVars, sv: Vars | None) -> None:
    d.up = (pv, sv)
    if type(d) is Vars:
        d.__class__ = _Accounted


def release_vars(*ds: Any) -> None:
    """:meth:`Vars.release` on each of these that is a Vars (None and plain dicts are skipped)."""
    for d in ds:
        if isinstance(d, Vars) and d.up is not None:
            d.release()


class ProcVars(Vars):
    """The process scope: its variables, the proc names declared so far (each accounted once) and
    the ``tune.vars.*-max-size`` limits (global, proc, sess, txn, reqres, check; 0: none), None
    when no limit is set."""

    __slots__ = ("declared", "limits")

    def __init__(self) -> None:
        super().__init__()
        self.declared: set[str] = set()
        self.limits: tuple[int, int, int, int, int, int] | None = None

    def declare(self, name: str) -> None:
        if name not in self.declared:
            self.declared.add(name)
            self.size += VAR_SIZE

    def install(self, other: ProcVars) -> None:
        """Take the configuration's process scope over (the engine's start)."""
        self.clear()
        self.update(other)
        self.declared = set(other.declared)
        self.size = other.size
        self.limits = other.limits
        DECLARE[0] = self


#: the process-wide variable scope
PROC_VARS = ProcVars()
#: where proc names read now are declared: the process scope, or a configuration's being built
DECLARE: list[ProcVars] = [PROC_VARS]

#: set-var's conditions (``set-var(txn.x,ifgt,...)``) as bits, in 2.6's order
VAR_CONDS = {"ifexists": 1, "ifnotexists": 2, "ifempty": 4, "ifnotempty": 8, "ifset": 16, "ifnotset": 32,
             "ifgt": 64, "iflt": 128}
_IFEXISTS, _IFNOTEXISTS, _IFEMPTY, _IFNOTEMPTY, _IFSET, _IFNOTSET, _IFGT, _IFLT = VAR_CONDS.values()

#: what a variable holds once a conditional set-var created it without setting it (2.6's type ANY):
#: it exists (``ifexists``) but has no value (``var()`` finds nothing, ``ifset`` fails)
UNSET_VAR = Sample("any", None)

#: what a variable holds once its string did not fit in a limit: 2.6 leaves it a boolean (of
#: whatever its memory held: haproxy-py says false)
_NO_ROOM = Sample("bool", False)


class Runtime(Protocol):
    """Live facts of the running process that fetches ask for. Names are proxy names and server
    names; an unknown name answers None (the fetch then finds no sample)."""

    def nbsrv(self, backend: str) -> int | None: ...
    def be_conn(self, backend: str) -> int | None: ...
    def be_conn_free(self, backend: str) -> int | None: ...
    def connslots(self, backend: str) -> int | None: ...
    def queue(self, backend: str) -> int | None: ...
    def avg_queue(self, backend: str) -> int | None: ...
    def be_sess_rate(self, backend: str, now: float) -> int | None: ...
    def fe_conn(self, frontend: str) -> int | None: ...
    def fe_req_rate(self, frontend: str, now: float) -> int | None: ...
    def fe_sess_rate(self, frontend: str, now: float) -> int | None: ...
    def srv_conn(self, backend: str, server: str) -> int | None: ...
    def srv_conn_free(self, backend: str, server: str) -> int | None: ...
    def srv_is_up(self, backend: str, server: str) -> bool | None: ...
    def srv_queue(self, backend: str, server: str) -> int | None: ...
    def srv_sess_rate(self, backend: str, server: str, now: float) -> int | None: ...
    def srv_weight(self, backend: str, server: str) -> int | None: ...
    def srv_uweight(self, backend: str, server: str) -> int | None: ...
    def srv_iweight(self, backend: str, server: str) -> int | None: ...
    def proxy_id(self, proxy: str) -> int | None: ...
    def server_id(self, backend: str, server: str) -> int | None: ...
    def stopping(self) -> bool: ...
    def proxy_timeout(self, proxy: str, name: str) -> int | None:
        """A proxy's configured ``timeout <name>`` in ms (0 when not set)."""
        ...
    def default_backend(self, frontend: str) -> str | None: ...
    def userlist(self, name: str) -> tuple[tuple[str, str, bool], ...] | None:
        """A userlist's users: (name, password or crypt(3) hash, insecure-password)."""
        ...
    def user_groups(self, userlist: str, user: str) -> tuple[str, ...]:
        """The groups of ``user`` in ``userlist``, in declaration order (none if unknown)."""
        ...
    def clock(self) -> tuple[float, float]:
        """(monotonic seconds, epoch seconds) now: a Txn built without times takes them here."""
        ...
    def pid(self) -> int: ...
    def hostname(self) -> str: ...
    def thread(self) -> int:
        """The worker's index, from 0 (2.6's thread number: nbthread N runs N workers here)."""
        ...
    def tcp_info(self, fd: int) -> tuple[int, ...] | None:
        """The kernel's TCP_INFO of a connection as 32-bit fields from ``tcpi_rto`` on (rto,
        ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets, ..., rtt at 15, rttvar
        16, reordering 20), None when unavailable."""
        ...
    def dst_conn(self, frontend: str, so_id: int) -> int | None:
        """The connections of a frontend's listener (by its id) now."""
        ...
    def fcgi_app(self, backend: str) -> tuple[bytes, bytes] | None:
        """(docroot, index) of the fcgi-app the backend uses, None without one."""
        ...
    def set_mark(self, fd: int, mark: int) -> None:
        """set-mark: SO_MARK on the client connection ``fd`` (errors ignored, as 2.6)."""
        ...
    def set_tos(self, fd: int, tos: int) -> None:
        """set-tos: IP_TOS (IPV6_TCLASS on IPv6) on the client connection ``fd``."""
        ...
    def is_local(self, ip: str) -> bool | None:
        """Whether ``ip`` is one of this host's addresses (2.6: a UDP socket can bind to it);
        None when that cannot be told."""
        ...
    def stick_table(self, name: str) -> Any:
        """The live stick table of proxy ``name`` (haproxy_py.stick.table.StickTable), or None."""
        ...


class Txn:
    """One request (or TCP session) as the samples see it.

    The first eight positional parameters are those of the former ``acl.fetch.RequestContext``
    (``req, src, src_port, dst, dst_port, runtime, frontend, backend``).
    """

    __slots__ = ("req", "_res", "src", "src_port", "dst", "dst_port", "runtime", "frontend",
                 "backend", "server", "now", "wall", "vars", "sess_vars", "proc_vars",
                 "rec", "first_req", "unique_id", "req_caps", "res_caps", "status", "pid",
                 "hostname", "so_id", "so_name", "cli_fd", "_src_ip", "_dst_ip", "uid_fmt",
                 "req_body", "req_body_size", "res_comp", "res_body", "res_body_size", "task")

    task: Any  # see the end of __init__ (never set there)

    def __init__(
        self,
        req: RequestHead | None = None,
        src: str | None = None,
        src_port: int = 0,
        dst: str | None = None,
        dst_port: int = 0,
        runtime: Runtime | None = None,
        frontend: str = "",
        backend: str = "",
        *,
        res: ResponseHead | None = None,
        server: str = "",
        now: float = 0.0,
        wall: float = 0.0,
        sess_vars: dict[str, Sample] | None = None,
        rec: Any = None,
        first_req: bool = True,
        pid: int = 0,
        hostname: str = "",
        so_id: int = 0,
        so_name: str = "",
        cli_fd: int = -1,
    ) -> None:
        self.req = req
        self._res = res
        self.src = src
        self.src_port = src_port
        self.dst = dst
        self.dst_port = dst_port
        self.runtime = runtime
        self.frontend = frontend
        #: the backend the request is in (the frontend's name until a backend is chosen)
        self.backend = backend or frontend
        self.server = server
        self.now = now
        self.wall = wall
        #: txn/req/res variables: "txn.name" -> Sample
        self.vars: dict[str, Sample] = Vars()
        self.sess_vars: dict[str, Sample] = Vars() if sess_vars is None else sess_vars
        self.proc_vars = PROC_VARS
        #: the log record of this request (log/format.py's LogRecord), when the engine has one
        self.rec = rec
        self.first_req = first_req
        self.unique_id: bytes | None = None
        #: the frontend's compiled ``unique-id-format`` (``fmt(txn) -> bytes``), None without one
        self.uid_fmt: Any = None
        #: the request body bytes the engine has (de-chunked), and its announced size: set only
        #: for a proxy whose rules read them or that waits for the body (None: not known)
        self.req_body: bytes | None = None
        self.req_body_size: int | None = None
        #: the same for the response body (http-response rules reading it, wait-for-body)
        self.res_body: bytes | None = None
        self.res_body_size: int | None = None
        #: the compression algorithm the response goes through (its configuration name), else None
        self.res_comp: str | None = None
        #: captured request / response header values (``capture request header``), or None
        self.req_caps: list[bytes | None] | None = None
        self.res_caps: list[bytes | None] | None = None
        #: status set by the rules (txn.status) or of the response
        self.status: int | None = None
        self.pid = pid
        self.hostname = hostname
        #: the listener (bind address) the connection came through: its 1-based rank among the
        #: frontend's listeners (2.6's automatic listener id) and its bind 'name' (or "")
        self.so_id = so_id
        self.so_name = so_name
        #: the client connection's socket (its kernel TCP_INFO: fc_rtt, ...), -1 when none
        self.cli_fd = cli_fd
        if runtime is not None:
            # the engine's facts give what the caller did not (times are read once, here)
            if not now and not wall:
                self.now, self.wall = runtime.clock()
            if not pid:
                self.pid = runtime.pid()
            if not hostname:
                self.hostname = runtime.hostname()
        self._src_ip: Any = None
        self._dst_ip: Any = None
        # ``task``: the stream's task profiling counters (engine/taskprof.py TaskProf), set by the
        # engine only when the configuration uses them; read with getattr (unset: None)

    def get_unique_id(self, *, final: bool = False) -> bytes | None:
        """The request's unique id: made from ``unique-id-format`` the first time something asks
        for it (the ``unique-id`` fetch in a rule, the backend stage of the request, the log line),
        then kept for the rest of the transaction, as in 2.6. None without a format. ``final``:
        made for the log line, when 2.6 no longer has the request's contents (its request-only
        fetches find nothing, as during the response)."""
        uid = self.unique_id
        if uid is not None:
            return uid
        fmt = self.uid_fmt
        rec = self.rec
        if fmt is None:
            v = getattr(rec, "unique_id", None) if rec is not None else None
            return None if v is None else (v.encode("latin-1") if isinstance(v, str) else v)
        self.uid_fmt = None  # a format that reads the id itself sees none
        res = self._res
        if final and res is None:
            self._res = ResponseHead(0, b"", b"HTTP/1.1", [])
        try:
            uid = self.unique_id = fmt(self)
        finally:
            self._res = res
        if rec is not None:
            rec.unique_id = uid.decode("latin-1")
        return uid

    # --- the response: attaching it ends the request processing
    @property
    def res(self) -> ResponseHead | None:
        return self._res

    @res.setter
    def res(self, value: ResponseHead | None) -> None:
        if value is not None and self._res is None:
            self.drop_req_vars()
        self._res = value

    def drop_req_vars(self) -> None:
        """2.6: the "req" scope lives during the request processing only (its memory goes)."""
        d = self.vars
        gone = [k for k in d if k.startswith("req.")]
        if not gone:
            return
        if self.proc_vars.limits is not None:
            self._account("req", -sum(VAR_SIZE + data_size(d[k]) for k in gone))
        for k in gone:
            del d[k]

    # --- addresses as ip objects (parsed once)
    def src_ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        ip = self._src_ip
        if ip is None and self.src is not None:
            ip = self._src_ip = _ip(self.src)
        return ip

    def dst_ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        ip = self._dst_ip
        if ip is None and self.dst is not None:
            ip = self._dst_ip = _ip(self.dst)
        return ip

    # --- variables
    #: the scopes this context has no variables of (2.6: a check's scope exists only in a health
    #: check; set-var there sets nothing, var() finds nothing)
    NO_VARS: frozenset[str] = frozenset(("check",))

    def _scope(self, scope: str) -> dict[str, Sample]:
        if scope == "proc":
            return self.proc_vars
        if scope == "sess":
            return self.sess_vars
        return self.vars

    def get_var(self, name: str) -> Sample | None:
        """``name`` is ``scope.var`` (``txn.user``)."""
        scope, _, _ = name.partition(".")
        if scope in self.NO_VARS:
            return None
        v = self._scope(scope).get(name)
        return None if v is UNSET_VAR else v

    def set_var_if(self, name: str, value: Sample, conds: int) -> bool:
        """set-var with conditions (bits of :data:`VAR_CONDS`): set ``name`` only if they all hold;
        False when it was not set. As 2.6: a ``proc`` variable always exists (the configuration
        that names it declares it); a missing one is created before the conditions on its value
        and type are tested, so a failed ``ifset`` or ``ifnotempty`` leaves it existing but unset;
        ``ifgt``/``iflt`` compare only an integer with an integer variable (else the value is set);
        ``ifempty`` fails on a sample that is not a string or binary."""
        scope, _, _ = name.partition(".")
        if scope in self.NO_VARS:
            return False
        d = self._scope(scope)
        cur = d.get(name)
        if cur is not None or scope == "proc":
            if conds & _IFNOTEXISTS:
                return False
        elif conds & _IFEXISTS:
            return False
        unset = cur is None or cur is UNSET_VAR
        t = value.type
        if ((conds & _IFSET and unset) or (conds & _IFNOTSET and not unset)
                or (conds & _IFEMPTY and t not in ("str", "bin"))
                or (t == "sint" and cur is not None and cur.type == "sint"
                    and ((conds & _IFGT and not cur.value > value.value)
                         or (conds & _IFLT and not cur.value < value.value)))
                or (t in ("str", "bin") and ((conds & _IFNOTEMPTY and not value.value)
                                             or (conds & _IFEMPTY and value.value)))):
            if cur is None and scope != "proc":
                if self.proc_vars.limits is None:
                    d[name] = UNSET_VAR
                elif self._fits(scope, VAR_SIZE):
                    self._account(scope, VAR_SIZE)
                    d[name] = UNSET_VAR
            return False
        if self.proc_vars.limits is not None:
            return self._set_limited(scope, d, name, value)
        d[name] = value
        return True

    def set_var(self, name: str, value: Sample) -> bool:
        """False when nothing was set: a scope this context lacks, or a limit (2.6's set-var
        converter then fails)."""
        scope, _, _ = name.partition(".")
        if scope in self.NO_VARS:
            return False
        d = self._scope(scope)
        if self.proc_vars.limits is not None:
            return self._set_limited(scope, d, name, value)
        d[name] = value
        return True

    def unset_var(self, name: str) -> bool:
        """False for a scope this context lacks (2.6's unset-var converter then fails)."""
        scope, _, _ = name.partition(".")
        if scope in self.NO_VARS:
            return False
        d = self._scope(scope)
        cur = d.pop(name, None)
        if cur is not None and self.proc_vars.limits is not None:
            # a proc variable stays declared: only its data goes
            self._account(scope, -data_size(cur) - (VAR_SIZE if scope != "proc" else 0))
        return True

    # --- variables' memory (only counted while a limit is set)
    def _fits(self, scope: str, n: int) -> bool:
        """Whether ``n`` more bytes in ``scope`` stay within the limits, as 2.6 checks them: the
        reqres total (req, res), the txn one (and txn), a check's own (check: a check's Txn holds
        its check variables in ``vars``), the session's (its own and its live transactions' or
        check's, all but proc) and the process's (every scope of every live session and check)."""
        pv = self.proc_vars
        glob, proc, sess, txn, rr, chk = pv.limits or (0, 0, 0, 0, 0, 0)
        if scope != "proc":
            tv = self.vars
            if scope in ("req", "res", "txn") and isinstance(tv, Vars):
                if rr and scope != "txn" and tv.rr + n > rr:
                    return False
                if txn and tv.size + n > txn:
                    return False
            elif scope == "check" and chk and isinstance(tv, Vars) and tv.size + n > chk:
                return False
            sv = self.sess_vars
            if sess and isinstance(sv, Vars) and sv.size + sv.kids + n > sess:
                return False
        total = pv.size + n
        return not ((proc and total > proc) or (glob and total > glob))

    def _account(self, scope: str, n: int) -> None:
        """``n`` bytes more (or fewer) in ``scope``'s totals and the process's."""
        pv = self.proc_vars
        pv.size += n
        if scope == "proc":
            return
        sv = self.sess_vars
        if scope == "sess":
            if isinstance(sv, Vars):
                sv.size += n
                if sv.up is None:
                    _accounted(sv, pv, None)
            return
        tv = self.vars
        if isinstance(tv, Vars):
            tv.size += n
            if scope != "txn" and scope != "check":
                tv.rr += n
            if isinstance(sv, Vars):
                sv.kids += n
            if tv.up is None:
                _accounted(tv, pv, sv if isinstance(sv, Vars) else None)

    def _set_limited(self, scope: str, d: dict[str, Sample], name: str, value: Sample) -> bool:
        """set-var within the limits, as 2.6: a new variable needs room for itself first, then its
        data; a value that does not fit leaves the variable (old value gone) a boolean."""
        cur = d.get(name)
        if cur is None and scope != "proc":
            if not self._fits(scope, VAR_SIZE):
                return False
            self._account(scope, VAR_SIZE)
        elif scope == "proc":
            self.proc_vars.declare(name)
        if cur is not None:
            self._account(scope, -data_size(cur))
        n = data_size(value)
        if n and not self._fits(scope, n):
            d[name] = _NO_ROOM
            return False
        self._account(scope, n)
        d[name] = value
        return True


class CheckTxn(Txn):
    """A health check's samples context: its ``check`` variables (in ``vars``), its check
    session's ``sess`` ones, the process's; 2.6 has no stream in a check, so no ``txn``, ``req``
    or ``res`` variable is set or found there."""

    __slots__ = ()
    NO_VARS = frozenset(("txn", "req", "res"))


@functools.lru_cache(maxsize=4096)
def _ip(s: str) -> Any:
    """An address string parsed (remembered: a Txn per request parses its client's address again)."""
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        return None
