"""haproxyadmin's map and ACL calls (show_map/add_map/get_map/set_map/del_map/clear_map, show_acl/
add_acl/del_acl/get_acl/clear_acl) against haproxy-py and Debian's HAProxy 2.6, the same scenario:
what the library returns, with entry references (``0x...``) replaced, and the traffic the map
routes after each change. ``del_map``/``del_acl`` are also given an entry reference read from
``show_map``, as operators' scripts pass them back.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, get, require_haproxy, run_proxy
from tests.integration.stats_client import ADMIN_SOCKET, admin_socket

try:  # a missing package must fail, not skip
    from haproxyadmin import haproxy as hapadmin
except ImportError as e:  # pragma: no cover - environment problem
    raise ImportError("pip install haproxyadmin (listed in pyproject's dev extras)") from e

CFG = ADMIN_SOCKET + HTTP_DEFAULTS + """\
frontend main
    bind 127.0.0.1:{fe}
    acl deny_path path_beg -f {d}/deny.acl
    http-request return status 403 content-type text/plain string no if deny_path
    http-request return status 200 content-type text/plain lf-string "%[req.hdr(host),lower,field(1,:),map_str({d}/be.map,none)]"
"""
PTR = re.compile(r"(?<!\S)0x[0-9a-f]+")  # an entry's address, not a 0x inside the temporary directory's name


def scenario(h: Any, fe: int, d: str) -> list[Any]:
    """Every call's result, with the answers of requests in between."""
    out: list[Any] = []

    def body(host: str, path: str = "/") -> str:
        _st, _hd, b = get(fe, path, {"Host": host})
        return f"{_st} {b.decode()}"

    mp, ap = f"{d}/be.map", f"{d}/deny.acl"
    out.append([PTR.sub("0xPTR", x) for x in h.show_map()])
    out.append([PTR.sub("0xPTR", x) for x in h.show_map(mp)])
    out.append(body("a.example:8080"))
    out.append(h.add_map(mp, "new.example", "be_new"))
    out.append(body("NEW.example"))
    out.append(h.get_map(mp, "new.example"))
    out.append(h.set_map(mp, "a.example", "be_changed"))
    out.append(body("a.example"))
    ref = h.show_map(mp)[1].split()[0]  # b.example's entry
    out.append(h.del_map(mp, ref))
    out.append(body("b.example"))
    out.append(h.del_map(mp, "new.example"))
    out.append(body("new.example"))
    out.append([PTR.sub("0xPTR", x) for x in h.show_map(mp)])
    out.append([PTR.sub("0xPTR", x) for x in h.show_acl()])
    out.append(body("a.example", "/private/x"))
    out.append(h.add_acl(ap, "/private"))
    out.append(body("a.example", "/private/x"))
    out.append(h.get_acl(ap, "/private/x"))
    aref = h.show_acl(ap)[0].split()[0]
    out.append(h.del_acl(ap, aref))
    out.append([PTR.sub("0xPTR", x) for x in h.show_acl(ap)])
    out.append(h.clear_acl(ap))
    out.append(body("a.example", "/private/x"))
    out.append(h.clear_map(mp))
    out.append(body("a.example"))
    out.append(h.show_map(mp))
    return out


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, list[Any]]]:
    got: dict[str, list[Any]] = {}
    for which in ("haproxy", "ours"):
        require_haproxy(which)
        with tempfile.TemporaryDirectory(prefix="hpy-hapadm-") as d:
            Path(d, "be.map").write_text("a.example be_a\nb.example be_b\n")
            Path(d, "deny.acl").write_text("/admin\n")
            fe = free_port()
            with run_proxy(CFG.format(fe=fe, d=d), wait_ports=[fe], which=which) as pp:
                admin_socket(pp)
                h = hapadmin.HAProxy(socket_dir=str(pp.workdir), timeout=3)
                got[which] = [x.replace(d, "DIR").replace(str(pp.cfg), "CFG") if isinstance(x, str) else
                              [y.replace(d, "DIR").replace(str(pp.cfg), "CFG") for y in x] if isinstance(x, list)
                              else x for x in scenario(h, fe, d)]
    yield got


def test_haproxyadmin_maps_and_acls_as_2_6(results: dict[str, list[Any]]) -> None:
    ours, ref = results["ours"], results["haproxy"]
    assert len(ours) == len(ref)
    for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
        assert a == b, (i, a, b)
    # the scenario did what it says on 2.6 (so agreeing is not agreeing on nothing)
    assert "200 be_new" in ref and "200 be_changed" in ref and "403 no" in ref and "200 none" in ref
