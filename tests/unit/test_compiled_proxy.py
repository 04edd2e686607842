"""engine/router.py CompiledProxy: each proxy's rule sets, error pages and forwardfor rule are
compiled once by the Engine that loads the configuration, held by that Engine (per runtime backend)
and its Routers, never in a module cache keyed by ``id()`` of a configuration object (issue #12:
after a reload, a new configuration object may get a freed one's id and so its stale helpers)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from haproxy_py.config import parse_text
from haproxy_py.engine.loop import Engine

CFG = """\
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:1
    option forwardfor header X-Fe
    errorfile 503 {d}/fe503.http
    http-request set-header X-From fe
    default_backend be
backend be
    option forwardfor header X-{tag}
    errorfile 503 {d}/be503.http
    http-request deny if {{ path /deny }}
    server s1 127.0.0.1:2
listen both
    bind 127.0.0.1:3
    server s1 127.0.0.1:4
"""


def _page(d: Path, name: str, text: str) -> None:
    (d / name).write_text(f"HTTP/1.0 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\n{text}\n")


def _engine(d: Path, tag: str) -> Engine:
    _page(d, "fe503.http", f"fe {tag}")
    _page(d, "be503.http", f"be {tag}")
    conf, diags = parse_text(CFG.format(d=d, tag=tag))
    assert not diags.has_errors, list(diags.format(0))
    return Engine(conf, asyncio.new_event_loop(), quiet=True)


def _close(eng: Engine) -> None:
    eng.loop.close()


def test_each_proxy_is_compiled_once_by_its_engine(tmp_path: Path) -> None:
    eng = _engine(tmp_path, "one")
    try:
        fe = eng.routers["fe"]
        be = eng.state.backends["be"]
        got = fe.compiled_of(be)
        assert got is eng.compiled[be] and got.conf is be.conf
        assert fe.compiled.conf is fe.conf and fe.rs is fe.compiled.rs
        assert len(fe.rs.http_req) == 1 and len(got.rs.http_req) == 1 and not got.rs.http_res
        assert got.pages.response(503).endswith(b"be one\n")
        assert fe.compiled.pages.response(503).endswith(b"fe one\n")
        assert fe.compiled.ff is not None and fe.compiled.ff.header == "X-Fe"
        assert got.ff is not None and got.ff.header == "X-one"
        # the backend's forwardfor rule wins over the frontend's (2.6), computed once per pair
        assert fe.backend_info(be)[1] is got.ff
        # cached (the compiled build returns an equal copy of the cached tuple: compare, not ``is``)
        assert fe.backend_info(be) == fe.backend_info(be) and list(fe.be_info) == [be]
        # a listen section: one compiled proxy for its frontend and its own backend
        both = eng.routers["both"]
        assert both.compiled is eng.compiled[eng.state.backends["both"]]
        assert both.compiled.ff is None and 503 not in both.compiled.pages.overrides
    finally:
        _close(eng)


def test_a_new_engine_never_sees_the_previous_configuration(tmp_path: Path) -> None:
    """As after a reload: configurations loaded one after the other, the previous one freed."""
    for i in range(20):
        eng = _engine(tmp_path, f"gen{i}")
        try:
            fe = eng.routers["fe"]
            be = eng.state.backends["be"]
            assert fe.compiled_of(be).pages.response(503).endswith(f"be gen{i}\n".encode())
            assert fe.compiled.pages.response(503).endswith(f"fe gen{i}\n".encode())
            assert fe.backend_info(be)[1].header == f"X-gen{i}"
        finally:
            _close(eng)
        del eng, fe, be
        gc.collect()
