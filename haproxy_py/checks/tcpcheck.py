"""``tcp-check`` rule sequences (``option tcp-check`` and the protocol checks built on them). Pure.

A sequence is a tuple of ``config.model.TcpCheckRule``: ``connect``, ``send`` and ``expect`` rules
(a ``tcp-check comment`` line is folded into the rule after it; the builder inserts the implicit
first ``connect``). The engine (``engine/checker.py``) does the I/O and drives one
:class:`TcpCheckRun` per probe:

    run = TcpCheckRun(rules, proto=False)
    act = run.step()        # Connect(rule) | Send(data) | Recv() | Done(result)
    run.connected()         # after a Connect succeeded, then step() again
    run.feed(data) / run.closed()        # after a Recv, then step() again
    run.connect_error(errno) / run.sock_error(errno) / run.timeout()   # -> CheckResult

What 2.6 does, as observed on 2.6.12 with the same rules on the same servers (tests/integration/
test_tcpcheck_vs_haproxy.py):

* steps are numbered by the proxy's ``tcp-check`` lines, comments included; the implicit connect is
  "the initial connection step";
* ``expect`` reads until its pattern can match: a mismatch waits for more data unless ``min-recv``
  is set (then the first read of at least that much is conclusive), the server closed, or the buffer
  is full; a negated expect fails at once on a match and passes on close without one;
* consecutive expects look at the same data; a ``send`` starts a fresh read buffer;
* the last rule evaluated decides the final status: an expect gives ``ok-status`` (L7OK) and its
  ``on-success`` text or ``(tcp-check)``, a connect L4OK (no text for the implicit one), a send L7OK;
* a code is reported with the L7OK/L7OKC/L7STS statuses only (0 unless ``status-code``);
* the protocol checks (``proto=True``, e.g. ``option redis-check``) report connection errors and
  timeouts without the step text.
"""

from __future__ import annotations

import os
import re
from typing import Any

from haproxy_py.checks.probes import MAX_RESPONSE, RES_FAILED, RES_PASSED, CheckResult
from haproxy_py.config.model import TcpCheckRule

#: statuses whose check code 2.6 reports (its "L57 data" statuses)
_CODED = frozenset({"L7OK", "L7OKC", "L7STS"})
_CRLF = re.compile(rb"[\r\n]")
_RESULT = {"L4OK": RES_PASSED, "L6OK": RES_PASSED, "L7OK": RES_PASSED, "L7OKC": RES_PASSED}


class Connect:
    __slots__ = ("rule",)

    def __init__(self, rule: TcpCheckRule) -> None:
        self.rule = rule


class Send:
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Recv:
    __slots__ = ()


class Done:
    __slots__ = ("result",)

    def __init__(self, result: CheckResult) -> None:
        self.result = result


Action = Connect | Send | Recv | Done
RECV = Recv()


def _result(status: str, info: str, code: int | None) -> CheckResult:
    return CheckResult(status, _RESULT.get(status, RES_FAILED), code if status in _CODED else None, info)


def hex_upper(data: bytes) -> bytes:
    """What ``expect rbinary`` matches against: the data as upper-case hex digits."""
    return data.hex().upper().encode()


def _latin(b: bytes) -> str:
    return b.decode("latin-1")


def payload_text(fmt: str, buf: bytes) -> str:
    """A text the protocol checks take from the response: "line" its first line, "line4" the first
    line after a 3-digit code and its spaces, "cstr6" from byte 6 to the first NUL (a PostgreSQL
    error's severity)."""
    if fmt == "cstr6":
        return _latin(buf[6:].split(b"\0", 1)[0])
    if fmt == "line4":
        buf = buf[4:].lstrip(b" ")
    return _latin(_CRLF.split(buf, 1)[0])


def payload_code(buf: bytes, default: int) -> int:
    """The check code from the response's first 3 bytes (an SMTP reply code)."""
    head = buf[:3]
    return int(head) if head.isdigit() else default


#: SSLv3 ClientHello offering the 39 ciphers 0x0001-0x001B and 0x002F-0x003A, no session, null
#: compression; the 4 bytes at offset 11 are the client's time, the random is fixed
_CIPHERS = b"".join(n.to_bytes(2, "big") for n in [*range(0x01, 0x1C), *range(0x2F, 0x3B)])
_HELLO_HEAD = bytes.fromhex("16030000790100007503 00".replace(" ", ""))
_HELLO_TAIL = (b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n" + b"\x00" + len(_CIPHERS).to_bytes(2, "big") + _CIPHERS
               + b"\x01\x00")


