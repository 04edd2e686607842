"""Counters behind ``show stat`` / ``show info``: plain attributes named as HAProxy's CSV columns.

Pure: no clock is read here; callers pass ``now`` (seconds, float, monotonic or wall as documented
per method). Hot-path cost is an attribute increment; rates are computed from a one-second
sliding window on demand (HAProxy's ``freq_ctr``: previous full second + current partial).
"""

from __future__ import annotations


class FreqCtr:
    """Events per second over a sliding one-second window (HAProxy's read_freq_ctr)."""

    __slots__ = ("curr_sec", "curr", "prev", "max")

    def __init__(self) -> None:
        self.curr_sec = 0
        self.curr = 0
        self.prev = 0
        self.max = 0

    def _rotate(self, sec: int) -> None:
        if sec != self.curr_sec:
            # a full second ended: its count is a rate that was reached
            if self.curr > self.max:
                self.max = self.curr
            self.prev = self.curr if sec == self.curr_sec + 1 else 0
            self.curr = 0
            self.curr_sec = sec

    def add(self, now: float, n: int = 1) -> None:
        """Hot path: one comparison and one addition (the maximum is settled lazily)."""
        sec = int(now)
        if sec != self.curr_sec:
            self._rotate(sec)
        self.curr += n

    def read(self, now: float) -> int:
        sec = int(now)
        if sec != self.curr_sec:
            self._rotate(sec)
        frac = now - sec
        r = self.curr + int(self.prev * (1.0 - frac))
        if r > self.max:
            self.max = r
        return r


class TimeAvg:
    """Average of the last N samples (HAProxy's swrate over 1024 samples) plus the maximum."""

    __slots__ = ("n", "sum", "max")

    WINDOW = 1024

    def __init__(self) -> None:
        self.n = 0
        self.sum = 0.0
        self.max = 0

    def add(self, v: int) -> None:
        if v > self.max:
            self.max = v
        # sliding-window average as HAProxy's swrate_add: sum = sum - sum/N + v
        self.sum = self.sum - self.sum / self.WINDOW + v
        if self.n < self.WINDOW:
            self.n += 1

    @property
    def avg(self) -> int:
        if not self.n:
            return 0
        # HAProxy divides by the window even before it is full (swrate_avg with n samples)
        return int(self.sum / min(self.n, self.WINDOW) if self.n < self.WINDOW else self.sum / self.WINDOW)


class Counters:
    """Counters shared by frontends, backends and servers (each uses the subset that applies)."""

    __slots__ = (
        "scur", "smax", "stot", "bin", "bout", "dreq", "dresp", "ereq", "econ", "eresp",
        "wretr", "wredis", "cli_abrt", "srv_abrt", "lbtot", "hrsp", "req_tot", "intercepted",
        "conn_tot", "dcon", "dses", "wrew", "connect", "reuse", "eint", "last_sess",
        "sess_rate", "req_rate", "conn_rate", "qtime", "ctime", "rtime", "ttime",
        "chkfail", "chkdown", "hanafail", "qmax", "denied_conn",
        "comp_in", "comp_out", "comp_byp", "comp_rsp", "cache_lookups", "cache_hits",
    )
    # set in clear(), which also reads them back (types for the checker)
    scur: int
    sess_rate: FreqCtr
    req_rate: FreqCtr
    conn_rate: FreqCtr
    qtime: TimeAvg
    ctime: TimeAvg
    rtime: TimeAvg
    ttime: TimeAvg

    def __init__(self) -> None:
        self.clear()

    def clear(self, *, all_: bool = True) -> None:
        """Reset counters (``clear counters all``); with all_=False only the maxima, as ``clear counters``."""
        if not all_:
            self.smax = self.scur if hasattr(self, "scur") else 0
            self.qmax = 0
            for fc in (self.sess_rate, self.req_rate, self.conn_rate):
                fc.max = 0
            for ta in (self.qtime, self.ctime, self.rtime, self.ttime):
                ta.max = 0
            return
        scur = getattr(self, "scur", 0)
        self.scur = scur
        self.smax = scur
        self.stot = 0
        self.bin = 0
        self.bout = 0
        self.dreq = 0
        self.dresp = 0
        self.ereq = 0
        self.econ = 0
        self.eresp = 0
        self.wretr = 0
        self.wredis = 0
        self.cli_abrt = 0
        self.srv_abrt = 0
        self.lbtot = 0
        #: hrsp_1xx .. hrsp_5xx at 1..5, hrsp_other at 0
        self.hrsp = [0, 0, 0, 0, 0, 0]
        self.req_tot = 0
        self.intercepted = 0
        self.conn_tot = 0
        self.dcon = 0
        self.dses = 0
        self.wrew = 0
        self.connect = 0
        self.reuse = 0
        self.eint = 0
        self.last_sess = -1.0  # wall time of the last session, -1 = never
        self.sess_rate = FreqCtr()
        self.req_rate = FreqCtr()
        self.conn_rate = FreqCtr()
        self.qtime = TimeAvg()
        self.ctime = TimeAvg()
        self.rtime = TimeAvg()
        self.ttime = TimeAvg()
        self.chkfail = 0
        self.chkdown = 0
        self.hanafail = 0
        self.qmax = 0
        self.denied_conn = 0
        #: HTTP compression (frontends, backends): payload in, compressed bytes out, payload sent
        #: as is by 'identity', responses compressed
        self.comp_in = 0
        self.comp_out = 0
        self.comp_byp = 0
        self.comp_rsp = 0
        #: the cache (http-request cache-use rules of this proxy): requests looked up, served
        self.cache_lookups = 0
        self.cache_hits = 0

    def count_status(self, status: int) -> None:
        cls = status // 100
        self.hrsp[cls if 1 <= cls <= 5 else 0] += 1
