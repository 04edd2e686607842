"""Helpers for the LB tests: build config.model objects directly (the config parser is someone
else's), including a tiny reader of the ``backend`` sections of the sample configs."""

from __future__ import annotations

import re

from haproxy_py.config.model import Address, Balance, CookieConf, HashType, Proxy, ServerConf, Timeouts
from haproxy_py.lb.base import LbRequest
from haproxy_py.runtime.backend import Backend


def server(name: str, port: int = 0, **kw: object) -> ServerConf:
    addr = Address("ipv4", "127.0.0.1", port, port, text=f"127.0.0.1:{port}")
    return ServerConf(name=name, address=addr, **kw)  # type: ignore[arg-type]


def proxy(servers: list[ServerConf], algo: str = "roundrobin", *, name: str = "be",
          hash_type: HashType | None = None, options: tuple[tuple[str, bool], ...] = (),
          cookie: CookieConf | None = None, retries: int = 3, redispatch: int = 0,
          connect: int | None = 5000, **balance: object) -> Proxy:
    puided = tuple(
        s if s.puid else ServerConf(**{**{f: getattr(s, f) for f in s.__dataclass_fields__}, "puid": i + 1})
        for i, s in enumerate(servers)
    )
    return Proxy(name=name, kind="backend", mode="http", servers=puided,
                 balance=Balance(algorithm=algo, **balance),  # type: ignore[arg-type]
                 hash_type=hash_type or HashType(), options=options, cookie=cookie,
                 retries=retries, redispatch=redispatch, timeouts=Timeouts(connect=connect))


def weighted(ws: list[int], algo: str = "roundrobin", **kw: object) -> Backend:
    srvs = [server(f"s{i + 1}", 23001 + i, weight=w) for i, w in enumerate(ws)]
    return Backend(proxy(srvs, algo, **kw), 0.0)  # type: ignore[arg-type]


def parse_balance(words: list[str]) -> dict[str, object]:
    algo = words[0]
    kw: dict[str, object] = {}
    m = re.fullmatch(r"(hdr|rdp-cookie)\((.*)\)", algo)
    if m:
        algo = m.group(1)
        if algo == "hdr":
            kw["header"] = m.group(2)
        else:
            kw["rdp_cookie"] = m.group(2)
    kw["algorithm"] = algo
    rest = words[1:]
    i = 0
    while i < len(rest):
        w = rest[i]
        if algo == "url_param" and i == 0:
            kw["param"] = w
        elif w == "whole":
            kw["uri_whole"] = True
        elif w == "len":
            i += 1
            kw["uri_len"] = int(rest[i])
        elif w == "depth":
            i += 1
            kw["uri_depth"] = int(rest[i])
        elif w == "path-only":
            kw["uri_path_only"] = True
        elif w == "check_post":
            kw["check_post"] = True
        elif w == "use_domain_only":
            kw["use_domain_only"] = True
        i += 1
    return kw


def parse_hash_type(words: list[str]) -> HashType:
    method = words[0]
    if len(words) == 1:
        return HashType(method=method, function="sdbm", avalanche=method == "consistent")
    return HashType(method=method, function=words[1], avalanche="avalanche" in words[2:])


def backends_from_cfg(text: str) -> dict[str, Proxy]:
    """The backend sections of a simple sample config, as config.model.Proxy objects."""
    out: dict[str, Proxy] = {}
    cur: dict[str, object] | None = None
    name = ""

    def flush() -> None:
        if cur is not None:
            srvs = cur.pop("servers")
            out[name] = proxy(srvs, **cur)  # type: ignore[arg-type]

    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if not line[0].isspace():
            flush()
            cur = None
            if words[0] == "backend":
                name = words[1]
                cur = {"servers": [], "name": name}
            continue
        if cur is None:
            continue
        if words[0] == "balance":
            b = parse_balance(words[1:])
            cur["algo"] = b.pop("algorithm")
            cur.update(b)
        elif words[0] == "hash-type":
            cur["hash_type"] = parse_hash_type(words[1:])
        elif words[0] == "option" and words[1] == "allbackups":
            cur["options"] = (("allbackups", True),)
        elif words[0] == "cookie":
            cur["cookie"] = CookieConf(name=words[1], mode=words[2] if len(words) > 2 else "rewrite",
                                       indirect="indirect" in words)
        elif words[0] == "server":
            kw: dict[str, object] = {}
            port = int(words[2].rsplit(":", 1)[1])
            i = 3
            while i < len(words):
                w = words[i]
                if w in ("weight", "maxconn", "maxqueue", "minconn"):
                    kw[w] = int(words[i + 1])
                    i += 1
                elif w == "cookie":
                    kw["cookie"] = words[i + 1]
                    i += 1
                elif w == "backup":
                    kw["backup"] = True
                i += 1
            srvs = cur["servers"]
            assert isinstance(srvs, list)
            srvs.append(server(words[1], port, **kw))
    flush()
    return out


def request(uri: str = "/", method: str = "GET", headers: dict[str, str] | None = None,
            src: str = "127.0.0.1", body: bytes | None = None, cookie: str | None = None) -> LbRequest:
    low = {k.lower(): v for k, v in (headers or {}).items()}
    return LbRequest(src=src, uri=uri, method=method, get_header=lambda n: low.get(n.lower()),
                     body=body, cookie=cookie)


def pick(be: Backend, req: LbRequest | None = None, now: float = 0.0, *, hold: bool = False) -> str:
    """One request through the backend: select, take and (unless hold) release."""
    d = be.select(req if req is not None else LbRequest(), now)
    assert d.status == "ok", d
    assert d.server is not None
    be.take(d.server, now)
    if not hold:
        be.release(d.server, now)
    return d.server.name


def test_balance_hash_fetches_accepted_by_the_config_are_the_ones_lb_evaluates() -> None:
    """config/keywords.BALANCE_HASH_FETCHES (what -c accepts) and lb/keys.simple_fetch agree."""
    from haproxy_py.config import keywords as K
    from haproxy_py.lb.keys import simple_fetch

    for name in K.BALANCE_HASH_FETCHES:
        expr = name if name in ("src", "path", "url", "query", "method") else f"{name}(x)"
        assert simple_fetch(expr) is not None, expr
    assert simple_fetch("req.hdr(host),lower") is None


def test_balance_hash_takes_any_expression() -> None:
    """Converters are accepted (the engine evaluates the expression); a bad one is an error at
    load time, an unimplemented fetch is refused."""
    from haproxy_py.config import parse_text

    hdr = "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
    cfg, d = parse_text(hdr + "backend b\n balance hash req.hdr(host),lower\n server s 1.1.1.1:1\n", "b.cfg")
    assert not d.has_errors and cfg.proxy("b").balance.expression == "req.hdr(host),lower"
    _, d = parse_text(hdr + "backend b\n balance hash req.hdr(host),nosuch\n server s 1.1.1.1:1\n", "b.cfg")
    assert len(d.errors) == 1 and "unknown converter 'nosuch'" in d.errors[0].haproxy, d
    _, d = parse_text(hdr + "backend b\n balance hash ssl_fc_alpn_x\n server s 1.1.1.1:1\n", "b.cfg")
    assert d.has_errors
    cfg, d = parse_text(hdr + "backend b\n balance hash req.cook(sid)\n server s 1.1.1.1:1\n", "b.cfg")
    assert not d.has_errors and cfg.proxy("b").balance.expression == "req.cook(sid)"
