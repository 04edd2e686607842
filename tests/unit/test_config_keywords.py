"""Keyword coverage: the removed 1.x keywords (recorded outputs), the seed config's keywords and
the keywords of FACTS §1.5-1.7, each parsed valid and invalid."""

from __future__ import annotations

import re
from typing import Any

import pytest

from haproxy_py.config import keywords as K
from haproxy_py.config import parse_text
from haproxy_py.config import support as S
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.registry import IMPLEMENTED, NO_EFFECT, NOT_IMPLEMENTED
from tests.conftest import SAMPLES

CHECK = SAMPLES / "config_check"
TEMPLATE = (CHECK / "removed_1x_keywords_template.cfg").read_text()


def _removed_cases() -> list[tuple[str, int, str | None]]:
    text = (CHECK / "removed_1x_keywords.txt").read_text()
    cases = []
    for block in text.split("=== ")[1:]:
        lines = block.splitlines()
        kw = lines[0]
        rc = int(next(ln for ln in lines if ln.startswith("rc="))[3:])
        alert = next((ln for ln in lines if "[ALERT]" in ln and "parsing [" in ln), None)
        msg = None
        if alert:
            msg = re.sub(r"^.*? : config : parsing \[[^\]]*\]", "", alert)
        cases.append((kw, rc, msg))
    return cases


@pytest.mark.parametrize("keyword,rc,message", _removed_cases(), ids=lambda v: str(v)[:30])
def test_removed_1x_keywords(keyword: str, rc: int, message: str | None) -> None:
    _, d = parse_text(TEMPLATE.replace("KEYWORD", keyword), "o.cfg")
    if rc == 0 and d.has_errors:
        # valid in 2.6 but not implemented here: refused with that message, and nothing else
        assert all(NOT_IMPLEMENTED in m.haproxy for m in d.errors), d
        return
    assert d.has_errors == (rc != 0), d
    if message is not None:
        texts = [re.sub(r"^parsing \[[^\]]*\]", "", m.haproxy) for m in d.errors]
        assert message in texts


SEED_KEYWORDS = {
    "global": ["log 127.0.0.1 local2", "chroot /var/lib/haproxy", "pidfile /var/run/haproxy.pid", "maxconn 4000",
               "user nobody", "group nogroup", "daemon", "stats socket /var/lib/haproxy/stats", "nbthread 2",
               "stats timeout 30s", "stats maxconn 10", "tune.bufsize 16384", "tune.maxrewrite 1024",
               "node n1", "description d", "spread-checks 5", "hard-stop-after 10s", "log-tag t",
               "master-worker", "ssl-default-bind-ciphers HIGH", "nbproc 2"],
    "defaults": ["mode http", "log global", "option httplog", "option dontlognull", "option http-server-close",
                 "option forwardfor except 127.0.0.0/8", "option redispatch", "retries 3",
                 "timeout http-request 10s", "timeout queue 1m", "timeout connect 10s", "timeout client 1m",
                 "timeout server 1m", "timeout http-keep-alive 10s", "timeout check 10s", "maxconn 3000",
                 "option tcplog", "option httpclose", "option http-keep-alive",
                 "option allbackups", "option persist", "option log-health-checks", "balance leastconn",
                 "hash-type consistent", "fullconn 100", "default-server inter 3s", "errorfile 503 /dev/null",
                 "stats enable", "option httpchk", "http-check expect status 200", "cookie SRV insert",
                 "default_backend be", "no log", "timeout tunnel 1h", "option redispatch 3"],
    "frontend": ["bind *:5000", "acl url_static path_beg -i /static /images",
                 "acl url_static path_end -i .jpg .gif", "use_backend be if TRUE", "default_backend be",
                 "http-request deny", "option forwardfor", "maxconn 10",
                 "description x", "id 9", "disabled", "log-format %ci"],
    "backend": ["balance roundrobin", "server static 127.0.0.1:4331 check",
                "http-send-name-header X-S", "option httpchk GET /", "cookie S prefix", "retries 0",
                "balance uri", "balance url_param a", "balance hdr(host)", "balance source", "balance static-rr",
                "balance first", "balance rdp-cookie", "hash-type map-based sdbm", "stats admin if TRUE",
                "server s 1.1.1.1:80 weight 0", "server s 1.1.1.1:80 weight 256", "stats uri /s",
                "stats auth a:b", "stats realm R", "stats refresh 10s", "stats hide-version", "stats scope be",
                "http-check disable-on-404", "http-check send meth GET uri / ver HTTP/1.1 hdr Host x"],
}

