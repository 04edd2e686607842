"""Cookie persistence (``cookie NAME insert|rewrite|prefix ...``; HAPROXY_FACTS 4). Pure.

Works on header lists ``list[tuple[str, str]]`` (name as received, value) and returns new lists;
the time ``now`` is the wall clock in seconds (cookie dates are Unix times).

Request side, :func:`parse_request`: finds the persistence cookie in the ``Cookie`` headers,
decodes its dates, applies ``maxidle``/``maxlife`` expiry, strips it for ``insert indirect`` and
removes the server prefix in ``prefix`` mode. The engine passes ``RequestCookie.value`` to
``LbRequest.cookie``; the backend matches it to a server (``Backend.persist_lookup``).

Response side, :func:`process_response`: handles the server's own ``Set-Cookie`` (delete, rewrite,
prefix, preserve) and appends the inserted cookie. :func:`log_flags` gives the two letters of the
log's termination state (``NI``, ``VN``, ``DI``, ``--`` ...).
"""

from __future__ import annotations

from typing import Any

Headers = list[tuple[str, str]]

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64REV = {c: i for i, c in enumerate(B64)}
_SPHT = " \t"
DELETE_COOKIE = "{}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"


def s30tob64(v: int) -> str:
    """HAProxy's 5-character base64 of the low 30 bits of ``v``."""
    return "".join(B64[(v >> (24 - 6 * i)) & 63] for i in range(5))


def b64tos30(s: str) -> int:
    """Inverse of :func:`s30tob64`; -1 when the 5 characters are not valid."""
    if len(s) < 5:
        return -1
    out = 0
    for c in s[:5]:
        b = _B64REV.get(c)
        if b is None:
            return -1
        out = (out << 6) + b
    return out


def cookie_date(now: float) -> str:
    """Date field of a cookie with maxidle/maxlife: ``(unix_time + 3) >> 2`` in 5 base64 chars."""
    return s30tob64((int(now) + 3) >> 2)


def _value_end(h: str, s: int, e: int) -> int:
    """http_find_cookie_value_end: end of a value, respecting quotes; stops at ',' or ';'."""
    quoted = qdpair = False
    while s < e:
        c = h[s]
        if qdpair:
            qdpair = False
        elif quoted:
            if c == "\\":
                qdpair = True
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "," or c == ";":
            return s
        s += 1
    return s


def _del_value(h: str, frm: int, nxt: int) -> tuple[str, int, int]:
    """http_del_hdr_value: remove the value between ``frm`` (its delimiter, or 0) and ``nxt``
    (the next delimiter). Returns (new header, delta, new frm)."""
    end = len(h)
    mid = ""
    if frm == 0:
        if nxt < end:
            nxt += 1
        while nxt < end and h[nxt] in _SPHT:
            nxt += 1
        prev = 0
    else:
        prev = frm
        while prev > 0 and h[prev - 1] in _SPHT:
            prev -= 1
        frm = prev
        if nxt < end:
            mid = h[nxt]
            nxt += 1
            prev += 1
            if prev + 1 < nxt:
                mid += " "
                prev += 1
            while nxt < end and h[nxt] in _SPHT:
                nxt += 1
    return h[:frm] + mid + h[nxt:], prev - nxt, frm


class RequestCookie:
    """Result of :func:`parse_request`.

    value: the server part of the persistence cookie ("" when present but empty, None when
    absent or expired); flag: "N" (no such cookie), "E" (idle expired), "O" (too old) or "" (to
    be decided by the server match: use :func:`request_flag`); last_date/first_date: Unix times
    decoded from the cookie (0 = none); headers: the request headers to forward.
    """

    __slots__ = ("value", "flag", "last_date", "first_date", "headers", "found")

    def __init__(self) -> None:
        self.value: str | None = None
        self.flag = "N"
        self.last_date = 0
        self.first_date = 0
        self.headers: Headers = []
        self.found = False


