"""Server ``tfo`` / ``no-tfo`` side by side with Debian's HAProxy 2.6.12.

2.6.12 sets TCP_FASTOPEN_CONNECT on a server socket only when the connection is a first attempt
and, by its test, "has data to send", which it reads from the stream's *response* channel
(do_connect_server looks at ``co_data(&s->res)``): that channel is empty when a server connection
starts, so no connection of 2.6.12 uses TFO (TCP mode, HTTP mode, with early hints: the option is
never set). haproxy-py behaves the same: it never sets it. What ``tfo`` does change is 2.6's warning
after parsing for a ``tfo`` server in a backend whose ``retry-on`` lacks 'empty-response' or
'response-timeout' (a TFO connection's data could be lost with its SYN).

The proxy's server-side sockets are read where they are, in the proxy process (duplicated with
pidfd_getfd, root), while the traffic goes through to a server whose listener accepts TFO.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.differential.test_config_messages_generated import _lines
from tests.integration.harness import (
    HTTP_DEFAULTS,
    ROOT,
    free_port,
    http_backends,
    read_http_message,
    require_haproxy,
    run_proxy,
)
from tests.integration.test_sockopts_vs_haproxy import _PortEcho, proxy_sockets

_TFO_CONNECT = getattr(socket, "TCP_FASTOPEN_CONNECT", 30)


def _observe(which: str, echo: _PortEcho, http_port: int) -> dict[str, object]:
    p = {n: free_port() for n in ("tfo", "inherited", "no_tfo", "http")}
    cfg = (HTTP_DEFAULTS
           + f"listen tfo\n    mode tcp\n    bind 127.0.0.1:{p['tfo']}\n    server s 127.0.0.1:{echo.port} tfo\n"
           + f"listen inherited\n    mode tcp\n    bind 127.0.0.1:{p['inherited']}\n    default-server tfo\n"
           + f"    server s 127.0.0.1:{echo.port}\n"
           + f"listen no_tfo\n    mode tcp\n    bind 127.0.0.1:{p['no_tfo']}\n    default-server tfo\n"
           + f"    server s 127.0.0.1:{echo.port} no-tfo\n"
           + f"listen http\n    bind 127.0.0.1:{p['http']}\n    retry-on conn-failure empty-response response-timeout\n"
           + f"    server s 127.0.0.1:{http_port} tfo\n")
    seen: dict[str, object] = {}
    with run_proxy(cfg, wait_ports=list(p.values()), which=which) as pp:
        clients = []
        try:
            for name in ("tfo", "inherited", "no_tfo"):
                c = socket.create_connection(("127.0.0.1", p[name]), timeout=5)
                clients.append((name, c))
                c.sendall(b"hello")
                seen[name + "_srv_port"] = int(c.recv(64))  # the proxy's server-side port: traffic went through
            h = socket.create_connection(("127.0.0.1", p["http"]), timeout=5)
            clients.append(("http", h))
            h.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
            seen["http_status"] = read_http_message(h.makefile("rb"), response=True)[0]
            theirs = proxy_sockets(pp.pid)
            try:
                for name in ("tfo", "inherited", "no_tfo"):
                    port = seen.pop(name + "_srv_port")
                    s = theirs[(port, echo.port)]  # type: ignore[index]
                    seen[name] = s.getsockopt(socket.IPPROTO_TCP, _TFO_CONNECT)
                srv_side = [s for (lp, peer), s in theirs.items() if peer == http_port]
                seen["http"] = [s.getsockopt(socket.IPPROTO_TCP, _TFO_CONNECT) for s in srv_side]
            finally:
                for d in theirs.values():
                    d.close()
        finally:
            for _, c in clients:
                c.close()
    return seen


def test_server_tfo_as_haproxy() -> None:
    require_haproxy("haproxy")
    echo = _PortEcho()
    echo.sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, "TCP_FASTOPEN", 23), 16)  # the server accepts TFO
    try:
        with http_backends("s") as (be,):
            theirs = _observe("haproxy", echo, be.port)
            ours = _observe("ours", echo, be.port)
    finally:
        echo.close()
    assert ours == theirs
    # what 2.6.12 does (see above): no server socket with TFO, the traffic served
    assert theirs["tfo"] == theirs["inherited"] == theirs["no_tfo"] == 0 and theirs["http"] == [0], theirs
    assert ours["http_status"].startswith(b"HTTP/1.1 200")  # type: ignore[union-attr]


def _warnings(tmp_path: Path, text: str, which: str) -> tuple[int, list[str]]:
    cfg = tmp_path / "c.cfg"
    cfg.write_text(text)
    cmd = ([sys.executable, "-m", "haproxy_py"] if which == "ours" else ["haproxy"]) + ["-c", "-f", str(cfg)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    return r.returncode, [ln for ln in _lines(r.stdout + r.stderr) if ln.startswith(("[ALERT]", "[WARNING]"))]


@pytest.mark.parametrize("retry", ["", "retry-on empty-response response-timeout", "retry-on conn-failure empty-response",
                                   "retry-on all-retryable-errors", "retry-on none", "retry-on response-timeout"])
def test_server_tfo_retry_warning_as_haproxy(tmp_path: Path, retry: str) -> None:
    """The warning comes after parsing (a retry-on after the server line counts), for each tfo
    server that keeps it (not a no-tfo one), after the proxy's missing-timeouts warning."""
    require_haproxy("haproxy")
    text = ("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
            f"backend b\n    {retry}\n    server s 127.0.0.1:1 tfo\n    server t 127.0.0.1:1 tfo no-tfo\n"
            f"backend c\n    default-server tfo\n    server s 127.0.0.1:1\n    {retry}\n"
            "backend d\n    mode tcp\n    timeout server 0\n    server s 127.0.0.1:1 tfo check\n")
    assert _warnings(tmp_path, text, "ours") == _warnings(tmp_path, text, "haproxy")
