"""The PROXY protocol header of an accepted connection (``bind ... accept-proxy``, ``tcp-request
connection expect-proxy layer4``), read before the session exists, as 2.6 does.

The first bytes are peeked at (MSG_PEEK) once the socket is readable; haproxy_py/conn/proxy_protocol
decides from them alone; a header is then consumed (exactly its length, the rest stays in the
socket for the session, TLS or splice), anything else closes the connection (with a reset when
bytes were left unread) and logs 2.6's line ("fe/1: Received something which does not look like a
PROXY protocol header"). The header must arrive within ``timeout client``. Listeners without
accept-proxy never come here.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any

from haproxy_py.conn import proxy_protocol as P

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.engine.router import Router

_wall = time.time
_PEEK = socket.MSG_PEEK


class ProxyAccept:
    __slots__ = ("router", "sock", "peer", "listener", "txn", "loop", "fd", "timer", "wall0", "t0",
                 "done", "watching")

    def __init__(self, router: Router, sock: socket.socket, peer: Any, listener: Any, txn: Any) -> None:
        self.router = router
        self.loop = router.engine.loop
        self.sock = sock
        self.fd = sock.fileno()
        self.peer = peer
        self.listener = listener
        #: the tcp-request connection rules' context (None without such rules)
        self.txn = txn
        self.timer: Any = None
        self.t0 = self.loop.time()
        self.wall0 = _wall()
        self.done = False
        self.watching = False

    def start(self) -> None:
        tmo = self.router.conf.timeouts.client
        if tmo:
            self.timer = self.loop.call_later(tmo / 1000.0, self._timeout)
        self.loop.add_reader(self.fd, self._ready)
        self.watching = True

    def _end(self) -> None:
        self.done = True
        if self.watching:
            self.watching = False
            try:
                self.loop.remove_reader(self.fd)
            except Exception:  # noqa: BLE001 - the loop may be closing
                pass
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _ready(self) -> None:
        if self.done:
            return
        sock = self.sock
        try:
            data = sock.recv(P.PEEK_SIZE, _PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._fail(P.ERR_ABORT)
            return
        if not data:
            self._fail(P.ERR_EMPTY)
            return
        res = P.parse(data)
        if isinstance(res, str):
            self._fail(res)
            return
        try:
            got = sock.recv(res.length)
        except OSError:
            got = b""
        if len(got) != res.length:
            self._fail(P.ERR_ABORT)
            return
        self._end()
        try:
            self.router.proxied(sock, self.peer, self.listener, self.txn, res, self.t0, self.wall0)
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            try:
                sock.close()
            except OSError:
                pass
            self.router.engine.connection_closed(self.router.frontend, self.listener)
            self.router.engine.session_fault(None, exc, "accept", fe=self.router.frontend, peer=self.peer)

    def _timeout(self) -> None:
        self.timer = None
        if not self.done:
            self._fail(P.ERR_TIMEOUT)

    def _fail(self, text: str) -> None:
        self._end()
        try:
            self.sock.close()
        except OSError:
            pass
        self.router.engine.connection_closed(self.router.frontend, self.listener)
        # a v2 header's addresses are the connection's before its TLVs are read (2.6)
        peer = getattr(text, "src", None) or self.peer
        self.router.log_embryonic(self.listener, peer, self.wall0, str(text),
                                  text in P.QUIET_UNDER_DONTLOGNULL)


def pp_session(sess: Any, pp: Any) -> None:
    """A session of a connection that began with a PROXY protocol header: the header for the
    fc_pp_* fetches and send-proxy's TLVs, the accept date and handshake time (%Th) of 2.6."""
    hdr, t0, wall0 = pp
    rec = sess.rec
    rec.pp = hdr
    rec.accept_date = wall0
    rec.t_handshake = int((sess.loop.time() - t0) * 1000)
    sess.accept_mono = t0
    if hasattr(sess, "req_start"):
        sess.req_start = t0


# --------------------------------------------------------------------------- sending


def _unique_id(sess: Any) -> bytes:
    """The stream's unique id (unique-id-format), made now if nothing asked for it yet; empty
    without a format (2.6 then sends an empty UNIQUE_ID TLV)."""
    router = sess.router
    fmt = router.uid_fmt
    if fmt is None:
        return b""
    txn = getattr(sess, "txn", None)
    if txn is not None:
        return txn.get_unique_id() or b""
    t = sess.sample_txn()
    t.uid_fmt = fmt
    return t.get_unique_id() or b""