def parse_request(headers: Headers, conf: Any, now: float) -> RequestCookie:
    """Request side of cookie persistence for ``conf`` (a ``config.model.CookieConf``)."""
    res = RequestCookie()
    name = conf.name
    insert_indirect = conf.mode == "insert" and conf.indirect
    prefix = conf.mode == "prefix"
    tnow = int(now)
    out: Headers = []
    for hname, hval in headers:
        if hname.lower() != "cookie":
            out.append((hname, hval))
            continue
        h = hval
        del_from: int | None = None
        preserve = False
        prev = 0
        while prev < len(h):
            att_beg = prev + 1 if prev > 0 else prev
            end = len(h)
            while att_beg < end and h[att_beg] in _SPHT:
                att_beg += 1
            equal = att_end = att_beg
            while equal < end:
                c = h[equal]
                if c == "=" or c == "," or c == ";":
                    break
                equal += 1
                if c in _SPHT:
                    continue
                att_end = equal
            if equal < end and h[equal] == "=":
                val_beg = equal + 1
                while val_beg < end and h[val_beg] in _SPHT:
                    val_beg += 1
                nxt = _value_end(h, val_beg, end)
                val_end = nxt
                while val_end > val_beg and h[val_end - 1] in _SPHT:
                    val_end -= 1
            else:
                val_beg = val_end = nxt = equal
            if att_beg < end and h[att_beg] == "$":
                prev = nxt
                continue
            if equal == nxt:
                preserve = True
                if del_from is not None:
                    h, delta, del_from = _del_value(h, del_from, prev)
                    nxt += delta
                    prev = del_from
                    del_from = None
                prev = nxt
                continue
            if att_end != equal or val_beg > equal + 1:
                if att_end != equal:
                    h = h[:att_end] + h[equal:]
                    d = att_end - equal
                    equal += d
                    val_beg += d
                    val_end += d
                    nxt += d
                if val_beg > equal + 1:
                    d = equal + 1 - val_beg
                    h = h[:equal + 1] + h[val_beg:]
                    val_beg += d
                    val_end += d
                    nxt += d
            if h[att_beg:att_end] == name:
                delim = val_end
                if prefix:
                    t = h.find("~", val_beg, val_end)
                    delim = t if t >= 0 else val_end
                else:
                    vbar = h.find("|", val_beg, val_end)
                    if vbar >= 0:
                        delim = vbar
                        vbar += 1
                        if val_end - vbar >= 5:
                            v = b64tos30(h[vbar:vbar + 5])
                            if v > 0:
                                res.last_date = v << 2
                        vbar2 = h.find("|", vbar, val_end)
                        if vbar2 >= 0 and val_end - vbar2 > 5:
                            v = b64tos30(h[vbar2 + 1:vbar2 + 6])
                            if v > 0:
                                res.first_date = v << 2
                if not res.found:
                    res.found = True
                    res.flag = ""
                    if res.first_date and conf.maxlife and (
                            tnow - res.first_date > conf.maxlife or res.first_date - tnow > 86400):
                        res.flag = "O"
                        res.first_date = res.last_date = 0
                        delim = val_beg
                    elif res.last_date and conf.maxidle and (
                            tnow - res.last_date > conf.maxidle or res.last_date - tnow > 86400):
                        res.flag = "E"
                        res.first_date = res.last_date = 0
                        delim = val_beg
                    res.value = None if res.flag else h[val_beg:delim]
                if prefix and delim != val_end:
                    h = h[:val_beg] + h[delim + 1:]
                    nxt += val_beg - (delim + 1)
                    del_from = None
                    preserve = True
                elif del_from is None and insert_indirect:
                    del_from = prev
            else:
                preserve = True
                if del_from is not None:
                    h, delta, del_from = _del_value(h, del_from, prev)
                    nxt += delta
                    prev = del_from
                    del_from = None
            prev = nxt
        if del_from is not None:
            h = h[:del_from] if preserve else ""
        if h:
            out.append((hname, h))
    res.headers = out
    return res


def request_flag(rc: RequestCookie, lookup_flag: str) -> str:
    """The request letter of the log: E/O from expiry, N without cookie, else the backend's match
    result (``Decision.cookie_flag``: V, D or I)."""
    if rc.flag:
        return rc.flag
    return lookup_flag or "I"


def set_cookie_value(conf: Any, server_cookie: str | None, now: float, first_date: int = 0) -> str:
    """The value of the ``Set-Cookie`` header HAProxy inserts for a server."""
    if not server_cookie:
        v = DELETE_COOKIE.format(conf.name)
    else:
        v = f"{conf.name}={server_cookie}"
        if conf.maxidle or conf.maxlife:
            v += "|" + cookie_date(now)
            if conf.maxlife:
                v += "|" + (s30tob64(first_date >> 2) if first_date else cookie_date(now))
        v += "; path=/"
    for d in conf.domains:
        v += "; domain=" + d
    if conf.httponly:
        v += "; HttpOnly"
    if conf.secure:
        v += "; Secure"
    for a in conf.attrs:
        v += "; " + a
    return v


#: statuses whose responses 2.6 may take as cacheable (the others never get nocache's header)
_CACHEABLE_STATUS = frozenset((200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501))
_CC_NEVER = frozenset(("private", "no-cache", "no-store", "max-age=0", "s-maxage=0"))


