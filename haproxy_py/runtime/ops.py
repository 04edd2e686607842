"""What pure code may ask of the engine: one typed method per operation. Pure.

The runtime API (stats/commands.py) and the stats page change live state and then need I/O done
(close a listener, wake queued requests, kill a session, point a health check elsewhere). They ask
through ``ProcessState.ops``, typed :class:`EngineOps`: engine/loop.py's ``Engine`` implements every
method and installs itself. An operation missing from the engine is a type error (mypy checks the
assignment in ``Engine.__init__``; tests/unit/test_engine_ops.py compares the method sets), never a
silent no-op as a dict of optional callables was.

:class:`Detached` is the complete implementation for a state that no engine runs (unit tests, tools
reading a state): it changes the pure objects only, there being no socket to act on.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class EngineOps(Protocol):
    """One method per engine operation the runtime API and the stats page use."""

    def sysinfo(self) -> Any:
        """OS and loop figures for ``show info`` (a stats.info.SysInfo), or None."""
        ...

    def server_pool_counts(self, srv: Any) -> tuple[int, int, int, int]:
        """``srv``'s idle and safe pooled connections, 2.6's est_need_conns and max_used_conns
        (``show servers conn``)."""
        ...

    def apply_outcome(self, out: Any) -> None:
        """A health/admin state change's log lines and session shutdowns (checks.health.Outcome)."""
        ...

    def shutdown_session(self, sess: Any) -> None:
        """Kill one client session (``shutdown session``, ``shutdown sessions server``)."""
        ...

    def pause_frontend(self, fe: Any) -> None:
        """``disable frontend``: stop accepting on every listener of ``fe`` (``fe.paused``)."""
        ...

    def resume_frontend(self, fe: Any) -> None:
        """``enable frontend``: accept again (``fe.paused`` cleared)."""
        ...

    def stop_frontend(self, fe: Any) -> None:
        """``shutdown frontend``: close ``fe``'s listeners for good (``fe.stopped``); new
        connections are refused by the kernel."""
        ...

    def set_server_addr(self, srv: Any, host: str, port: int) -> None:
        """``set server addr``: new connections (and the health check, unless it has its own
        address/port) go to ``host``:``port``."""
        ...

    def set_server_fqdn(self, srv: Any, fqdn: str) -> None:
        """``set server fqdn``: the server's resolution asks for ``fqdn`` from now on, at once."""
        ...

    def set_server_check(self, srv: Any, host: str | None, port: int | None) -> None:
        """``set server check-addr`` / ``check-port``: the health check's own address and port
        from now on (None: as configured; port 0: the server's port)."""
        ...

    def set_server_maxconn(self, srv: Any, value: int) -> None:
        """``set maxconn server``: the new limit (2.6's static/dynamic minconn rule); requests
        queued on the server get the slots a higher limit frees, at once."""
        ...

    def set_frontend_maxconn(self, fe: Any, value: int) -> None:
        """``set maxconn frontend``: the frontend's limit; its listeners held back by the old one
        accept again."""
        ...

    def set_global_maxconn(self, value: int) -> None:
        """``set maxconn global``: the process-wide limit (already checked against the hard one);
        listeners held back by the old limit accept again."""
        ...

    def replace_certificate(self, cert: Any) -> int:
        """``commit ssl cert``: new TLS connections of every listener that loaded this file (by
        name) get the certificate (tls/certs.py CertFile); the number of listeners changed."""
        ...

    def set_crt_list(self, path: str, entries: list[Any]) -> int:
        """``add/del ssl crt-list``: every TLS listener that loaded crt-list ``path`` serves its new
        entries (tls/crtlist.py Entry) to new connections; the number of listeners changed."""
        ...

    def replace_ca_file(self, name: str, pem: str) -> int:
        """``commit ssl ca-file``: new TLS handshakes of the listeners and servers that use CA file
        ``name`` verify against the certificates of ``pem``; the number of listeners and server
        configurations changed."""
        ...

    def set_ocsp_response(self, key: bytes, der: bytes) -> int:
        """``set ssl ocsp-response``: new handshakes of the listeners' certificates whose OCSP
        CertID is ``key`` staple ``der``; the number of contexts changed."""
        ...

    def warning(self, text: str) -> None:
        """A warning of a runtime API command on stderr, as 2.6 prints one (2.6's "Loading: ..."
        of a committed OCSP response it does not staple)."""
        ...

    def replace_crl_file(self, name: str, pem: str) -> int:
        """``commit ssl crl-file``: new TLS handshakes of the listeners and servers that use CRL
        file ``name`` check the peer's certificate against the CRLs of ``pem``; how many changed."""
        ...


