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


def _always(_txn: Any) -> bool:
    return True


def _never(_txn: Any) -> bool:
    return False


class FcgiApp:
    """An fcgi-app section compiled once: the parameters' settings, the set-param and pass-header
    rules (their formats, their conditions over the section's ACLs), the options."""

    __slots__ = ("conf", "appconf", "param_rules", "pass_rules", "passed", "keep_conn", "get_values", "logger")

    def __init__(self, conf: Any) -> None:
        from haproxy_py.acl.condition import compile_acls, compile_condition
        from haproxy_py.samples import compile_format

        self.conf = conf
        rx = re.compile(conf.path_info.encode("latin-1", "replace")) if conf.path_info else None
        self.appconf = F.AppConf(conf.docroot.encode(), conf.index.encode(), rx)
        acls = compile_acls(conf.acls) if conf.acls else compile_acls(())

        def cond_of(c: Any) -> Any:
            if c is None:
                return None
            if not c.any_of:  # 'if' / 'unless' alone: 2.6's condition of no term fails
                return _always if c.unless else _never
            return compile_condition(c, acls, "be http-request")

        # 2.6 evaluates the rules on the backend's request after its http-request rules: of the
        # set-param rules whose condition holds, the last one of a name wins (names compared as
        # its ':fcgi-' header: lower case, every character but letters and digits as '_')
        # (2.6's first two rules: REMOTE_USER and AUTH_TYPE from the request's credentials, passed
        # or not; a set-param of the same name replaces them)
        rules = [("REMOTE_USER", "%[http_auth_user]", None), ("AUTH_TYPE", "%[http_auth_type]", None)]
        self.param_rules = tuple((F.rule_key(n.encode()), n.encode(), compile_format(fmt), cond_of(c))
                                 for n, fmt, c in rules + list(conf.set_params))
        self.pass_rules = tuple((h.lower().encode(), cond_of(c)) for h, c in conf.pass_headers)
        #: the passed headers when no pass-header has a condition, else None (decided per request)
        self.passed: frozenset[bytes] | None = None
        if all(c is None for _h, c in self.pass_rules):
            self.passed = frozenset(h for h, _c in self.pass_rules)
        self.keep_conn = bool(conf.keep_conn)
        self.get_values = bool(conf.get_values)
        self.logger: Any = None

    def forced(self, txn: Any) -> tuple[tuple[bytes, bytes], ...]:
        """The set-param parameters of a request: the rules whose condition holds, the last of a
        name winning, in the order of their names; a value that comes out empty is not sent."""
        chosen: dict[bytes, tuple[bytes, Any]] = {}
        for key, name, fmt, cond in self.param_rules:
            if cond is None or cond(txn):
                chosen[key] = (name, fmt)
        out = []
        for key in sorted(chosen):
            name, fmt = chosen[key]
            v = fmt(txn)
            if v:
                out.append((name, v))
        return tuple(out)

    def passed_for(self, txn: Any) -> frozenset[bytes]:
        """The headers 2.6 would leave out that this request passes (pass-header rules that hold)."""
        if self.passed is not None:
            return self.passed
        return frozenset(h for h, cond in self.pass_rules if cond is None or cond(txn))

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
    __slots__ = ("app", "sess", "enc", "dec", "reader", "s_data", "broken", "held", "values")

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
        #: option get-values: the records of the request wait here for the application's answer
        self.held: list[bytes] | None = None
        #: what the application answered (FCGI_MAX_REQS, FCGI_MPXS_CONNS...); haproxy-py sends one
        #: request at a time whatever it says
        self.values: dict[bytes, bytes] | None = None
        if app.get_values:
            self.held = []
            Conn.write(self, F.get_values_request())

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
        txn = s.sample_txn()
        passed = app.passed if app.passed is not None else app.passed_for(txn)
        hdrs = [(n, v) for n, v in head.headers if n.lower() not in F.NOT_PASSED or n.lower() in passed]
        forced = app.forced(txn)
        rec = s.rec
        info = F.ReqInfo(head.method, head.uri, head.version, hdrs, str(s.src_ip or ""), int(s.src_port or 0),
                         str(rec.frontend_ip or ""), int(rec.frontend_port or 0), body_len,
                         https=getattr(s.cli.sock, "version", None) is not None, software=SOFTWARE,
                         auth_rules=True)
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
            self._send(out)

    def _send(self, out: bytes) -> None:
        if self.held is not None:  # the application's values not come yet
            self.held.append(out)
        else:
            Conn.write(self, out)

    def uncork(self) -> None:
        parts = self.corked  # already records
        self.corked = None
        if parts:
            self._send(b"".join(parts))

    def _values(self, recs: list[Any]) -> list[Any]:
        """The management records (request id 0) taken out: the GET_VALUES_RESULT lets the held
        request go."""
        rest = []
        for r in recs:
            if r.req_id != 0:
                rest.append(r)
            elif r.type == F.GET_VALUES_RESULT:
                self.values = F.decode_values(r.content)
                held, self.held = self.held, None
                if held:
                    Conn.write(self, b"".join(held))
            # (an UNKNOWN_TYPE answer, or any other management record, changes nothing)
        return rest

    def _records(self, data: bytes) -> None:
        dec = self.dec
        try:
            recs = list(self.reader.feed(data))
            if self.held is not None or any(r.req_id == 0 for r in recs):
                recs = self._values(recs)
            if dec is None:
                if any(r.type in (F.STDOUT, F.END_REQUEST) for r in recs):
                    raise F.FcgiError("a response without a request")
                return
            out, errs, _ended = dec.feed(recs)
        except F.FcgiError as e:
            self.read_off()
            self._report(OSError(f"FastCGI: {e}"))
            return
        if errs and self.app.conf.log_stderr:
            g = self.sess.engine.state.config.global_
            for text in errs:
                self.app.log_stderr(g, text)
        if out and self.s_data is not None:
            self.s_data(out)