HDR = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"


def _wrap(section: str, line: str) -> str:
    if section == "global":
        return f"global\n    {line}\n" + HDR
    if section == "defaults":
        return HDR + f"    {line}\nbackend be\n"
    if section == "frontend":
        return HDR + f"frontend fe\n    bind :1\n    {line}\nbackend be\n"
    return HDR + f"backend be\n    {line}\n"


@pytest.mark.parametrize("section,line", [(s, ln) for s, lines in SEED_KEYWORDS.items() for ln in lines])
def test_keyword_valid(section: str, line: str) -> None:
    _, d = parse_text(_wrap(section, line), "k.cfg", env={})
    assert not d.has_errors, d


INVALID = {
    "global": ["maxconn", "maxconn x", "nbthread 0", "stats socket /x level god", "stats foo",
               "log 127.0.0.1", "log 127.0.0.1 nosuchfac", "user nosuchuser_xyz", "foobar",
               "stats socket 127.0.0.1", "tune.bufsize 1q", "nbproc x"],
    "defaults": ["mode", "timeout", "timeout client", "timeout client 1x", "retries", "retries -x",
                 "option", "option nosuch", "option httplog x", "balance nosuch", "hash-type x",
                 "cookie", "cookie S bogus", "default-server weight 999", "bind :80", "acl a path /x",
                 "errorfile 999 /dev/null", "log 1.2.3.4", "option redispatch x"],
    "frontend": ["bind", "bind 1.2.3.4", "bind :99999", "bind :80 bogus", "acl", "acl a", "acl a nosuch",
                 "acl a path -m bogus x", "acl a path -q", "use_backend", "use_backend be if", "use_backend be if x",
                 "use_backend be foo", "http-request", "http-request bogus", "http-request deny if { path",
                 "http-request deny deny_status 42", "capture", "capture request header X len x",
                 "tcp-request bogus", "redirect", "stats bogus", "id 0", "disabled now", "maxconn x",
                 "timeout client 25d", "http-request set-header X", "http-request use-service nosuch"],
    "backend": ["server", "server s", "server s 1.1.1.1:1 weight", "server s 1.1.1.1:1 weight 257",
                "server s 1.1.1.1:1 weight x", "server s 1.1.1.1:1 inter 0", "server s 1.1.1.1:1 inter 1x",
                "server s 1.1.1.1:1 rise 0", "server s 1.1.1.1:1 fall -1", "server s 1.1.1.1:1 port 70000",
                "server s 1.1.1.1:1 observe layer9", "server s 1.1.1.1:1 on-error foo", "server s 1.1.1.1:1 bogus",
                "server s 1.1.1.1:1 id 0", "balance uri bogus", "balance url_param", "balance hdr()",
                "hash-type consistent md5", "hash-type consistent sdbm bogus", "cookie S maxidle 1x",
                "dispatch 1.2.3.4", "http-check expect bogus 200", "http-check bogus", "stats admin",
                "fullconn x", "reqadd X", "option forceclose", "srvtimeout 1s", "appsession x"],
}


@pytest.mark.parametrize("section,line", [(s, ln) for s, lines in INVALID.items() for ln in lines])
def test_keyword_invalid(section: str, line: str) -> None:
    _, d = parse_text(_wrap(section, line), "k.cfg", env={})
    assert d.has_errors, line
    # every error names its line and column
    for e in d.errors:
        assert e.loc is not None and e.loc.line > 0


REFUSED_LINES = {
    "global": ["lua-load /x.lua"],
    "defaults": ["option checkcache"],
    "frontend": ["option independent-streams"],
    "backend": ["server-state-file-name x"],
}


