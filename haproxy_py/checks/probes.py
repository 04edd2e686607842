"""Health-check probes: the bytes a check sends and the verdict on what comes back. Pure.

HAPROXY_FACTS 7.1. A TCP check only connects; an HTTP check (``option httpchk``) sends one request and
reads one response. The engine (``engine/checker.py``) does the I/O and calls:

* ``build_http_request(hc, send_state=None) -> bytes``
* ``HttpVerdict``: ``feed(data) -> CheckResult | None`` then ``closed() -> CheckResult`` / ``timeout()``
* ``connect_failed(errno_code, duration)``, ``connect_timeout(duration)``, ``tcp_passed(duration)``
"""

from __future__ import annotations

import errno as _errno
import os
import re
from typing import Any

from haproxy_py.config.model import HttpCheck

RES_UNKNOWN = 0
RES_NEUTRAL = 1
RES_FAILED = 2
RES_PASSED = 3
RES_CONDPASS = 4

#: the statuses 2.6 reports a check code with
_CODED = frozenset({"L7OK", "L7OKC", "L7STS"})

#: how much of a response is kept for ``expect string``/``rstring`` (HAProxy's bufsize)
MAX_RESPONSE = 16384


class CheckResult:
    """One check outcome: status (``L4OK`` ...), result (RES_*), code, info (``last_chk``), duration ms.
    ``shown``: what ``last_chk`` keeps when it is not the logged info (None: the info)."""

    __slots__ = ("status", "result", "code", "info", "duration", "shown")

    def __init__(self, status: str, result: int, code: int | None = None, info: str = "",
                 duration: int | None = None) -> None:
        self.status = status
        self.result = result
        self.code = code
        self.info = info
        self.duration = duration
        self.shown: str | None = None

    @property
    def passed(self) -> bool:
        return self.result >= RES_PASSED

    def __repr__(self) -> str:
        return f"CheckResult({self.status!r}, {self.result}, {self.code!r}, {self.info!r}, {self.duration!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckResult):
            return NotImplemented
        return (self.status, self.result, self.code, self.info, self.duration) == (
            other.status, other.result, other.code, other.info, other.duration)


# --------------------------------------------------------------------------- layer 4


def tcp_passed(duration: int | None = None) -> CheckResult:
    return CheckResult("L4OK", RES_PASSED, None, "", duration)


def connect_failed(err: int, duration: int | None = None) -> CheckResult:
    """A refused/unreachable connection: L4CON with the system's error text (``Connection refused``)."""
    return CheckResult("L4CON", RES_FAILED, None, os.strerror(err) if err else "", duration)


def connect_timeout(duration: int | None = None) -> CheckResult:
    return CheckResult("L4TOUT", RES_FAILED, None, "", duration)


def socket_error(err: int = 0, duration: int | None = None) -> CheckResult:
    return CheckResult("SOCKERR", RES_FAILED, None, os.strerror(err) if err else "", duration)


CONNECT_ERRNOS = frozenset({_errno.ECONNREFUSED, _errno.ECONNRESET, _errno.EHOSTUNREACH,
                            _errno.ENETUNREACH, _errno.ECONNABORTED})


# --------------------------------------------------------------------------- request bytes


def split_legacy_version(hc: HttpCheck) -> tuple[str, list[tuple[str, str]]]:
    """``option httpchk HEAD /x HTTP/1.1\\r\\nHost:\\ www`` smuggles headers in the version: split them."""
    ver = hc.version
    headers = list(hc.headers)
    if "\r\n" in ver or "\\r\\n" in ver:
        parts = re.split(r"\r\n|\\r\\n", ver)
        ver = parts[0]
        for line in parts[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.replace("\\ ", " ").strip()))
    return ver, headers


def _lf(fmt: Any, txn: Any) -> str:
    return fmt(txn).decode("latin-1") if txn is not None else ""


def build_http_request(hc: HttpCheck, send_state: str | None = None, txn: Any = None) -> bytes:
    """The exact request bytes of an HTTP check (samples/health_checks/check_requests_received.txt).

    Header names are lower-cased; ``connection: close`` is added for HTTP/1.1; ``send_state`` is the
    value of ``x-haproxy-server-state`` (see ``send_state_value``) when ``http-check send-state``.
    ``txn``: the check's samples Txn, for ``uri-lf``, ``body-lf`` and header values with ``%``.
    """
    ver, headers = split_legacy_version(hc)
    uri = _lf(hc.uri_fmt, txn) if hc.uri_fmt is not None else hc.uri
    if hc.header_fmts:
        for i, fmt in hc.header_fmts:
            if i < len(headers):
                headers[i] = (headers[i][0], _lf(fmt, txn))
    out = [f"{hc.method} {uri} {ver}\r\n"]
    has_conn = False
    for name, value in headers:
        lname = name.lower()
        if lname == "connection":
            has_conn = True
        if lname == "content-length":
            continue
        out.append(f"{lname}: {value}\r\n")
    if send_state is not None:
        out.append(f"x-haproxy-server-state: {send_state}\r\n")
    body = hc.body_fmt(txn) if hc.body_fmt is not None and txn is not None else (
        hc.body.encode("latin-1") if hc.body and hc.body_fmt is None else b"")
    if body:
        out.append(f"content-length: {len(body)}\r\n")
    if ver.upper() == "HTTP/1.1" and not has_conn:
        out.append("connection: close\r\n")
    out.append("\r\n")
    return "".join(out).encode("latin-1") + body


