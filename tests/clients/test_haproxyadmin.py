"""haproxyadmin (pip package, a Python library of operators' tooling) against haproxy-py's stats socket.

It talks to every ``*.sock`` of a directory (one per process) with ``show info`` / ``show stat IID TYPE SID``
and sends ``set weight`` / ``set server ... state`` / ``enable|disable server`` / ``shutdown sessions``.
The same scenario runs against Debian's HAProxy 2.6 as the reference.
"""

from __future__ import annotations

import pytest

from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, get, http_backends, require_haproxy, run_proxy
from tests.integration.stats_client import ADMIN_SOCKET, admin_socket

try:  # a missing package must fail, not skip
    import haproxyadmin
    from haproxyadmin import haproxy as hapadmin
except ImportError as e:  # pragma: no cover - environment problem
    raise ImportError("pip install haproxyadmin (listed in pyproject's dev extras)") from e

CFG = ADMIN_SOCKET + HTTP_DEFAULTS + """\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
frontend other
    bind 127.0.0.1:{fe2}
    default_backend static
backend app
    balance roundrobin
    server app1 127.0.0.1:{p1}
    server app2 127.0.0.1:{p2} weight 3
backend static
    server st1 127.0.0.1:{p3}
"""


@pytest.fixture(params=["ours", "haproxy"], scope="module")
def hap(request):  # type: ignore[no-untyped-def]
    require_haproxy(request.param)
    with http_backends("app1", "app2", "st1") as bes:
        fe, fe2 = free_port(), free_port()
        cfg = CFG.format(fe=fe, fe2=fe2, p1=bes[0].port, p2=bes[1].port, p3=bes[2].port)
        with run_proxy(cfg, wait_ports=[fe, fe2], which=request.param) as pp:
            admin_socket(pp)
            sockdir = pp.workdir  # haproxyadmin talks to every *.sock of a directory
            h = hapadmin.HAProxy(socket_dir=str(sockdir), timeout=3)
            yield {"h": h, "fe": fe, "fe2": fe2, "bes": bes, "pid": pp.pid, "which": request.param}


def test_process_info(hap) -> None:  # type: ignore[no-untyped-def]
    h = hap["h"]
    assert [int(p) for p in h.processids] == [hap["pid"]]
    assert h.version.startswith("2.6.")
    assert int(h.uptimesec) >= 0
    assert int(h.maxconn) > 0


def test_lists_frontends_backends_servers(hap) -> None:  # type: ignore[no-untyped-def]
    h = hap["h"]
    assert sorted(f.name for f in h.frontends()) == ["main", "other"]
    assert sorted(b.name for b in h.backends()) == ["app", "static"]
    assert sorted((s.backendname, s.name) for s in h.servers()) == [
        ("app", "app1"), ("app", "app2"), ("static", "st1")]
    assert [s.name for s in h.servers(backend="app")] == ["app1", "app2"]
    srv = h.server("app2", backend="app")[0]
    assert int(srv.weight) == 3
    assert srv.status == "no check"
    assert srv.sid == 2
    be = h.backend("app")
    assert be.iid == 4 and be.status == "UP"
    assert sorted(s.name for s in be.servers()) == ["app1", "app2"]


def test_metrics_follow_traffic(hap) -> None:  # type: ignore[no-untyped-def]
    h = hap["h"]
    fe = h.frontend("main")
    be = h.backend("app")
    s1, s2 = h.server("app1", backend="app")[0], h.server("app2", backend="app")[0]
    r0, b0, t1, t2 = fe.requests, be.metric("stot"), s1.metric("stot"), s2.metric("stot")
    for _ in range(8):
        assert get(hap["fe"], "/")[0] == 200
    assert fe.requests - r0 == 8
    assert be.metric("stot") - b0 == 8
    assert (s1.metric("stot") - t1, s2.metric("stot") - t2) == (2, 6)  # weights 1 and 3
    assert fe.metric("hrsp_2xx") >= 8
    assert fe.status == "OPEN"
    assert h.totalrequests >= 8


def test_change_weight_and_state(hap) -> None:  # type: ignore[no-untyped-def]
    h = hap["h"]
    s1 = h.server("app1", backend="app")[0]
    s2 = h.server("app2", backend="app")[0]
    bes = {b.name: b for b in hap["bes"]}
    try:
        assert s1.setweight(5) is True
        assert int(s1.weight) == 5
        assert s1.setweight("20%") is True
        assert int(s1.weight) == 0  # 20% of the initial weight 1
        assert s1.setweight(1) is True
        assert s2.setstate(haproxyadmin.STATE_DRAIN) is True
        assert s2.status == "DRAIN"
        before = len(bes["app2"].requests)
        for _ in range(4):
            assert get(hap["fe"], "/")[0] == 200
        assert len(bes["app2"].requests) == before
        assert s2.setstate(haproxyadmin.STATE_MAINT) is True
        assert s2.status == "MAINT"
        assert s2.setstate(haproxyadmin.STATE_READY) is True
        assert s2.status == "no check"
        assert s2.setstate(haproxyadmin.STATE_DISABLE) is True
        assert s2.status == "MAINT"
        assert s2.setstate(haproxyadmin.STATE_ENABLE) is True
        assert s2.status == "no check"
        assert s2.shutdown() is True
    finally:
        s1.setweight(1)
        s2.setstate(haproxyadmin.STATE_READY)
    before = len(bes["app2"].requests)
    for _ in range(4):
        assert get(hap["fe"], "/")[0] == 200
    assert len(bes["app2"].requests) - before == 3


def test_frontend_maxconn_and_disable(hap) -> None:  # type: ignore[no-untyped-def]
    h = hap["h"]
    fe = h.frontend("other")
    assert fe.setmaxconn(123) is True
    assert fe.maxconn == 123
    assert fe.disable() is True
    assert fe.status == "PAUSED"
    assert fe.enable() is True
    assert fe.status == "OPEN"
    assert get(hap["fe2"], "/")[0] == 200
