"""FastCGI servers (``proto fcgi`` with the backend's ``use-fcgi-app``): a server connection that
speaks FastCGI under the HTTP session's HTTP/1 exchange.

``FcgiConn`` is the session's server ``Conn``: what the session writes (the HTTP/1 request as it
forwards it) goes out as FastCGI records (http/fcgi.py ``RequestEncoder``: the CGI parameters
of 2.6 from the request, the client's and the listener's addresses and the app's settings), and
what the application answers reaches the session's ``on_data`` as an HTTP/1.1 response
(``ResponseDecoder``). The session otherwise runs unchanged: its rules, logs, timeouts and error
answers are those of HTTP servers (a broken FastCGI exchange is a server error: 502). Response
bodies stream through without splice(), bounded by one record and the held head.
"""

from __future__ import annotations

import re
import socket
from email.utils import formatdate
from typing import Any

from haproxy_py import __version__
from haproxy_py.engine.conn import Conn
from haproxy_py.http import fcgi as F

__all__ = ["FcgiApp", "FcgiConn", "app_for"]


class FcgiApp:
    """An fcgi-app section compiled once: the parameters' settings, set-param formats, passed headers."""

    __slots__ = ("conf", "appconf", "formats", "passed", "keep_conn", "logger")

    def __init__(self, conf: Any) -> None:
        from haproxy_py.samples import compile_format

        self.conf = conf
        rx = re.compile(conf.path_info.encode("latin-1", "replace")) if conf.path_info else None
        self.appconf = F.AppConf(conf.docroot.encode(), conf.index.encode(), rx)
        self.formats = tuple((n.encode(), compile_format(fmt)) for n, fmt in conf.set_params)
        self.passed = frozenset(h.lower().encode() for h in conf.pass_headers)
        self.keep_conn = bool(conf.keep_conn)
        self.logger: Any = None

    def log_stderr(self, g: Any, text: bytes) -> None:
        """'log-stderr global': one line at level err to the global targets, tagged with the app's
        name (as 2.6 sends it)."""
        lg = self.logger
        if lg is None:
            from haproxy_py.log.syslog import Logger, _hostname

            lg = self.logger = Logger(g.logs, tag=self.conf.name, hostname=_hostname(g))
        lg.send(3, text)


_APPS: dict[str, FcgiApp] = {}
#: SERVER_SOFTWARE (2.6 sends "HAProxy" and its version)
SOFTWARE = f"haproxy-py {__version__}".encode()


def app_for(state: Any, backend: Any) -> FcgiApp | None:
    """The compiled fcgi-app of a backend (runtime Backend), None when it uses none."""
    name = getattr(backend.conf, "fcgi_app", None)
    if name is None:
        return None
    for a in getattr(state.config, "fcgi_apps", ()):
        if a.name == name:
            app = _APPS.get(name)
            if app is None or app.conf is not a:  # compiled once per configuration
                app = _APPS[name] = FcgiApp(a)
            return app
    return None


class FcgiConn(Conn):
    __slots__ = ("app", "sess", "enc", "dec", "reader", "s_data", "broken")

    #: the session must not splice() a response body off this socket: it is FastCGI records
    SPLICE = False

    def __init__(self, loop: Any, sock: socket.socket, app: FcgiApp, sess: Any) -> None:
        self.s_data: Any = None
        super().__init__(loop, sock)
        self.app = app
        self.sess = sess
        self.enc = F.RequestEncoder(self._params, app.keep_conn)
        self.dec: F.ResponseDecoder | None = None
        self.reader = F.RecordReader()
        self.broken = False

    # the session's on_data is called with the HTTP/1 response the records make
    @property
    def on_data(self) -> Any:
        return self._records

    @on_data.setter
    def on_data(self, fn: Any) -> None:
        self.s_data = fn

    def _params(self, head: Any, body_len: int) -> list[tuple[bytes, bytes]] | None:
        s = self.sess
        app = self.app
        self.dec = F.ResponseDecoder(formatdate(usegmt=True).encode(), head_request=head.method == b"HEAD",
                                     close=not app.keep_conn)
        passed = app.passed
        hdrs = [(n, v) for n, v in head.headers if n.lower() not in F.NOT_PASSED or n.lower() in passed]
        forced: tuple[tuple[bytes, bytes], ...] = ()
        if app.formats:
            txn = s.sample_txn()
            forced = tuple((n, fmt(txn)) for n, fmt in app.formats)
        rec = s.rec
        info = F.ReqInfo(head.method, head.uri, head.version, hdrs, str(s.src_ip or ""), int(s.src_port or 0),
                         str(rec.frontend_ip or ""), int(rec.frontend_port or 0), body_len,
                         https=getattr(s.cli.sock, "version", None) is not None, software=SOFTWARE)
        return F.cgi_params(app.appconf, info, forced)

    def write(self, data: bytes) -> None:
        if self.broken:
            return
        try:
            out = self.enc.feed(data)
        except F.FcgiError:
            # 2.6's processing error (a path it cannot decode...): 500, termination state IH
            self.broken = True
            self.loop.call_soon(self.sess.fcgi_error, self)
            return
        if out:
            Conn.write(self, out)

    def uncork(self) -> None:
        parts = self.corked  # already records
        self.corked = None
        if parts:
            Conn.write(self, b"".join(parts))

    def _records(self, data: bytes) -> None:
        dec = self.dec
        try:
            recs = list(self.reader.feed(data))
            if dec is None:
                if any(r.type in (F.STDOUT, F.END_REQUEST) for r in recs):
                    raise F.FcgiError("a response without a request")
                return
            out, errs, _ended = dec.feed(recs)
        except F.FcgiError as e:
            self.read_off()
            self.on_error(OSError(f"FastCGI: {e}"))
            return
        if errs and self.app.conf.log_stderr:
            g = self.sess.engine.state.config.global_
            for text in errs:
                self.app.log_stderr(g, text)
        if out and self.s_data is not None:
            self.s_data(out)
