"""What the first bytes of a TLS connection say, without decrypting anything (pure, sans-IO).

The ``req.ssl_*`` fetches read the client's first bytes (``tcp-request inspect-delay``) as 2.6 reads
them: each function returns ``(value, wait)`` where ``value`` is None when there is no answer and
``wait`` is true when more bytes could still give one (2.6's "may change"). All offsets are
checked; nothing here raises on any input.

* :func:`hello_type`: the handshake message type of an SSLv3/TLS record (1 ClientHello, 2
  ServerHello), once the whole handshake message is there;
* :func:`record_version`: the version, ``major << 16 | minor``: a handshake's hello version
  (0x030003 for TLS 1.2 and 1.3 clients), another record's header version, or an SSLv2 hello's;
  needs the whole record;
* :func:`sni` and :func:`alpn`: the first host name of the server_name extension, the first
  protocol of the ALPN extension, from a complete ClientHello;
"""

from __future__ import annotations

from collections.abc import Iterator

#: 2.6's largest accepted TLS record
MAX_RECORD = (1 << 14) + 2048


def _u16(d: bytes, i: int) -> int:
    return (d[i] << 8) | d[i + 1]


def _u24(d: bytes, i: int) -> int:
    return (d[i] << 16) | (d[i + 1] << 8) | d[i + 2]


def hello_type(data: bytes) -> tuple[int | None, bool]:
    n = len(data)
    if not n:
        return None, True
    b0 = data[0]
    if not (0x14 <= b0 <= 0x17 or b0 == 0xFF):
        return None, False
    if n < 9:
        return None, True
    if (data[1] << 16) + data[2] < 0x030000:
        return None, False
    if _u16(data, 3) < 4:
        return None, False
    hs_len = _u24(data, 6)
    if n < 9 + hs_len:
        return None, True
    return data[5], False


def record_version(data: bytes, bufsize: int = 16384) -> tuple[int | None, bool]:
    n = len(data)
    if not n:
        return None, True
    b0 = data[0]
    if 0x14 <= b0 <= 0x17 or b0 == 0xFF:
        if n < 5:
            return None, True
        version = (data[1] << 16) + data[2]
        msg_len = _u16(data, 3)
        if version < 0x030000 or msg_len < 1 or msg_len > MAX_RECORD:
            return None, False
        if b0 == 0x16:
            # a handshake: the version its hello message announces (TLS 1.2 and 1.3 clients put
            # 3.1 in the record header)
            if n < 11:
                return None, True
            version = (data[9] << 16) + data[10]
        left = n - 5
    else:
        # an SSLv2 hello: a short (2-byte) or long (3-byte) header; 2.6 reads the message type
        # two bytes in with either
        if b0 & 0x80:
            if n < 3:
                return None, True
            rlen = ((b0 & 0x7F) << 8) | data[1]
            plen = 0
            left = n - 2
        else:
            if n < 4:
                return None, True
            rlen = ((b0 & 0x3F) << 8) | data[1]
            plen = data[2]
            left = n - 3
        if data[2] != 0x01:
            return None, False
        left -= 1
        if left < 8:
            return None, True
        version = (data[3] << 16) + data[4]
        cilen = _u16(data, 5)
        silen = _u16(data, 7)
        chlen = _u16(data, 9)
        left -= 8
        if cilen % 3 or (silen and silen != 16) or not 16 <= chlen <= 32 or rlen != 9 + cilen + silen + chlen:
            return None, False
        msg_len = cilen + silen + chlen + plen
    msg_len = min(msg_len, bufsize)
    if left < msg_len:
        return None, True
    return version, False


def _extensions(data: bytes) -> tuple[Iterator[tuple[int, int, int]] | None, bool]:
    """The (type, start, length) of the extensions of a complete ClientHello at the start of
    ``data``, read one by one as 2.6 walks them (a broken one ends the walk); (None, wait) when
    there are none to read. As in 2.6, the hello counts as complete when the bytes after the record
    header reach the handshake's body length (its 4-byte header not counted)."""
    n = len(data)
    if not n:
        return None, True
    if data[0] != 0x16:
        return None, False
    if n < 3:
        return None, True
    if data[1] < 0x03 or data[2] < 0x01:
        return None, False
    if n < 5:
        return None, True
    if _u16(data, 3) < 1 + 3 + 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2:
        return None, False
    p = 5
    if n < p + 1:
        return None, True
    if data[p] != 0x01:
        return None, False
    if n < p + 4:
        return None, True
    hs_len = _u24(data, p + 1)
    if hs_len < 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2:
        return None, False
    if n - p < hs_len:
        return None, True
    p += 4
    end = min(n, p + hs_len)
    if end - p < 35 or data[p] < 0x03 or data[p + 1] < 0x01:
        return None, False
    sid = data[p + 34]
    if sid > 32 or sid > hs_len - 35:
        return None, False
    left = hs_len - 35 - sid
    p += 35 + sid
    if left < 4 or p + 2 > end:
        return None, False
    clen = _u16(data, p)
    if clen < 2 or clen > left:
        return None, False
    left -= 2 + clen
    p += 2 + clen
    if left < 2 or p >= end:
        return None, False
    comp = data[p]
    if comp < 1 or comp > left:
        return None, False
    left -= 1 + comp
    p += 1 + comp
    if left < 2 or p + 2 > end:
        return None, False
    ext_total = _u16(data, p)
    if ext_total > left - 2:
        return None, False
    return _walk(data, p + 2, ext_total, end), False


def _walk(data: bytes, p: int, left: int, end: int) -> Iterator[tuple[int, int, int]]:
    while left >= 4:
        if p + 4 > end:
            return
        et, el = _u16(data, p), _u16(data, p + 2)
        if el > left - 4 or p + 4 + el > end:
            return
        yield et, p + 4, el
        left -= 4 + el
        p += 4 + el


def sni(data: bytes) -> tuple[bytes | None, bool]:
    exts, wait = _extensions(data)
    if exts is None:
        return None, wait
    for et, start, el in exts:
        if et != 0:
            continue
        if el < 2:
            return None, False
        lst = _u16(data, start)
        if lst < 4 or lst > el - 2 or start + 5 > len(data):
            return None, False
        if data[start + 2] == 0:
            nlen = _u16(data, start + 3)
            return data[start + 5:start + 5 + nlen], False
    return None, False


def alpn(data: bytes) -> tuple[bytes | None, bool]:
    exts, wait = _extensions(data)
    if exts is None:
        return None, wait
    for et, start, el in exts:
        if et != 16:
            continue
        if el < 3:
            return None, False
        lst = _u16(data, start)
        if lst < 2 or lst > el - 2:
            return None, False
        plen = data[start + 2]
        if plen < 1 or plen > lst - 1:
            return None, False
        return data[start + 3:start + 3 + plen], False
    return None, False