def ssl_tlv(opts: Any, tls: Any) -> tuple[int, bytes]:
    """The SSL TLV 2.6 sends with ``proxy-v2-options ssl`` (and its sub-options): the client's TLS
    facts, an empty one for a plain-text client."""
    client = 0
    verify = 0
    subs: list[tuple[int, bytes]] = []
    if tls:
        client |= P.PP2_CLIENT_SSL
        proto = tls.protocol
        if proto:
            subs.append((P.PP2_SUBTYPE_SSL_VERSION, proto.encode("latin-1")))
        der = tls.peer_der()
        if der:
            client |= P.PP2_CLIENT_CERT_SESS
            if not tls.resumed:
                client |= P.PP2_CLIENT_CERT_CONN
        if "cert-cn" in opts and der:
            from haproxy_py.tls.info import dn_entry

            cn = dn_entry(tls.peer().get("subject"), "CN", 1)
            if cn:
                subs.append((P.PP2_SUBTYPE_SSL_CN, cn.encode("utf-8")))
        own = tls.cert  # 2.6 describes the certificate the frontend presented
        if "cert-key" in opts and own is not None and own.algorithm:
            subs.append((P.PP2_SUBTYPE_SSL_KEY_ALG, own.algorithm.encode("latin-1")))
        if "cert-sig" in opts and own is not None and own.der:
            from haproxy_py.tls.certs import sig_algorithm

            sig = sig_algorithm(own.der)
            if sig:
                subs.append((P.PP2_SUBTYPE_SSL_SIG_ALG, sig.encode("latin-1")))
        if "ssl-cipher" in opts:
            c = tls.cipher
            if c:
                subs.append((P.PP2_SUBTYPE_SSL_CIPHER, c.encode("latin-1")))
    return P.ssl_tlv(client, verify, subs)


def server_header(sess: Any, srv: Any) -> bytes:
    """What ``send-proxy`` / ``send-proxy-v2`` sends first on a connection of this session to the
    server: the session's client and frontend addresses (after the rules' set-src / set-dst and a
    received PROXY header), and in v2 the TLVs of 2.6 (ALPN of a TLS client, then the
    ``proxy-v2-options``)."""
    conf = srv.conf
    rec = sess.rec
    src = (sess.src_ip, sess.src_port)
    dst = (rec.frontend_ip, rec.frontend_port or 0)
    if not conf.send_proxy_v2:
        return P.build_v1(src, dst)
    opts = conf.pp_opts
    tls = rec.ssl
    tlvs: list[tuple[int, bytes]] = []
    if tls:
        alpn = tls.alpn
        if alpn:
            tlvs.append((P.PP2_TYPE_ALPN, alpn.encode("latin-1")))
    if "authority" in opts:
        hdr = rec.pp
        auth = hdr.authority if hdr is not None else None
        if auth is None and tls and tls.sni:
            auth = tls.sni.encode("latin-1")
        if auth is not None:
            tlvs.append((P.PP2_TYPE_AUTHORITY, auth))
    if "unique-id" in opts:
        tlvs.append((P.PP2_TYPE_UNIQUE_ID, _unique_id(sess)))
    if "ssl" in opts:
        tlvs.append(ssl_tlv(opts, tls))
    return P.build_v2(src, dst, tlvs, crc="crc32c" in opts)


#: global ``pp2-never-send-local`` (set by the engine from the configuration)
NEVER_SEND_LOCAL = False


def check_header(conf: Any, local: Any, peer: Any) -> bytes:
    """What a health check sends first with ``check-send-proxy`` (or ``tcp-check connect
    send-proxy``): 2.6 has no stream there; in v1 it gives the check connection's own addresses,
    in v2 (a server with send-proxy-v2) a LOCAL header (the check's addresses with
    ``pp2-never-send-local``), with its CRC32C and an empty SSL TLV when the server's
    proxy-v2-options ask for them."""
    if not conf.send_proxy_v2:
        return P.build_v1(local, peer)
    opts = conf.pp_opts
    tlvs = [P.ssl_tlv(0, 0, [])] if "ssl" in opts else []
    if NEVER_SEND_LOCAL:
        return P.build_v2(local, peer, tlvs, crc="crc32c" in opts)
    return P.build_v2(None, None, tlvs, crc="crc32c" in opts)