def ssl3_client_hello(wall: float) -> bytes:
    """The bytes of ``option ssl-hello-chk``'s probe at wall-clock time ``wall`` (seconds)."""
    return _HELLO_HEAD + (int(wall) & 0xFFFFFFFF).to_bytes(4, "big") + _HELLO_TAIL


def _le(b: bytes) -> int:
    return int.from_bytes(b, "little")


def _cstr(b: bytes) -> str:
    return _latin(b.split(b"\0", 1)[0])


def _mysql_packet(run: TcpCheckRun, r: TcpCheckRule, offset: int) -> CheckResult | bool | None:
    """One MySQL packet at ``offset``: an error packet (0xff) fails with its code and message; the
    last rule reports the server version (the text at byte 5 of the greeting)."""
    buf = run.buf
    if len(buf) < offset + 4 or len(buf) < offset + 4 + _le(buf[offset:offset + 3]):
        if not run.last_read:
            return None
        return _result("L7RSP", "", 0)
    if buf[offset + 4:offset + 5] == b"\xff":
        return _result("L7STS", _cstr(buf[offset + 7:]), _le(buf[offset + 5:offset + 7]))
    if run.rules[-1] is not r:
        return True
    run.info = _cstr(buf[5:])
    return True


def _mysql_greeting(run: TcpCheckRun, r: TcpCheckRule) -> CheckResult | bool | None:
    return _mysql_packet(run, r, 0)


def _mysql_ok(run: TcpCheckRun, r: TcpCheckRule) -> CheckResult | bool | None:
    buf = run.buf
    return _mysql_packet(run, r, 4 + _le(buf[:3]) if len(buf) >= 3 else len(buf) + 4)


_NOT_LDAP = "Not LDAPv3 protocol"


def _ldap_bind_response(run: TcpCheckRun, r: TcpCheckRule) -> CheckResult | bool | None:
    """An LDAPv3 bindResponse to message 1: its resultCode, 0 passing ("Success"). Long-form BER
    lengths of up to 4 bytes are skipped (2.6.12 passes a reply with two of them)."""
    buf = run.buf + bytes(16)  # the previous rule asked for 14 bytes; read past them as zeroes
    n = buf[1] & 0x7F if buf[1] & 0x80 else 0
    if n > 4 or buf[2 + n:6 + n] != b"\x02\x01\x01\x61":
        return _result("L7RSP", _NOT_LDAP, 0)
    n += buf[n + 6] & 0x7F if buf[n + 6] & 0x80 else 0
    if n > 8 or buf[7 + n:9 + n] != b"\x0a\x01":
        return _result("L7RSP", _NOT_LDAP, 0)
    code = buf[n + 9]
    if code:
        return _result("L7STS", "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9", code)
    run.info = "Success"
    return True


#: what the agent check reports when its agent closed or filled the buffer without ending the line
#: (its status stays the previous one: an empty status here)
AGENT_INCOMPLETE = "Ignoring incomplete line from agent"


def _agent_reply(run: TcpCheckRun, r: TcpCheckRule) -> CheckResult | bool | None:
    """The agent's line (checks/agent.py reads it): kept in ``run.agent_line``."""
    from haproxy_py.checks.agent import line_end

    end = line_end(run.buf)
    if end < 0:
        if not run.last_read:
            return None
        return CheckResult("", 0, None, AGENT_INCOMPLETE)
    run.agent_line = _latin(run.buf[:end])
    return True


def agent_rules(send: bytes) -> tuple[TcpCheckRule, ...]:
    """The agent check's sequence, as 2.6 builds it: the implicit connect, the ``agent-send``
    string (nothing without one), then the reply."""
    return (TcpCheckRule("connect", -1), TcpCheckRule("send", 0, data=send),
            TcpCheckRule("expect", 1, kind="agent"))


#: SPOP's error reasons by status code (an AGENT-DISCONNECT's status-code, or what 2.6 finds wrong
#: in an AGENT-HELLO)
SPOP_ERRORS = ("normal", "I/O error", "a timeout occurred", "frame is too big", "invalid frame received",
               "version value not found", "max-frame-size value not found", "capabilities value not found",
               "unsupported version", "max-frame-size too big or too small", "fragmentation not supported",
               "invalid interlaced frames", "frame-id not found", "resource allocation error")
_SPOP_MAX_FRAME = 16380


