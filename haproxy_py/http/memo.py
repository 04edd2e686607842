"""The head memo (sans-IO): HTTP heads parsed and rewritten once per exact bytes.

The head parser and the rewriters are pure functions of the bytes they get, and traffic repeats
heads: a client asks for the same thing again, a server answers with the same header block (until
its Date header moves to the next second). Their results are memoised per exact head bytes (plus
whatever else the function reads), bounded in head size and in entry count (cleared when full).

A head that ends with the first CRLF CRLF of the buffer (and, for a request, does not start with
an empty line, which the parser skips) parses the same whatever follows it, so those bytes are
the key. A memoised head is shared read-only by every request that hits it: whoever changes a
request takes a private ``RequestHead.copy()`` first (engine/http.py ``HttpSession._own_req``).

Traffic whose heads never repeat (own query strings, cookies, request ids) would only pay for the
memo: after ``GIVE_UP`` misses in a row a memo is cleared and rests for ``REST`` heads (they are
parsed without it), then tries again.

The engine keeps one ``RequestMemo`` and one ``ResponseMemo`` per frontend (engine/router.py):
   RequestMemo:  request head bytes -> (RequestHead, consumed, its size as 2.6 counts it: htx.py)
   RequestMemo.fwd: (request head bytes, mode, forwardfor rule, src, name header, server name)
                 -> (head for the server, server connection reusable); cleared with its memo
   ResponseMemo: (response head bytes, method, keep_alive, http11, mode)
                 -> (ResponseHead, consumed, head for the client, keep the client, size as 2.6
                 counts it)
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from haproxy_py.http.message import RequestHead, ResponseHead
from haproxy_py.http.parse import (
    DEFAULT_BUFSIZE,
    DEFAULT_MAXHDR,
    DEFAULT_MAXREWRITE,
    parse_request,
    parse_response,
)
from haproxy_py.http.rewrite import prepare_response

__all__ = [
    "GIVE_UP",
    "MAX_ENTRIES",
    "MAX_HEAD",
    "REST",
    "Memo",
    "RequestMemo",
    "ResponseMemo",
    "head_key",
]

#: heads longer than this (bytes, CRLF CRLF excluded) are never memoised
MAX_HEAD = 2048
#: entries per memo; a full memo is cleared
MAX_ENTRIES = 512
#: misses in a row after which a memo gives up for a while
GIVE_UP = 32
#: heads parsed without the memo after it gave up
REST = 4096

K = TypeVar("K")
V = TypeVar("V")

#: a request as the memo gives it: (head, bytes consumed, its size as 2.6 counts it, memo key or
#: None); with a key, the head is the memo's shared object
ParsedRequest = tuple[RequestHead, int, int, bytes | None]
#: a response as the memo gives it: (head, bytes consumed, head for the client or None, keep the
#: client, size as 2.6 counts it or -1); with a head for the client, ``head`` is already
#: rewritten for the client and shared by the memo
ParsedResponse = tuple[ResponseHead, int, bytes | None, bool, int]


def head_key(buf: bytes, request: bool = True) -> bytes | None:
    """The memo key of the head at the start of ``buf``: its bytes up to and including the first
    CRLF CRLF, or None when that head cannot be memoised (not complete, too long, or a request
    preceded by empty lines)."""
    p = buf.find(b"\r\n\r\n")
    if 0 < p < MAX_HEAD and (not request or (buf[0] != 13 and buf[0] != 10)):
        return buf[:p + 4]
    return None


class Memo(Generic[K, V]):
    """A dict bounded in entries: cleared when full."""

    __slots__ = ("entries", "max_entries")

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.entries: dict[K, V] = {}
        self.max_entries = max_entries

    def get(self, key: K) -> V | None:
        return self.entries.get(key)

    def put(self, key: K, value: V) -> None:
        entries = self.entries
        if len(entries) >= self.max_entries:
            entries.clear()
        entries[key] = value

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


class _HeadMemo(Memo[K, V]):
    """A memo that gives up after ``give_up`` misses in a row and rests for ``rest`` heads."""

    __slots__ = ("miss", "resting", "give_up", "rest")

    def __init__(self, max_entries: int = MAX_ENTRIES, give_up: int = GIVE_UP, rest: int = REST) -> None:
        super().__init__(max_entries)
        #: misses in a row
        self.miss = 0
        #: heads left to parse without the memo
        self.resting = 0
        self.give_up = give_up
        self.rest = rest

    def _missed(self) -> bool:
        """Count a miss; True when the memo gives up now (it is then cleared and rests)."""
        self.miss += 1
        if self.miss < self.give_up:
            return False
        self.miss = 0
        self.resting = self.rest
        self.clear()
        return True


class RequestMemo(_HeadMemo[bytes, tuple[RequestHead, int, int]]):
    """Request heads per exact bytes, and (``fwd``) the heads forwarded for them."""

    __slots__ = ("fwd",)

    def __init__(self, max_entries: int = MAX_ENTRIES, give_up: int = GIVE_UP, rest: int = REST) -> None:
        super().__init__(max_entries, give_up, rest)
        #: (request key, mode, forwardfor rule, src, name header, server name) -> prepare_request's
        #: result; cleared with this memo
        self.fwd: Memo[tuple[Any, ...], tuple[bytes, bool]] = Memo(max_entries)

    def clear(self) -> None:
        self.entries.clear()
        self.fwd.clear()

    def parse(self, buf: bytes, *, bufsize: int = DEFAULT_BUFSIZE, maxrewrite: int = DEFAULT_MAXREWRITE,
              maxhdr: int = DEFAULT_MAXHDR) -> ParsedRequest | None:
        """``parse_request(buf, 0, ...)`` through the memo: None while the head is incomplete,
        ``ParseError`` as the parser raises it."""
        key = None
        if self.resting:
            self.resting -= 1
        else:
            key = head_key(buf)
            if key is not None:
                hit = self.entries.get(key)
                if hit is not None:
                    self.miss = 0
                    return hit[0], hit[1], hit[2], key
                if self._missed():
                    key = None
        res = parse_request(buf, 0, bufsize=bufsize, maxrewrite=maxrewrite, maxhdr=maxhdr)
        if res is None:
            return None
        req, consumed = res
        # 2.6 counts the request as its HTTP/1 layer parsed it (http/htx.py), before any rule
        size = req.htx_len  # the parser's count (http/htx.py request_size)
        if key is not None:
            self.put(key, (req, consumed, size))
        return req, consumed, size, key


class ResponseMemo(_HeadMemo[tuple[Any, ...], tuple[ResponseHead, int, bytes, bool, int]]):
    """Final response heads per exact bytes and what their rewrite for the client reads."""

    __slots__ = ()

    def parse(self, buf: bytes, req: RequestHead, mode: str, *, use: bool = True,
              bufsize: int = DEFAULT_BUFSIZE, maxrewrite: int = DEFAULT_MAXREWRITE,
              maxhdr: int = DEFAULT_MAXHDR) -> ParsedResponse | None:
        """``parse_response(buf, 0, method=req.method, ...)`` through the memo (``use``: the
        response may take a memoised rewrite: nothing else changes it). A final response (not
        1xx) comes rewritten for the client by ``prepare_response(resp, req, mode)``; an interim
        one, or any while the memo rests or is not used, comes as parsed, with no client head
        and size -1. None while the head is incomplete, ``ParseError`` as the parser raises it."""
        key = None
        if self.resting:
            self.resting -= 1
        elif use:
            head = head_key(buf, request=False)
            if head is not None:
                key = (head, req.method, req.keep_alive, req.http11, mode)
                hit = self.entries.get(key)
                if hit is not None:
                    self.miss = 0
                    return hit
                if self._missed():
                    key = None
        res = parse_response(buf, 0, method=req.method, bufsize=bufsize, maxrewrite=maxrewrite, maxhdr=maxhdr)
        if res is None:
            return None
        resp, consumed = res
        if key is not None and resp.status >= 200 and resp.status != 101:
            nres = resp.htx_len  # the parser's count (http/htx.py response_size)
            out, keep = prepare_response(resp, req, mode)
            entry = (resp, consumed, out, keep, nres)
            self.put(key, entry)
            return entry
        return resp, consumed, None, True, -1