def cacheable(headers: Headers, status: int, method: str) -> bool:
    """Whether 2.6 takes a response as one a shared cache could keep, which is when ``cookie ...
    nocache`` adds ``cache-control: private`` to it (observed on 2.6.12 with generated responses,
    see the differential test of class 5, issue #13). A GET or HEAD answered with a status of
    :data:`_CACHEABLE_STATUS` starts cacheable, anything else not; each ``Cache-Control`` token in
    order then makes it cacheable (``public``) or not (``private``, ``no-cache``, ``no-store``,
    ``max-age=0``, ``s-maxage=0``); ``Pragma: no-cache`` makes it not; and it also needs freshness or
    a validator (``Expires``, ``Last-Modified``, ``ETag``, ``max-age``/``s-maxage``)."""
    ok = status in _CACHEABLE_STATUS and method in ("GET", "HEAD")
    fresh = False
    for name, value in headers:
        n = name.lower()
        if n == "cache-control":
            for tok in value.split(","):
                t = tok.strip().lower()
                if t == "public":
                    ok = True
                elif t in _CC_NEVER:
                    ok = False
                elif t.startswith(("max-age=", "s-maxage=")):
                    fresh = True
        elif n == "pragma":
            if value.strip().lower() == "no-cache":
                return False
        elif n in ("expires", "last-modified", "etag"):
            fresh = True
    return ok and fresh


def process_response(headers: Headers, conf: Any, *, server_cookie: str | None, has_server: bool,
                     direct: bool, method: str, now: float, last_date: int = 0,
                     first_date: int = 0, status: int = 200) -> tuple[Headers, str]:
    """Response side: returns (headers to send, response letter of the log: N P D I R U).

    ``has_server``: a real server answered (not <NOSRV>/dispatch); ``server_cookie`` its ``cookie``
    value; ``direct``: the request was sent to the server its cookie designated (Decision
    ``persistent``); ``last_date``/``first_date``: from :class:`RequestCookie`; ``status``: the
    response's (``nocache`` needs it).
    """
    name = conf.name
    mode = conf.mode
    flag = "N"
    found = False
    out: Headers = []
    for hname, hval in headers:
        if hname.lower() != "set-cookie":
            out.append((hname, hval))
            continue
        h = hval
        end = len(h)
        att_beg = 0
        while att_beg < end and h[att_beg] in _SPHT:
            att_beg += 1
        equal = att_end = att_beg
        while equal < end:
            c = h[equal]
            if c == "=" or c == "," or c == ";":
                break
            equal += 1
            if c in _SPHT:
                continue
            att_end = equal
        if not (equal < end and h[equal] == "=") or h[att_beg:att_end] != name:
            out.append((hname, hval))
            continue
        val_beg = equal + 1
        while val_beg < end and h[val_beg] in _SPHT:
            val_beg += 1
        val_end = _value_end(h, val_beg, end)
        while val_end > val_beg and h[val_end - 1] in _SPHT:
            val_end -= 1
        found = True
        flag = "P"
        if conf.preserve:
            out.append((hname, hval))
        elif (has_server and mode == "insert") or (direct and conf.indirect):
            flag = "D"
        elif has_server and server_cookie and mode == "rewrite":
            out.append((hname, h[:val_beg] + server_cookie + h[val_end:]))
            flag = "R"
        elif has_server and server_cookie and mode == "prefix":
            out.append((hname, h[:val_beg] + server_cookie + "~" + h[val_beg:]))
            flag = "R"
        else:
            out.append((hname, hval))
    tnow = int(now)
    if (has_server and mode == "insert" and not (found and conf.preserve)
            and (not direct
                 or ((conf.maxidle or last_date) and (not last_date or last_date - tnow < 0))
                 or (conf.maxlife and not first_date)
                 or (not conf.maxlife and first_date))
            and (not conf.postonly or method == "POST")):
        out.append(("set-cookie", set_cookie_value(conf, server_cookie, now, first_date)))
        flag = "U" if (server_cookie and direct) else "I"
        if conf.nocache and cacheable(headers, status, method):
            # a cookie was set: tell caches not to share this response (2.6 says 'private')
            out.append(("cache-control", "private"))
    return out, flag


def log_flags(conf: Any, req_flag: str, resp_flag: str) -> str:
    """The two cookie letters of the termination state ("--" when the backend has no cookie)."""
    if conf is None:
        return "--"
    return (req_flag or "N") + (resp_flag or "N")