class _SpopError(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _varint(b: bytes, i: int) -> tuple[int, int]:
    """SPOP's variable-length integer at ``i``: (value, next index)."""
    if i >= len(b):
        raise _SpopError(4)
    v = b[i]
    i += 1
    if v < 240:
        return v, i
    shift = 4
    while True:
        if i >= len(b):
            raise _SpopError(4)
        c = b[i]
        i += 1
        v += c << shift
        shift += 7
        if c < 128:
            return v, i


def _spop_bytes(b: bytes, i: int) -> tuple[bytes, int]:
    n, i = _varint(b, i)
    if i + n > len(b):
        raise _SpopError(4)
    return b[i:i + n], i + n


def _spop_skip(b: bytes, i: int) -> int:
    """Skip one typed value (2.6's spoe_skip_data)."""
    if i >= len(b):
        raise _SpopError(4)
    t = b[i] & 0x0F
    i += 1
    if t in (0, 1):  # null, boolean: no data
        return i
    if t in (2, 3, 4, 5):
        return _varint(b, i)[1]
    if t == 6:
        return i + 4
    if t == 7:
        return i + 16
    if t in (8, 9):
        return _spop_bytes(b, i)[1]
    raise _SpopError(4)


def _spop_frame(frame: bytes) -> None:
    """An AGENT-HELLO (101) or AGENT-DISCONNECT (102) frame, as 2.6 reads it; _SpopError(code)."""
    ftype = frame[0]
    if ftype not in (101, 102):
        raise _SpopError(4)
    frame = frame + bytes(max(0, 7 - len(frame)))  # 2.6 reads a short head as zeroes
    if not frame[4] & 1:  # the FIN bit of the flags (network order)
        raise _SpopError(10)
    if frame[5] != 0 or frame[6] != 0:  # stream-id and frame-id must be 0
        raise _SpopError(4)
    i = 7
    vsn = size = status = None
    while i < len(frame):
        key, i = _spop_bytes(frame, i)
        if not key:
            raise _SpopError(4)
        if ftype == 101 and key == b"version":
            if frame[i] & 0x0F != 8:
                raise _SpopError(4)
            text, i = _spop_bytes(frame, i + 1)
            vsn = text
            if text.strip() != b"2.0":  # one version, the one 2.6 speaks
                raise _SpopError(8)
        elif ftype == 101 and key == b"max-frame-size":
            if frame[i] & 0x0F not in (2, 3, 4, 5):
                raise _SpopError(4)
            size, i = _varint(frame, i + 1)
            if not 256 <= size <= _SPOP_MAX_FRAME:
                raise _SpopError(9)
        elif ftype == 102 and key == b"status-code":
            if frame[i] & 0x0F not in (2, 3, 4, 5):
                raise _SpopError(4)
            status, i = _varint(frame, i + 1)
        else:
            i = _spop_skip(frame, i)
    if ftype == 102:
        raise _SpopError(status if status is not None else 99)
    if vsn is None:
        raise _SpopError(5)
    if size is None:
        raise _SpopError(6)


def _spop_hello(run: TcpCheckRun, r: TcpCheckRule) -> CheckResult | bool | None:
    """``option spop-check``: the agent's reply frame, whole; an AGENT-HELLO that 2.6 accepts
    passes, anything else fails with SPOP's reason (an AGENT-DISCONNECT's status-code)."""
    buf = run.buf
    if len(buf) < 5:
        return None if not run.last_read else _result("L7RSP", "", 0)
    # 2.6.12 judges what the first read brought, whatever the frame's length says
    n = int.from_bytes(buf[:4], "big")
    try:
        _spop_frame(buf[4:4 + n])
    except _SpopError as e:
        return _result("L7RSP", SPOP_ERRORS[e.code] if e.code < len(SPOP_ERRORS) else "unknown error", 0)
    except IndexError:
        return _result("L7RSP", SPOP_ERRORS[4], 0)
    run.info = "SPOA server is ok"
    return True


_CUSTOM = {"mysql-greeting": _mysql_greeting, "mysql-ok": _mysql_ok, "ldap-bind": _ldap_bind_response,
           "agent": _agent_reply, "spop-hello": _spop_hello}


class TcpCheckRun:
    """One probe's walk through a tcp-check sequence."""

    __slots__ = ("rules", "proto", "i", "buf", "cur", "last_read", "conn", "_regex", "phase", "code", "info",
                 "wall", "agent_line", "txn", "_lf")

    def __init__(self, rules: tuple[TcpCheckRule, ...], proto: bool = False, wall: float = 0.0,
                 txn: Any = None) -> None:
        self.rules = rules
        self.proto = proto
        #: the wall clock (s) for the send data built at run time
        self.wall = wall
        #: the check code and on-success text the last passed expect took from the response
        self.code = 0
        self.info: str | None = None
        self.i = 0
        self.buf = b""
        self.cur: TcpCheckRule | None = None
        self.last_read = False
        self.conn = False
        #: "connect" while a Connect is pending, "recv" while a Recv is, "" otherwise
        self.phase = ""
        self._regex: dict[int, re.Pattern[bytes]] = {}
        #: the agent check's reply line, once read
        self.agent_line: str | None = None
        #: the samples Txn of this check (its check-scoped variables) for the log-format rules
        self.txn = txn
        #: the patterns of the expect string-lf/binary-lf rules, built once per check
        self._lf: dict[int, bytes] = {}

    # ------------------------------------------------------------------ events
    def connected(self) -> None:
        self.conn = True
        self.phase = ""
        self.i += 1

    def feed(self, data: bytes) -> None:
        self.buf += data
        self.phase = ""
        if len(self.buf) >= MAX_RESPONSE:
            self.last_read = True

    def closed(self) -> None:
        self.last_read = True
        self.phase = ""

    def connect_error(self, err: int) -> CheckResult:
        return _result("L4CON", (os.strerror(err) if err else "") + self.where(), None)

    def tls_error(self, text: str, timeout: bool = False) -> CheckResult:
        """A connect step's TLS handshake failed (``text``: 'SSL handshake failure', a name
        mismatch) or timed out."""
        return _result("L6TOUT" if timeout else "L6RSP", text + self.where(), None)

    def sock_error(self, err: int) -> CheckResult:
        if self.phase == "connect":
            return self.connect_error(err)
        return _result("SOCKERR", (os.strerror(err) if err else "") + self.where(), None)

    def timeout(self) -> CheckResult:
        rule = self.cur
        if self.phase == "connect" or not self.conn:
            return _result("L4TOUT", self.where(), None)
        status = "L7TOUT"
        if rule is not None and rule.action == "expect" and rule.tout_status:
            status = rule.tout_status
        return _result(status, self.where(), 0)

    def where(self) -> str:
        """`` at step N of tcp-check (expect string 'X') comment: 'C'`` for errors and timeouts."""
        if self.proto:
            return ""
        r = self.cur
        if r is None or r.index < 0:
            return " at initial connection step of tcp-check"
        s = f" at step {r.index + 1} of tcp-check"
        if r.action == "connect":
            s += f" (connect port {r.port})" if r.port else " (connect)"
        elif r.action == "send":
            s += " (send)"
        elif r.kind == "string":
            s += f" (expect string '{_latin(r.pattern)}')"
        elif r.kind == "binary":
            s += f" (expect binary '{_latin(r.pattern)}')"
        elif r.kind == "rstring":
            s += " (expect regex)"
        elif r.kind == "rbinary":
            s += " (expect binary regex)"
        elif r.kind == "string-lf":
            s += " (expect log-format string)"
        elif r.kind == "binary-lf":
            s += " (expect log-format binary)"
        if r.comment:
            s += f" comment: '{r.comment}'"
        return s

    # ------------------------------------------------------------------ evaluation
    def step(self) -> Action:
        rules = self.rules
        while self.i < len(rules):
            r = rules[self.i]
            if r.action == "connect":
                self.cur = r
                self.conn = False
                self.buf = b""
                self.last_read = False
                self.phase = "connect"
                return Connect(r)
            if r.action == "action":  # set-var / set-var-fmt / unset-var
                self.cur = r
                self.i += 1
                self._var(r)
                continue
            if r.action == "send":
                self.cur = r
                self.buf = b""
                self.last_read = False
                self.i += 1
                if r.fmt is not None:
                    data = r.fmt(self.txn)
                    if r.kind == "binary":
                        try:
                            data = bytes.fromhex(data.decode("latin-1"))
                        except ValueError:
                            return Done(_result("L7RSP", f"tcp-check send : failed to build binary data at "
                                                         f"step {r.index + 1}", 0))
                    return Send(data)
                return Send(ssl3_client_hello(self.wall) if r.dynamic == "ssl3-hello" else r.data)
            self.cur = r
            verdict = self._expect(r)
            if verdict is None:
                self.phase = "recv"
                return RECV
            if isinstance(verdict, CheckResult):
                return Done(verdict)
            self.i += 1
        return Done(self._final())

    def _final(self) -> CheckResult:
        r = self.cur
        if r is not None and r.action == "expect":
            code = self._status(r, self.code)
            info = self.info if self.info is not None else r.on_success
            res = _result(r.ok_status or "L7OK", "(tcp-check)" if info is None else info, code)
            if r.kind in _CUSTOM:
                # 2.6 logs the text a protocol check's own parser gives, then the end of the
                # sequence sets the (empty) on-success text, which is what show stat keeps
                res.shown = ""
            return res
        if r is not None and r.action == "connect":
            return _result("L4OK", "" if r.index < 0 else "(tcp-check)", None)
        return _result("L7OK", "(tcp-check)", 0)

    def _status(self, r: TcpCheckRule, default: int) -> int:
        """The check code an expect reports: ``status-code`` (a number, or an expression on the
        check's Txn: its integer value, else ``default``), else ``default``."""
        if r.status_code is not None:
            return r.status_code
        if r.status_expr is not None and self.txn is not None:
            smp = r.status_expr(self.txn)
            v = smp.value if smp is not None else None
            if isinstance(v, bool):
                return int(v)
            if isinstance(v, int):
                return v
            if isinstance(v, bytes) and v.strip().lstrip(b"-").isdigit():
                return int(v)
        return default

    def _var(self, r: TcpCheckRule) -> None:
        """An action rule: its compiled action (config/tcpcheck.py) on the check's Txn."""
        if self.txn is not None and r.expr is not None:
            r.expr(self.txn)

    def _lf_pattern(self, r: TcpCheckRule) -> bytes:
        p = self._lf.get(r.index)
        if p is None:
            p = r.fmt(self.txn) if self.txn is not None else b""
            if r.kind == "binary-lf":
                try:
                    p = bytes.fromhex(p.decode("latin-1"))
                except ValueError:
                    p = b""
            self._lf[r.index] = p
        return p

    def _regex_of(self, r: TcpCheckRule) -> re.Pattern[bytes]:
        rx = self._regex.get(r.index)
        if rx is None:
            rx = self._regex[r.index] = re.compile(r.pattern)
        return rx

    def _expect(self, r: TcpCheckRule) -> CheckResult | bool | None:
        """None: wait for more data; True: passed; a CheckResult: the check failed."""
        buf = self.buf
        last = self.last_read
        err_status = r.error_status or "L7RSP"
        code = self._status(r, 0)
        if not buf:
            if not last:
                return None
            msg = f"TCPCHK got an empty response at step {r.index + 1}"
            if r.comment:
                msg += f" comment: '{r.comment}'"
            return _result(err_status, msg, code)
        if r.kind in _CUSTOM:
            return _CUSTOM[r.kind](self, r)
        pattern = self._lf_pattern(r) if r.fmt is not None else r.pattern
        if not last:
            if r.kind in ("string", "binary", "string-lf", "binary-lf") and len(buf) < len(pattern):
                return None
            if r.min_recv > 0 and len(buf) < r.min_recv:
                return None
        if r.kind in ("string", "binary", "string-lf", "binary-lf"):
            match = pattern in buf
        elif r.kind == "rstring":
            match = self._regex_of(r).search(buf) is not None
        else:
            match = self._regex_of(r).search(hex_upper(buf)) is not None
        if not match and not last and r.min_recv == -1:
            return None
        if match != r.neg:
            self.code = payload_code(buf, self.code) if r.status_code_payload else self.code
            self.info = payload_text(r.on_success_fmt, buf) if r.on_success_fmt else None
            if r.on_success_lf is not None and self.txn is not None:
                self.info = _latin(r.on_success_lf(self.txn))
            return True
        if r.status_code_payload:
            code = payload_code(buf, code)
        if r.on_error_fmt is not None:
            info = payload_text(r.on_error_fmt, buf)
        elif r.on_error_lf is not None and self.txn is not None:
            info = _latin(r.on_error_lf(self.txn))
        elif r.on_error is not None:
            info = r.on_error
        else:
            what = "matched unwanted" if match else "did not match"
            if r.kind == "string":
                info = f"TCPCHK {what} content '{_latin(r.pattern)}' at step {r.index + 1}"
            else:
                label = {"binary": "binary", "rstring": "regex", "rbinary": "binary regex",
                         "string-lf": "log-format string", "binary-lf": "log-format binary"}[r.kind]
                info = f"TCPCHK {what} content ({label}) at step {r.index + 1}"
            if r.comment:
                info += f" comment: {r.comment}"
        return _result(err_status, info, code)