@pytest.mark.parametrize("section,line", [(s, ln) for s, lines in REFUSED_LINES.items() for ln in lines])
def test_keyword_refused_until_implemented(section: str, line: str) -> None:
    """Valid in 2.6, not implemented here: one alert, at the keyword, saying so."""
    _, d = parse_text(_wrap(section, line), "k.cfg", env={})
    assert len(d.errors) == 1, d
    e = d.errors[0]
    shown = line.split()[1] if line.startswith("option ") else line.split()[0]
    assert NOT_IMPLEMENTED in e.haproxy and f"'{shown}'" in e.haproxy, e.haproxy
    assert e.loc is not None and e.loc.file == "k.cfg", e.loc


def _verdict(reg, name: str, d) -> None:  # type: ignore[no-untyped-def]
    st = reg.status(name)
    if st in (IMPLEMENTED, NO_EFFECT):
        assert not d.has_errors, (name, d)
        if st == NO_EFFECT:
            assert any("has no effect in haproxy-py" in m.haproxy for m in d.notices), (name, d)
    else:
        assert d.has_errors and all(NOT_IMPLEMENTED in m.haproxy for m in d.errors), (name, st, d)


def test_every_option_is_implemented_or_refused() -> None:
    for name in K.OPTIONS:
        if name in ("httpchk",):
            continue
        args = {"pgsql-check": " user haproxy", "http-restrict-req-hdr-names": " delete"}.get(name, "")  # the options that need arguments
        text = HDR + f"listen l\n    bind :1\n    option {name}{args}\n"
        if name == "external-check":  # 2.6 wants the global keyword and a command with it
            text = text.replace("listen l\n", "listen l\n    external-check command /bin/true\n")
            text = "global\n    external-check\n    insecure-fork-wanted\n" + text
        _, d = parse_text(text, "o.cfg")
        _verdict(S.OPTION, name, d)


def test_every_server_keyword_is_implemented_or_refused(certs: Any) -> None:
    for name, nargs in K.SERVER_KEYWORDS.items():
        arg = {"observe": "layer4", "on-error": "fastinter", "on-marked-down": "shutdown-sessions",
               "on-marked-up": "shutdown-backup-sessions", "track": "be/x", "port": "80", "agent-port": "80",
               "weight": "1", "id": "5", "resolve-prefer": "ipv4",
               "resolve-opts": "allow-dup-ip", "ca-file": certs["ca.crt"], "verify": "none",
               "alpn": "http/1.1", "sni": "str(x)", "ssl-min-ver": "TLSv1.2", "ssl-max-ver": "TLSv1.3",
               "ciphers": "DEFAULT", "ciphersuites": "TLS_AES_128_GCM_SHA256", "crl-file": certs["ca.crt"],
               "crt": certs["ec.pem"], "check-alpn": "http/1.1", "check-proto": "none", "proto": "h1",
               "proxy-v2-options": "crc32c", "socks4": "127.0.0.1:1080", "resolve-net": "10.0.0.0/8"}.get(name, "1")
        line = f"server s 1.1.1.1:1 {name}" + (f" {arg}" if nargs else "")
        if name in ("ssl", "check-ssl"):  # TLS to a server verifies it by default: with a CA file
            line += " verify none"
        if name == "init-addr":
            line = line.replace("init-addr 1", "init-addr libc")
        if name == "agent-check":  # 2.6 refuses an agent check without its port
            line += " agent-port 80"
        if name == "agent-addr":
            line = line.replace("agent-addr 1", "agent-addr 127.0.0.1")
        _, d = parse_text(HDR + f"backend be\n    {line}\n    server x 1.1.1.1:2\n", "s.cfg")
        _verdict(S.SERVER, name, d)


def test_did_you_mean() -> None:
    assert did_you_mean("foo", list(K.SERVER_KEYWORDS)) == "tfo"
    assert did_you_mean("nmae", list(K.BIND_KEYWORDS)) == "name"
    assert did_you_mean("http-send-server-name", list(K.PROXY_KEYWORDS)) == "http-send-name-header"
    assert did_you_mean("foosection", list(K.PROXY_KEYWORDS)) is None
    assert did_you_mean("n-backup", list(K.SERVER_KEYWORDS)) == "backup"  # '-' counts as a word's start
    assert did_you_mean("wf", list(K.SERVER_KEYWORDS)) is None  # the classes present count too
    assert did_you_mean("zzzzzzzz", ["a", "b"]) is None
