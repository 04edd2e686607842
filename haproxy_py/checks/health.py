"""Server health: HAProxy's check counter, operational/admin state machine, slowstart, passive checks. Pure.

HAPROXY_FACTS 7.2, 7.4, 7.5 and 3.12. Nothing here reads a clock or touches a socket: ``now`` is passed
in (the same clock as ``Server.last_change``: wall seconds, float) and a random source is a parameter.

Every state-changing function returns an ``Outcome``: the log lines to emit (``(proxy, severity, text)``,
in order) and the sessions to shut down (``on-marked-down shutdown-sessions`` etc.). The caller (the
checker, the runtime API) sends the lines to the proxy's log targets and calls ``shutdown()`` on the
sessions. Balancer updates are pushed here, through ``backend.server_state_changed(srv, now)``, before
the usable-server counts of the messages are read from ``backend.usable_counts()``.

Public API (stable):
  apply_check_result(srv, res, now) -> Outcome                  # an active check finished
  observe(srv, kind, now) -> Outcome | None                     # passive check (observe layer4|layer7)
  set_admin_maint / set_admin_drain / set_admin_ready(srv, now) -> Outcome   # CLI state maint|drain|ready
  set_health_up / set_health_down / set_health_stopping(srv, now) -> Outcome # CLI health up|down|stopping
  enable_health / disable_health(srv, now) -> Outcome
  link_tracking(backends) -> list[str]                          # resolve ``track BE/SRV`` (errors returned)
  init_server(srv, now)                                         # boot state (``disabled`` -> MAINT)
  check_interval(srv) -> int ms ; next_check_delay(srv, spread_pct, rng) ; first_check_delays(servers)
  slowstart_step(srv, now) -> 1..16 ; effective_weight(srv, now, dynamic=True) -> int
  throttle_pct(srv, now) -> int | None ; slowstart_tick(srv, now) -> Outcome
  status_text(srv) -> str ; downtime(srv, now) -> int ; lastchg(srv, now) -> int
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from haproxy_py.checks import messages as M
from haproxy_py.checks.probes import RES_CONDPASS, RES_FAILED, RES_PASSED, CheckResult
from haproxy_py.runtime.server import Server

RUNNING = "RUNNING"
STARTING = "STARTING"
STOPPING = "STOPPING"
STOPPED = "STOPPED"

#: slowstart weight granularity (HAProxy's BE_WEIGHT_SCALE)
WEIGHT_SCALE = 16


class Outcome:
    """What the caller must do after a state change: emit ``logs``, shut down ``shutdown`` sessions.

    ``fastinter`` (ms or None) asks the checker to run the next check no later than that from now.
    """

    __slots__ = ("logs", "shutdown", "fastinter", "maxconn", "mails")

    def __init__(self) -> None:
        self.logs: list[tuple[str, int, str]] = []
        self.shutdown: list[Any] = []
        self.fastinter: int | None = None
        #: a new maxconn for the server (an agent's ``maxconn:N``), which the engine applies
        self.maxconn: int | None = None
        #: the email alerts 2.6 would send: (proxy, level, text); the engine mails those its
        #: proxy's ``email-alert level`` lets through
        self.mails: list[tuple[str, int, str]] = []

    def log(self, proxy: str, severity: int, text: str) -> None:
        self.logs.append((proxy, severity, text))

    @property
    def texts(self) -> list[str]:
        return [t for _p, _s, t in self.logs]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Outcome(logs={self.logs!r}, shutdown={len(self.shutdown)}, fastinter={self.fastinter})"


# --------------------------------------------------------------------------- helpers


def _be_name(srv: Server) -> str:
    be = srv.backend
    return be.name if be is not None else "?"


def _be_option(srv: Server, name: str) -> bool:
    be = srv.backend
    conf = getattr(be, "conf", None)
    return bool(conf is not None and conf.option(name))


def _counts(srv: Server) -> tuple[int, int]:
    be = srv.backend
    if be is None:
        return (0, 0)
    uc = getattr(be, "usable_counts", None)
    if uc is not None:
        counts: tuple[int, int] = uc()
        return counts
    act = bck = 0
    for s in be.servers:
        if s.is_up and not s.in_drain and s.uweight > 0:
            if s.backup:
                bck += 1
            else:
                act += 1
    return act, bck


def _changed(srv: Server, now: float) -> None:
    be = srv.backend
    if be is not None:
        fn = getattr(be, "server_state_changed", None)
        if fn is not None:
            fn(srv, now)


def _redistribute(srv: Server, now: float) -> int:
    """Pending requests of a server going away are moved to the backend (``requeued``)."""
    fn = getattr(srv.backend, "redistribute_pending", None)
    return int(fn(srv, now)) if fn is not None else 0


def _grab(srv: Server, now: float) -> int:
    """A server coming up takes pending requests from the backend queue (``sessions requeued``)."""
    fn = getattr(srv.backend, "grab_pending", None)
    return int(fn(srv, now)) if fn is not None else 0


def _via(srv: Server) -> str | None:
    t = srv.track
    if t is None:
        return None
    return f"{_be_name(t)}/{t.name}"


def _no_server_check(srv: Server, before: tuple[int, int], out: Outcome) -> None:
    if (before[0] or before[1]) and _counts(srv) == (0, 0):
        out.log(_be_name(srv), M.SEV_EMERG, M.no_server_available(_be_name(srv)))


def _start_downtime(srv: Server, now: float) -> None:
    if srv.down_since is None:
        srv.down_since = now


def _stop_downtime(srv: Server, now: float) -> None:
    if srv.down_since is not None:
        if now > srv.down_since:
            srv.down_time += now - srv.down_since
        srv.down_since = None


def downtime(srv: Server, now: float) -> int:
    """Seconds spent DOWN so far (stats ``downtime``)."""
    d = srv.down_time
    if srv.down_since is not None and now > srv.down_since:
        d += now - srv.down_since
    return int(d)


def lastchg(srv: Server, now: float) -> int:
    """Seconds since the last state change (stats ``lastchg``)."""
    return max(0, int(now - srv.last_change))


# --------------------------------------------------------------------------- boot and tracking


def init_server(srv: Server, now: float) -> None:
    """Boot state: a ``disabled`` server is in maintenance (STOPPED); others start as Server built them.

    As in HAProxy, ``disabled`` means configuration *and* forced maintenance, so that ``enable server``
    / ``state ready`` bring it back.
    """
    if "CMAINT" in srv.admin:
        srv.admin.add("FMAINT")
    if srv.in_maint:
        srv.state = STOPPED
        _start_downtime(srv, now)


def link_tracking(backends: Iterable[Any]) -> list[str]:
    """Resolve every ``track [BE/]SRV``: sets ``srv.track`` and the target's ``trackers``.

    A tracking server mirrors its target: it has no check of its own, inherits its maintenance
    (IMAINT) and drain (IDRAIN) and its operational state. Returns error texts for unknown targets.
    """
    bes = list(backends)
    by_name = {b.name: b for b in bes}
    errors: list[str] = []
    for be in bes:
        for srv in be.servers:
            spec = srv.conf.track
            if not spec:
                continue
            bname, _, sname = spec.rpartition("/")
            tbe = by_name.get(bname) if bname else be
            target = None
            if tbe is not None:
                for s in tbe.servers:
                    if s.name == sname:
                        target = s
                        break
            if target is None or target is srv:
                errors.append(f"'server {be.name}/{srv.name}': unable to find required server '{spec}' for tracking.")
                continue
            srv.track = target
            if srv not in target.trackers:
                target.trackers.append(srv)
    for be in bes:  # inherit the targets' states, roots first
        for srv in be.servers:
            if srv.track is not None:
                _inherit(srv)
    return errors


def _inherit(srv: Server) -> None:
    chain: list[Server] = []
    t = srv.track
    while t is not None and t is not srv and len(chain) < 64:
        chain.append(t)
        t = t.track
    root = chain[-1] if chain else srv
    srv.check_enabled = False
    srv.state = root.state
    if root.in_maint:
        srv.admin.add("IMAINT")
    if root.in_drain:
        srv.admin.add("IDRAIN")


def _ref(srv: Server) -> Server:
    """The server whose check drives this one (end of the ``track`` chain)."""
    ref = srv
    n = 0
    while ref.track is not None and n < 64:
        ref = ref.track
        n += 1
    return ref


# --------------------------------------------------------------------------- status strings


def status_text(srv: Server) -> str:
    """The ``status`` column of ``show stat`` for a server (HAPROXY_FACTS 7.2)."""
    admin = srv.admin
    if admin:
        if "IMAINT" in admin and not (admin & {"FMAINT", "CMAINT"}):
            v = _via(srv)
            return f"MAINT (via {v})" if v else "MAINT"
        if admin & {"FMAINT", "CMAINT", "IMAINT"}:
            return "MAINT"
        if "RMAINT" in admin:
            return "MAINT (resolution)"
    ref = _ref(srv)
    chk = ref.check_enabled
    h, rise, fall = ref.health, ref.rise, ref.fall
    state = srv.state
    if state == RUNNING or state == STARTING:
        going_down = chk and h < rise + fall - 1
        if srv.in_drain:
            if ref.agent_enabled:
                return "DRAIN (agent)"
            return f"DRAIN {h - rise + 1}/{fall}" if going_down else "DRAIN"
        if going_down:
            return f"UP {h - rise + 1}/{fall}"
        return "UP" if chk else "no check"
    if state == STOPPING:
        if (not srv.check_enabled and srv.track is None) or h == rise + fall - 1:
            return "NOLB"
        return f"NOLB {h - rise + 1}/{fall}"
    if ref.agent_enabled and not ref.agent_health:
        return "DOWN (agent)"
    if chk and h == 0:
        return "DOWN"
    if chk or ref.agent_enabled:
        return f"DOWN {h}/{rise}"
    return "DOWN"


def send_state_text(srv: Server) -> str:
    """State part of ``x-haproxy-server-state`` (``UP 1/3``, ``UP``, ``DOWN 1/2``, ``NOLB``, ``MAINT``)."""
    s = status_text(srv)
    return "UP" if s == "no check" else s


# --------------------------------------------------------------------------- intervals


def check_interval(srv: Server) -> int:
    """ms until the next check: inter when fully healthy, downinter when fully down, else fastinter."""
    conf = srv.conf
    inter = conf.inter
    if srv.health == srv.rise + srv.fall - 1:
        return inter
    if srv.state == STOPPED and srv.health == 0:
        return conf.downinter or inter
    return conf.fastinter or inter


def next_check_delay(srv: Server, spread_pct: int = 0, rng: Callable[[], float] | None = None) -> int:
    """Interval with ``spread-checks`` applied: +/- spread_pct % drawn from ``rng()`` in [0, 1)."""
    iv = check_interval(srv)
    if spread_pct > 0 and rng is not None:
        rv = iv * spread_pct // 100
        rv -= int(2 * rv * rng())
        iv += rv
    return max(1, iv)


def first_check_delays(servers: list[Server]) -> list[int]:
    """When the first check of each checked server runs (ms after start), as 2.6 spreads them: the
    i-th of n checked servers of the process (proxies and servers in declaration order) starts
    ``i * mininter / n`` after start, ``mininter`` being the smallest check interval of them all."""
    n = len(servers)
    if not n:
        return []
    mininter = min(check_interval(s) for s in servers)
    return [mininter * i // n for i in range(n)]


# --------------------------------------------------------------------------- slowstart


def slowstart_step(srv: Server, now: float) -> int:
    """Weight ramp during slowstart in 1/16 steps: 16 = full weight."""
    ss = srv.conf.slowstart
    if srv.state != STARTING or not ss or srv.slowstart_since is None:
        return WEIGHT_SCALE
    t = (ss + 999) // 1000  # HAProxy keeps slowstart in seconds
    elapsed = int(now - srv.slowstart_since)
    if elapsed < 0 or elapsed >= t:
        return WEIGHT_SCALE
    return min(WEIGHT_SCALE, (WEIGHT_SCALE * elapsed + t) // t)


def effective_weight(srv: Server, now: float, dynamic: bool = True) -> int:
    """Effective weight on the uweight scale (rounded up). Static algorithms keep full weight."""
    step = slowstart_step(srv, now) if dynamic else WEIGHT_SCALE
    return (srv.uweight * step + WEIGHT_SCALE - 1) // WEIGHT_SCALE


def effective_weight_scaled(srv: Server, now: float, dynamic: bool = True) -> int:
    """Effective weight in 1/16 units of uweight (exact, for balancers that keep a finer scale)."""
    step = slowstart_step(srv, now) if dynamic else WEIGHT_SCALE
    return srv.uweight * step


def throttle_pct(srv: Server, now: float) -> int | None:
    """The ``throttle`` stat: % of the weight reached during slowstart, None when not starting."""
    if srv.state != STARTING or srv.in_drain:
        return None
    if not srv.uweight:
        return 100
    return (100 * slowstart_step(srv, now) + WEIGHT_SCALE - 1) // WEIGHT_SCALE


def slowstart_maxconn(srv: Server, now: float, maxconn: int) -> int:
    """Dynamic maxconn during slowstart: ``max(1, maxconn * pct / 100)``."""
    pct = throttle_pct(srv, now)
    if pct is None or not maxconn:
        return maxconn
    return max(1, maxconn * pct // 100)


def slowstart_tick(srv: Server, now: float) -> bool:
    """Advance slowstart: updates the balancer; returns True while the server is still STARTING."""
    if srv.state != STARTING:
        return False
    ss = srv.conf.slowstart
    t = (ss + 999) // 1000
    if srv.slowstart_since is None or now - srv.slowstart_since >= t or now < srv.slowstart_since:
        srv.state = RUNNING
        srv.slowstart_since = None
        _changed(srv, now)
        return False
    _changed(srv, now)
    return True


def slowstart_tick_interval(srv: Server) -> int:
    """ms between two slowstart ticks (HAProxy's warmup task: max(1s, slowstart/20))."""
    return max(1000, srv.conf.slowstart // 20)


# --------------------------------------------------------------------------- operational transitions


def _set_stopped(srv: Server, reason: str, now: float, out: Outcome) -> None:
    if srv.state == STOPPED:
        return
    if srv.in_maint:
        srv.state = STOPPED
        return
    before = _counts(srv)
    srv.state = STOPPED
    srv.last_change = now
    srv.slowstart_since = None
    _start_downtime(srv, now)
    srv.counters.chkdown += 1
    _changed(srv, now)
    requeued = _redistribute(srv, now)
    act, bck = _counts(srv)
    be = _be_name(srv)
    if srv.conf.on_marked_down == "shutdown-sessions":
        out.shutdown.extend(srv.sessions)
    out.log(be, M.SEV_ALERT, M.server_down(be, srv.name, srv.backup, reason, act, bck, srv.served,
                                           requeued, len(srv.queue)))
    out.mails.append((be, M.SEV_ALERT, out.logs[-1][2]))
    if "FDRAIN" in srv.admin:  # as after UP: 2.6 re-reads the admin state, still forced drain
        out.log(be, M.SEV_NOTICE, M.drain_remains(be, srv.name, srv.backup))
    _no_server_check(srv, before, out)
    via = f" via {be}/{srv.name}"
    for t in list(srv.trackers):
        _set_stopped(t, via, now, out)


def _set_running(srv: Server, reason: str, now: float, out: Outcome) -> None:
    if srv.state == RUNNING or srv.state == STARTING:
        return
    prev = srv.state
    if srv.in_maint:
        srv.state = RUNNING
        return
    if prev == STOPPED:
        _stop_downtime(srv, now)
    if srv.conf.slowstart and prev == STOPPED:
        srv.state = STARTING
        srv.slowstart_since = now
    else:
        srv.state = RUNNING
    srv.last_change = now
    _changed(srv, now)
    grabbed = _grab(srv, now)
    act, bck = _counts(srv)
    be = _be_name(srv)
    out.log(be, M.SEV_NOTICE, M.server_up(be, srv.name, srv.backup, reason, act, bck, grabbed, len(srv.queue)))
    out.mails.append((be, M.SEV_NOTICE, out.logs[-1][2]))
    if "FDRAIN" in srv.admin:  # 2.6 then re-reads the admin state, still forced drain
        out.log(be, M.SEV_NOTICE, M.drain_remains(be, srv.name, srv.backup))
    if srv.conf.on_marked_up == "shutdown-backup-sessions" and not srv.backup and srv.backend is not None:
        for s in srv.backend.servers:
            if s.backup:
                out.shutdown.extend(s.sessions)
    via = f" via {be}/{srv.name}"
    for t in list(srv.trackers):
        _set_running(t, via, now, out)


def _set_stopping(srv: Server, reason: str, now: float, out: Outcome) -> None:
    if srv.state == STOPPING:
        return
    if srv.in_maint:
        srv.state = STOPPING
        return
    before = _counts(srv)
    if srv.state == STOPPED:
        _stop_downtime(srv, now)
    srv.state = STOPPING
    srv.slowstart_since = None
    srv.last_change = now
    _changed(srv, now)
    act, bck = _counts(srv)
    be = _be_name(srv)
    out.log(be, M.SEV_NOTICE, M.server_stopping(be, srv.name, srv.backup, reason, act, bck, 0, len(srv.queue)))
    _no_server_check(srv, before, out)
    via = f" via {be}/{srv.name}"
    for t in list(srv.trackers):
        _set_stopping(t, via, now, out)


# --------------------------------------------------------------------------- active checks


def apply_check_result(srv: Server, res: CheckResult, now: float) -> Outcome:
    """Feed one check result: health counter, stats fields, counters, transitions and their log lines."""
    out = Outcome()
    _apply(srv, res, now, out)
    return out


def _apply(srv: Server, res: CheckResult, now: float, out: Outcome) -> None:
    if srv.in_maint:  # checks are paused in maintenance
        return
    prev_status = srv.check_status
    srv.check_status = res.status
    srv.check_code = res.code
    srv.check_duration = res.duration
    srv.check_desc = M.CHECK_DESC.get(res.status, "")
    srv.check_info = res.info if res.shown is None else res.shown
    rise, fall = srv.rise, srv.fall
    full = rise + fall - 1
    h = srv.health
    report = False
    result = res.result
    if result == RES_FAILED:
        if h > 0:
            srv.counters.chkfail += 1
            report = True
            h -= 1
            if h < rise:
                h = 0
    elif result >= RES_PASSED:
        if h < full and (result == RES_PASSED or h > 0):
            h += 1
            report = True
            if h >= rise:
                h = full
        if srv.conf.observe:
            srv.observe_errors = 0
    srv.health = h
    loghc = _be_option(srv, "log-health-checks")
    be = _be_name(srv)
    if loghc and (report or prev_status != res.status):
        up = h >= rise
        out.log(be, M.SEV_NOTICE, M.health_check_result(
            be, srv.name, srv.backup, result >= RES_PASSED, result == RES_CONDPASS,
            M.check_reason(res.status, res.code, res.info, res.duration),
            h - rise + 1 if up else h, fall if up else rise,
            ("UP" if srv.uweight else "DRAIN") if up else "DOWN"))
        out.mails.append((be, M.SEV_INFO, out.logs[-1][2]))
    reason = "" if (loghc or srv.track is not None) else M.check_reason(res.status, res.code, res.info,
                                                                           res.duration)
    if result == RES_FAILED:
        if h == 0:
            _set_stopped(srv, reason, now, out)
    elif srv.agent_enabled and srv.agent_health < srv.agent_rise:
        return  # the agent says the server is down: a passing check does not bring it back
    elif result == RES_CONDPASS:
        if h >= rise:
            _set_stopping(srv, reason, now, out)
    elif result == RES_PASSED:
        if h >= rise:
            _set_running(srv, reason, now, out)


# --------------------------------------------------------------------------- agent checks

#: statuses an agent failure must have to count against the agent (2.6's "L57 data" statuses and
#: above): failing to reach the agent changes nothing
_AGENT_COUNTED = frozenset({"L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"})
_STATUS_RESULT = {"UNK": 0, "INI": 0, "CHECKED": 1, "HANA": RES_FAILED, "SOCKERR": RES_FAILED,
                  "L4OK": RES_PASSED, "L4TOUT": RES_FAILED, "L4CON": RES_FAILED, "L6OK": RES_PASSED,
                  "L6TOUT": RES_FAILED, "L6RSP": RES_FAILED, "L7TOUT": RES_FAILED, "L7RSP": RES_FAILED,
                  "L7OK": RES_PASSED, "L7OKC": RES_CONDPASS, "L7STS": RES_FAILED, "PROCERR": RES_FAILED,
                  "PROCTOUT": RES_FAILED, "PROCOK": RES_PASSED}


def apply_agent_result(srv: Server, res: CheckResult, now: float) -> Outcome:
    """An agent check that ended without a reply to read (connection refused, timeout, empty or
    incomplete reply): ``res.status`` and ``res.info`` as the check reports them."""
    out = Outcome()
    result = _agent_status(srv, res.status, res.info, res.duration, out)
    _agent_notify(srv, result, now, out)
    return out


def apply_agent_reply(srv: Server, reply: Any, duration: int | None, now: float,
                      set_weight: Callable[[Server, str], str] | None = None) -> Outcome:
    """An agent's reply line (``checks.agent.AgentReply``) applied as 2.6 applies it: the admin
    word first, then the weight (``set_weight(srv, word)`` returns 2.6's error text or ""),
    then maxconn (``Outcome.maxconn`` for the engine), then the health word and the reported
    text ("via agent : up (why)", "agent reports an error : WORD", "agent warns : MSG")."""
    from haproxy_py.checks.agent import maxconn_error

    out = Outcome()
    if not srv.agent_enabled:
        return out
    if reply.admin == "drain":
        _set_admin(srv, "FDRAIN", now, out)
        _clr_admin(srv, "FMAINT", now, out)
    elif reply.admin == "maint":
        _set_admin(srv, "FMAINT", now, out)
        _clr_admin(srv, "FDRAIN", now, out)
    elif reply.admin == "ready":
        _clr_admin(srv, "FDRAIN", now, out)
        _clr_admin(srv, "FMAINT", now, out)
    wrn = ""
    if reply.weight is not None and set_weight is not None:
        wrn = set_weight(srv, reply.weight) or ""
        if not wrn and "FDRAIN" in srv.admin and not srv.in_maint:
            # 2.6 re-evaluates the server's state with its new weight and says so
            out.log(_be_name(srv), M.SEV_NOTICE, M.drain_remains(_be_name(srv), srv.name, srv.backup))
    if reply.maxconn is not None:
        msg, value = maxconn_error(reply.maxconn)
        if msg is None:
            out.maxconn = value
        elif not wrn:
            wrn = msg
    err = reply.error or ""
    status = "CHECKED"
    if reply.health is not None:
        low = reply.health.lower()
        status = "L7OK" if low == "up" else "L7STS"
        msg = reply.desc
        if not msg or status == "L7OK":
            if err:
                msg = err
            elif wrn:
                msg = wrn
        text = f"via agent : {reply.health}" + (f" ({msg})" if msg else "")
    elif err:
        text = f"agent reports an error : {err}"
    elif wrn:
        text = f"agent warns : {wrn}"
    else:
        text = ""
    result = _agent_status(srv, status, text, duration, out)
    _agent_notify(srv, result, now, out)
    return out


def _agent_status(srv: Server, status: str, info: str, duration: int | None, out: Outcome) -> int:
    """2.6's set_server_check_status for the agent: the columns, the agent's health, the
    log-health-checks line. Returns the check's result (RES_*; 0 when the status has none)."""
    prev = srv.agent_status
    if not status:  # an incomplete reply: the status stays, with the text
        status = prev
    srv.agent_info = info
    srv.agent_status = status
    srv.agent_code = 0 if status in _AGENT_COUNTED else None
    srv.agent_duration = duration
    result = _STATUS_RESULT.get(status, 0)
    if result == 1:  # no status change
        return result
    rise, fall = srv.agent_rise, srv.agent_fall
    h = srv.agent_health
    report = False
    if result == RES_FAILED:
        if status in _AGENT_COUNTED and h > 0:  # (2.6.12 counts no failed check for the agent)
            report = True
            h -= 1
            if h < rise:
                h = 0
    elif result >= RES_PASSED:
        if h < rise + fall - 1:
            report = True
            h += 1
            if h >= rise:
                h = rise + fall - 1
        if srv.conf.observe:
            srv.observe_errors = 0
    srv.agent_health = h
    be = _be_name(srv)
    if _be_option(srv, "log-health-checks") and (report or prev != status):
        up = h >= rise
        out.log(be, M.SEV_NOTICE, M.health_check_result(
            be, srv.name, srv.backup, result >= RES_PASSED, result == RES_CONDPASS,
            M.check_reason(status, srv.agent_code, info, duration),
            h - rise + 1 if up else h, fall if up else rise,
            ("UP" if srv.uweight else "DRAIN") if up else "DOWN", agent=True))
        out.mails.append((be, M.SEV_INFO, out.logs[-1][2]))
    return result


def _agent_notify(srv: Server, result: int, now: float, out: Outcome) -> None:
    """2.6's check_notify_* for the agent: only a reply saying down/stopped/fail takes the server
    down; a passing agent brings it up when the health check agrees."""
    reason = ""
    if srv.track is None and not _be_option(srv, "log-health-checks"):
        reason = M.check_reason(srv.agent_status, srv.agent_code, srv.agent_info, srv.agent_duration)
    if result == RES_FAILED:
        if srv.agent_status != "L7STS" or srv.agent_health > 0:
            return
        _set_stopped(srv, reason, now, out)
    elif result == RES_PASSED:
        if srv.in_maint:
            return
        if srv.check_enabled and srv.health < srv.rise:
            return
        if srv.agent_health < srv.agent_rise or srv.state == STOPPING:
            return
        _set_running(srv, reason, now, out)


# --------------------------------------------------------------------------- passive checks (observe)

#: kind -> (effect for layer4, effect for layer7): 1 = error, 2 = success (reset), 0 = ignored
_ANALYZE = {
    "L4_OK": (2, 0),
    "L4_ERR": (1, 1),
    "HTTP_OK": (0, 2),
    "HTTP_STS": (0, 1),
    "HTTP_HDRRSP": (0, 1),
    "HTTP_RSP": (0, 1),
    "HTTP_READ_ERROR": (0, 1),
    "HTTP_READ_TIMEOUT": (0, 1),
    "HTTP_BROKEN_PIPE": (0, 1),
}


def observe(srv: Server, kind: str, now: float) -> Outcome | None:
    """A passive observation from traffic (``observe layer4|layer7``).

    kind: ``L4_OK`` / ``L4_ERR`` (connection to the server), ``HTTP_OK`` / ``HTTP_STS`` (use
    ``probes.observe_http_ok(status)`` to choose) / ``HTTP_HDRRSP`` / ``HTTP_RSP`` / ``HTTP_READ_ERROR`` /
    ``HTTP_READ_TIMEOUT`` / ``HTTP_BROKEN_PIPE``. Returns None when nothing is to be done (the hot
    path), else an Outcome (``fastinter`` set when the error limit was reached).
    """
    obs = srv.conf.observe
    if obs is None:
        return None
    eff = _ANALYZE.get(kind)
    if eff is None:
        return None
    e = eff[0] if obs == "layer4" else eff[1]
    if e == 0:
        return None
    if e == 2:
        srv.observe_errors = 0
        return None
    srv.observe_errors += 1
    if srv.observe_errors < srv.conf.error_limit:
        return None
    out = Outcome()
    info = M.hana_info(srv.observe_errors, kind)
    mode = srv.conf.on_error
    res = CheckResult("HANA", RES_FAILED, None, info, None)
    if mode == "sudden-death":
        if srv.health > srv.rise:
            srv.health = srv.rise + 1
        _apply(srv, res, now, out)
    elif mode == "fail-check":
        _apply(srv, res, now, out)
    elif mode == "mark-down":
        srv.health = srv.rise
        _apply(srv, res, now, out)
    srv.observe_errors = 0
    srv.counters.hanafail += 1
    fi = srv.conf.fastinter
    if fi:
        out.fastinter = fi
    return out


# --------------------------------------------------------------------------- admin state (CLI, tracking)


def _set_admin(srv: Server, flag: str, now: float, out: Outcome, reason: str | None = None) -> None:
    if flag in srv.admin:
        return
    if flag in ("FMAINT", "CMAINT", "IMAINT", "RMAINT"):
        was = srv.in_maint
        before = _counts(srv)
        srv.admin.add(flag)
        if was:
            return
        prev = srv.state
        srv.maint_weight = srv.uweight
        via = _via(srv) if flag == "IMAINT" else None
        why = reason if flag == "RMAINT" else None
        srv.state = STOPPED
        srv.health = 0  # as the live 2.6 shows in `show servers state` after maint, checked or not
        srv.slowstart_since = None
        be = _be_name(srv)
        if prev != STOPPED:
            srv.last_change = now
            _start_downtime(srv, now)
            srv.counters.chkdown += 1
        _changed(srv, now)
        if prev == STOPPED:
            out.log(be, M.SEV_NOTICE, M.maint_enter_was_down(be, srv.name, srv.backup, via))
        else:
            requeued = _redistribute(srv, now)
            act, bck = _counts(srv)
            if srv.conf.on_marked_down == "shutdown-sessions":
                out.shutdown.extend(srv.sessions)
            out.log(be, M.SEV_ALERT, M.maint_enter(be, srv.name, srv.backup, act, bck, srv.served, requeued,
                                                   len(srv.queue), via, why))
            _no_server_check(srv, before, out)
        for t in list(srv.trackers):
            _set_admin(t, "IMAINT", now, out)
        return
    # drain
    was = srv.in_drain
    before = _counts(srv)
    srv.admin.add(flag)
    if was:
        return
    be = _be_name(srv)
    if not srv.in_maint:
        srv.last_change = now
        _changed(srv, now)
        act, bck = _counts(srv)
        via = _via(srv) if flag == "IDRAIN" else None
        out.log(be, M.SEV_NOTICE, M.drain_enter(be, srv.name, srv.backup, act, bck, 0, len(srv.queue), via))
        out.mails.append((be, M.SEV_NOTICE, out.logs[-1][2]))
        _no_server_check(srv, before, out)
    else:
        _changed(srv, now)
    for t in list(srv.trackers):
        _set_admin(t, "IDRAIN", now, out)


def _clr_admin(srv: Server, flag: str, now: float, out: Outcome) -> None:
    if flag == "FMAINT" and "CMAINT" in srv.admin:
        srv.admin.add("FMAINT")
    if flag not in srv.admin:
        return
    be = _be_name(srv)
    if flag in ("FMAINT", "CMAINT", "IMAINT", "RMAINT"):
        srv.admin.discard(flag)
        if flag == "FMAINT":
            srv.admin.discard("CMAINT")  # ``disabled`` servers are enabled by the CLI
        if srv.in_maint:
            if flag == "FMAINT" or flag == "CMAINT":
                out.log(be, M.SEV_NOTICE, M.maint_remains(be, srv.name, srv.backup, _via(srv)))
            else:
                out.log(be, M.SEV_NOTICE, M.maint_remains(be, srv.name, srv.backup, None))
            return
        # leaving maintenance: a checked server comes back UP with minimal health (h = rise)
        t = srv.track
        if t is not None:
            ref = _ref(srv)
            new_state = ref.state if not ref.in_maint else STOPPED
        else:
            if srv.check_enabled:
                srv.health = srv.rise
            # an agent that last said the server is down keeps it down
            new_state = STOPPED if srv.agent_enabled and srv.agent_health < srv.agent_rise else RUNNING
        if new_state != STOPPED:
            _stop_downtime(srv, now)
            srv.last_change = now
            if srv.conf.slowstart and new_state == RUNNING:
                new_state = STARTING
                srv.slowstart_since = now
        srv.state = new_state
        _changed(srv, now)
        kind = {"FMAINT": "forced", "CMAINT": "config", "IMAINT": "inherited", "RMAINT": "resolution"}[flag]
        out.log(be, M.SEV_NOTICE, M.maint_leave(be, srv.name, srv.backup, new_state != STOPPED, srv.in_drain,
                                                kind, _via(srv) if flag == "IMAINT" else None))
        if srv.in_drain and "FDRAIN" in srv.admin and flag == "FMAINT":
            out.log(be, M.SEV_NOTICE, M.drain_remains(be, srv.name, srv.backup))
        for tr in list(srv.trackers):
            _clr_admin(tr, "IMAINT", now, out)
        return
    srv.admin.discard(flag)
    if srv.in_drain:
        if flag == "IDRAIN":
            out.log(be, M.SEV_NOTICE, M.drain_remains(be, srv.name, srv.backup))
        return
    if not srv.in_maint:
        srv.last_change = now
        _changed(srv, now)
        out.log(be, M.SEV_NOTICE, M.drain_leave(be, srv.name, srv.backup, srv.state != STOPPED,
                                                flag == "FDRAIN", _via(srv) if flag == "IDRAIN" else None))
    else:
        _changed(srv, now)
    for tr in list(srv.trackers):
        _clr_admin(tr, "IDRAIN", now, out)


def set_resolution_maint(srv: Server, now: float, reason: str) -> Outcome:
    """A name resolution failed for longer than its ``hold``: maintenance until it resolves again
    (``reason`` as 2.6 words it: "DNS NX status", "DNS timeout status", "No IP for server ")."""
    out = Outcome()
    _set_admin(srv, "RMAINT", now, out, reason)
    return out


def clear_resolution_maint(srv: Server, now: float, fqdn: str) -> Outcome:
    """The name resolves again: the server leaves resolution maintenance (2.6 names the FQDN in
    that line, then says the server is ready again)."""
    out = Outcome()
    _clr_admin(srv, "RMAINT", now, out)
    label = M.server_label(_be_name(srv), srv.name, srv.backup)
    out.logs = [(p, sev, t.replace(label + " is ", f"{label} ('{fqdn}') is ", 1) if "(resolves again)" in t else t)
                for p, sev, t in out.logs]
    out.log(_be_name(srv), M.SEV_NOTICE, f"{label} administratively READY thanks to valid DNS answer.")
    return out


def set_admin_maint(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV state maint`` / ``disable server``: forced maintenance."""
    out = Outcome()
    _set_admin(srv, "FMAINT", now, out)
    _clr_admin(srv, "FDRAIN", now, out)
    return out


def set_admin_drain(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV state drain``: forced drain (also leaves forced maintenance)."""
    out = Outcome()
    _set_admin(srv, "FDRAIN", now, out)
    _clr_admin(srv, "FMAINT", now, out)
    return out


def set_admin_ready(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV state ready`` / ``enable server``: leaves forced maintenance and drain."""
    out = Outcome()
    _clr_admin(srv, "FMAINT", now, out)
    _clr_admin(srv, "FDRAIN", now, out)
    return out


def set_health_up(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV health up``: full health, UP (logged only if the state changes)."""
    out = Outcome()
    srv.health = srv.rise + srv.fall - 1
    _set_running(srv, ", changed from CLI", now, out)
    return out


def set_health_down(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV health down``: health 0, DOWN."""
    out = Outcome()
    srv.health = 0
    _set_stopped(srv, ", changed from CLI", now, out)
    return out


def set_health_stopping(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV health stopping``: full health, NOLB (no new traffic)."""
    out = Outcome()
    srv.health = srv.rise + srv.fall - 1
    _set_stopping(srv, ", changed from CLI", now, out)
    return out


def set_agent_up(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV agent up``: the agent's full health, UP if the health check agrees."""
    out = Outcome()
    srv.agent_health = srv.agent_rise + srv.agent_fall - 1
    _set_running(srv, ", changed from CLI", now, out)
    return out


def set_agent_down(srv: Server, now: float) -> Outcome:
    """``set server BE/SRV agent down``: the agent's health 0, DOWN."""
    out = Outcome()
    srv.agent_health = 0
    _set_stopped(srv, ", changed from CLI", now, out)
    return out


def enable_health(srv: Server, now: float) -> Outcome:
    """``enable health BE/SRV``: checks run again (no log line)."""
    if srv.conf.check and srv.track is None:
        srv.check_enabled = True
    return Outcome()


def disable_health(srv: Server, now: float) -> Outcome:
    """``disable health BE/SRV``: checks stop; the state stays as it is (status ``no check`` if UP)."""
    srv.check_enabled = False
    return Outcome()