class Detached:
    """EngineOps for a state without an engine: the pure part of each operation only."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def sysinfo(self) -> Any:
        return None

    def server_pool_counts(self, srv: Any) -> tuple[int, int, int, int]:
        return 0, 0, 0, 0

    def apply_outcome(self, out: Any) -> None:
        for sess in getattr(out, "shutdown", ()):
            kill = getattr(sess, "kill", None)
            if kill is not None:
                kill("D")

    def shutdown_session(self, sess: Any) -> None:
        if hasattr(sess, "kill"):
            sess.kill("K")
        elif hasattr(sess, "shutdown"):
            sess.shutdown()

    def pause_frontend(self, fe: Any) -> None:
        fe.paused = True

    def resume_frontend(self, fe: Any) -> None:
        fe.paused = False

    def stop_frontend(self, fe: Any) -> None:
        fe.stopped = True

    def set_server_addr(self, srv: Any, host: str, port: int) -> None:
        srv.host = host
        srv.port = port

    def set_server_fqdn(self, srv: Any, fqdn: str) -> None:
        pass  # no resolution runs without an engine (the CLI keeps the name it shows)

    def set_server_check(self, srv: Any, host: str | None, port: int | None) -> None:
        pass  # no health check runs without an engine (the CLI keeps the values it shows)

    def set_server_maxconn(self, srv: Any, value: int) -> None:
        set_server_maxconn(srv, value, getattr(srv.backend, "now", 0.0))

    def set_frontend_maxconn(self, fe: Any, value: int) -> None:
        fe.maxconn = value

    def set_global_maxconn(self, value: int) -> None:
        self.state.maxconn = value

    def replace_certificate(self, cert: Any) -> int:
        return 0  # no listener runs without an engine (the CLI keeps the certificate it shows)

    def set_crt_list(self, path: str, entries: list[Any]) -> int:
        return 0  # likewise: the CLI keeps the list it shows

    def replace_ca_file(self, name: str, pem: str) -> int:
        return 0  # likewise: the CLI keeps the CA file it shows

    def set_ocsp_response(self, key: bytes, der: bytes) -> int:
        return 0  # likewise: the CLI keeps the response it shows

    def replace_crl_file(self, name: str, pem: str) -> int:
        return 0  # likewise: the CLI keeps the CRL file it shows

    def warning(self, text: str) -> None:
        return None  # no engine, no stderr of its own


def set_server_maxconn(srv: Any, value: int, now: float, *, dequeue: bool = True) -> list[Any]:
    """The pure part of ``set maxconn server``: 2.6's rule (a static limit, minconn == maxconn,
    moves both; a dynamic one only maxconn), then the queue gets the freed slots (``dequeue``:
    False for a picture that holds no request, the master of several workers)."""
    be = srv.backend
    set_maxconn = getattr(be, "set_maxconn", None)
    if set_maxconn is not None and dequeue:
        return list(set_maxconn(srv, value, now))
    if srv.maxconn == srv.minconn:
        srv.maxconn = srv.minconn = value
    else:
        srv.maxconn = value
    if be is None or not dequeue:
        return []
    out = be.process_queue(srv, now)
    if out and be.on_pendings is not None:
        be.on_pendings(out)
    return out