def send_state_value(state_text: str, address: str, port: int, backend: str, server: str, node: str,
                     weight: int, total_weight: int, scur: int, be_scur: int, qcur: int) -> str:
    """``UP 1/3; address=127.0.0.1; port=23035; name=b5/c5; node=vm; weight=1/1; scur=0/0; qcur=0``."""
    return (f"{state_text}; address={address}; port={port}; name={backend}/{server}; node={node};"
            f" weight={weight}/{total_weight}; scur={scur}/{be_scur}; qcur={qcur}")


# --------------------------------------------------------------------------- response verdict

_STATUS_LINE = re.compile(rb"HTTP/\d\.\d +(\d{3})(?: ([^\r\n]*))?\r?\n")


def _status_matches(pattern: str, code: int) -> bool:
    """``expect status 200`` / ``200-399`` / ``200,302`` (2.6 accepts lists and ranges)."""
    for part in pattern.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            if sep:
                if int(lo) <= code <= int(hi):
                    return True
            elif int(lo) == code:
                return True
        except ValueError:
            continue
    return False


class HttpVerdict:
    """Incremental evaluation of one HTTP check response.

    ``feed(data)`` returns a CheckResult as soon as the verdict is known, else None; ``closed()`` when
    the server closed; ``timeout()`` when the read timer expired. Durations are filled by the caller.
    The expect rule's options (``ok-status``, ``error-status``, ``on-success``, ``on-error``,
    ``status-code``, ``comment``) shape the result as 2.6's; ``txn`` is the check's samples Txn
    for the log-format ones (``expect string-lf``, ``on-error "%[...]"``).
    """

    __slots__ = ("expect", "disable_on_404", "buf", "_regex", "_need_body", "opts", "txn", "_pat", "chain",
                 "waiting")

    def __init__(self, hc: HttpCheck | None, txn: Any = None) -> None:
        #: the expect rules before this one (``http-check expect`` lines before the last), judged
        #: first on the same response; ``waiting``: the one that waits for more of it
        self.chain: list[HttpVerdict] = []
        self.waiting: HttpVerdict | None = None
        if hc is not None and hc.expects_before:
            import dataclasses

            self.chain = [HttpVerdict(dataclasses.replace(hc, expect=e, expect_opts=o, expects_before=()), txn)
                          for e, o in hc.expects_before]
        self.expect = hc.expect if hc is not None else None
        self.disable_on_404 = bool(hc and hc.disable_on_404)
        self.buf = b""
        self._regex: re.Pattern[bytes] | None = None
        self._need_body = False
        self.opts: dict[str, Any] = dict(hc.expect_opts) if hc is not None and hc.expect_opts else {}
        self.txn = txn
        self._pat = b""
        if self.expect is not None:
            kind, pat, _neg = self.expect
            if kind in ("rstatus", "rstring"):
                self._regex = re.compile(pat.encode("latin-1"))
            elif kind == "string-lf":
                fmt = self.opts.get("fmt")
                self._pat = fmt(txn) if fmt is not None and txn is not None else b""
            elif kind == "string":
                self._pat = pat.encode("latin-1")
            self._need_body = kind in ("string", "rstring", "string-lf")

    def feed(self, data: bytes) -> CheckResult | None:
        self.buf += data
        return self._judge(final=len(self.buf) >= MAX_RESPONSE)

    def closed(self) -> CheckResult:
        res = self._judge(final=True)
        assert res is not None
        return res

    def timeout(self) -> CheckResult:
        w = self.waiting
        if w is not None and w is not self:
            return w.timeout()
        return CheckResult(self.opts.get("tout_status") or "L7TOUT", RES_FAILED)

    def _judge(self, final: bool) -> CheckResult | None:
        """Each expect rule in order on the response: the first failure, else the last result."""
        for v in self.chain:
            v.buf = self.buf
            r = v._evaluate(final)
            if r is None:
                self.waiting = v
                return None
            if not r.passed:
                return r
        self.waiting = self
        return self._evaluate(final)

    def _evaluate(self, final: bool) -> CheckResult | None:
        buf = self.buf
        if not buf:
            return CheckResult("L7RSP", RES_FAILED) if final else None
        if not b"HTTP/".startswith(buf[:5]):
            return CheckResult("L7RSP", RES_FAILED)
        m = _STATUS_LINE.match(buf)
        if m is None:
            if final or b"\n" in buf:
                return CheckResult("L7RSP", RES_FAILED)
            return None
        hdr_end = buf.find(b"\r\n\r\n")
        if hdr_end < 0 and not final:
            return None
        code = int(m.group(1))
        reason = (m.group(2) or b"").decode("latin-1").strip()
        if self.expect is not None and self.expect[0] in ("hdr", "fhdr"):
            ok = self._match_headers(buf[m.end():hdr_end if hdr_end >= 0 else len(buf)])
            if self.expect[2]:
                ok = not ok
            if ok:
                return self._passed(code)
            if self.disable_on_404 and code == 404:
                return CheckResult("L7OKC", RES_CONDPASS, code)
            return self._failed("L7STS", code, reason)  # 2.6 gives the status line's reason
        if self._need_body:
            if not final:
                clen = _content_length(buf[:hdr_end])
                if clen is None or len(buf) - (hdr_end + 4) < clen:
                    return None
            body = buf[hdr_end + 4:] if hdr_end >= 0 else b""
            return self._match_body(code, body)
        return self._match_status(code, reason)

    def _hmatch(self, m: tuple[str, Any], value: str, name: bool) -> bool:
        meth, pat = m
        if isinstance(pat, re.Pattern):
            return pat.search(value.encode("latin-1")) is not None
        text: str = pat if isinstance(pat, str) else (
            pat(self.txn).decode("latin-1") if self.txn is not None else "")
        if name:
            value = value.lower()
            text = text.lower()
        if meth == "str":
            return value == text
        if meth == "beg":
            return value.startswith(text)
        if meth == "end":
            return value.endswith(text)
        return text in value

    def _match_headers(self, head: bytes) -> bool:
        """``expect hdr``/``fhdr``: a header whose name matches, with a value that does (each
        comma-separated value for hdr, the whole line for fhdr), or any value without one."""
        full, mname, mvalue = self.opts["hdr"]
        for line in head.decode("latin-1").split("\r\n"):
            hname, sep, hval = line.partition(":")
            if not sep or not self._hmatch(mname, hname.strip(), True):
                continue
            if mvalue is None:
                return True
            values = [hval.strip()] if full else [v.strip() for v in hval.split(",")]
            if any(self._hmatch(mvalue, v, False) for v in values):
                return True
        return False

    def _text(self, key: str, default: str) -> str:
        v = self.opts.get(key)
        if v is None:
            return default
        if isinstance(v, str):
            return v
        return v(self.txn).decode("latin-1") if self.txn is not None else ""

    def _passed(self, code: int) -> CheckResult:
        o = self.opts
        if not o:
            return CheckResult("L7OK", RES_PASSED, code)
        st = o.get("ok_status") or "L7OK"
        return CheckResult(st, RES_CONDPASS if st == "L7OKC" else RES_PASSED,
                           o.get("status_code", code) if st in _CODED else None, self._text("on_success", ""))

    def _failed(self, status: str, code: int, info: str) -> CheckResult:
        """2.6 reports a code with L7STS only (of the failures)."""
        o = self.opts
        st = o.get("error_status") or status
        if o:
            info = self._text("on_error", info)
            if o.get("comment"):
                info += f" comment: {o['comment']}"
            code = o.get("status_code", code)
        return CheckResult(st, RES_FAILED, code if st in _CODED else None, info)

    def _match_status(self, code: int, reason: str) -> CheckResult:
        exp = self.expect
        if exp is None:
            if self.disable_on_404 and code == 404:
                return CheckResult("L7OKC", RES_CONDPASS, code)
            if 200 <= code < 400:
                return CheckResult("L7OK", RES_PASSED, code)
            return CheckResult("L7STS", RES_FAILED, code, reason)
        kind, pat, neg = exp
        if kind == "status":
            ok = _status_matches(pat, code)
        else:  # rstatus
            assert self._regex is not None
            ok = self._regex.search(str(code).encode()) is not None
        if neg:
            ok = not ok
        if ok:
            return self._passed(code)
        if self.disable_on_404 and code == 404:
            return CheckResult("L7OKC", RES_CONDPASS, code)
        return self._failed("L7STS", code, reason)

    def _match_body(self, code: int, body: bytes) -> CheckResult:
        kind, pat, neg = self.expect  # type: ignore[misc]
        if kind in ("string", "string-lf"):
            ok = self._pat in body
        else:
            assert self._regex is not None
            ok = self._regex.search(body) is not None
        if neg:
            ok = not ok
        if ok:
            return self._passed(code)
        if self.disable_on_404 and code == 404:
            return CheckResult("L7OKC", RES_CONDPASS, code)
        return self._failed("L7RSP", code, "HTTP check matched unwanted content" if neg else
                            "HTTP content check did not match")


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def observe_http_ok(status: int) -> bool:
    """``observe layer7``: is this response status a success (100-499, 501, 505)?"""
    return 100 <= status < 500 or status in (501, 505)
