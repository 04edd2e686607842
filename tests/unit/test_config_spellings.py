"""Spellings HAProxy 2.6 accepts: they parse, and what is not implemented is refused by its registry
(never with a syntax error); each message checked against 2.6's ``-c`` output."""

from __future__ import annotations

import pytest

from haproxy_py.config import parse_text
from haproxy_py.registry import NOT_IMPLEMENTED

NEG = ("parsing [c.cfg:2]: negation/default currently supported only for options, log, busy-polling, "
       "set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.")


def errors(text: str) -> list[str]:
    _, d = parse_text(text, "c.cfg")
    return [m.haproxy for m in d.errors]


def test_no_log_forgets_the_global_logs_declared_before() -> None:
    cfg, d = parse_text("global\n  log 127.0.0.1:5514 local0\n  no log\n  log 127.0.0.1:5515 local1\n", "c.cfg")
    assert not d.has_errors
    assert [(t.address.port_lo, t.facility) for t in cfg.global_.logs] == [(5515, "local1")]
    assert errors("global\n  no log 127.0.0.1 local0\n") == [
        "parsing [c.cfg:2] : log : 'no log' does not expect arguments"]


@pytest.mark.parametrize("name", ["busy-polling", "set-dumpable", "insecure-fork-wanted", "numa-cpu-mapping",
                                  "strict-limits"])
def test_no_form_means_what_the_keyword_means_here(name: str) -> None:
    _, pos = parse_text(f"global\n  {name}\n", "c.cfg")
    _, neg = parse_text(f"global\n  no {name}\n", "c.cfg")
    # same registry answer (no effect with a notice, or refused as not implemented), never a syntax error
    assert pos.has_errors == neg.has_errors
    assert all(NOT_IMPLEMENTED in m.haproxy for m in neg.errors)
    assert bool(pos.notices) == bool(neg.notices)
    assert errors(f"global\n  no {name} x\n") == [f"parsing [c.cfg:2] : '{name}' cannot handle unexpected argument 'x'."]


@pytest.mark.parametrize("line,expected", [
    ("no daemon", [NEG]),
    ("no maxconn 10", [NEG]),
    ("no ssl-load-extra-del-ext", [NEG]),
    ("no nosuchkw", [NEG, "parsing [c.cfg:2] : unknown keyword 'nosuchkw' in 'global' section"]),
    ("no", [NEG, "parsing [c.cfg:2] : unknown keyword '' in 'global' section"]),
    ("httpclient.resolvers.prefer ipv5",
     ["parsing [c.cfg:2] : 'httpclient.resolvers.prefer' expects 'ipv4' or 'ipv6' as argument."]),
    ("stats show-modules",
     ["parsing [c.cfg:2] : 'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' "
      "(got 'show-modules')"]),
])
def test_global_refusals_as_26(line: str, expected: list[str]) -> None:
    assert errors(f"global\n  {line}\n") == expected


@pytest.mark.parametrize("line", ["httpclient.resolvers.prefer ipv4", "httpclient.resolvers.prefer ipv6",
                                  "ssl-mode-async"])
def test_valid_26_spellings_parse(line: str) -> None:
    _, d = parse_text(f"global\n  {line}\n", "c.cfg")
    assert not d.has_errors and d.notices  # accepted as having no effect, and said so


def test_option_httpslog_is_accepted_and_cannot_be_negated() -> None:
    base = ("defaults\n  mode http\nfrontend f\n  bind 127.0.0.1:23660\n  {}\n  default_backend b\n"
            "backend b\n  server s 127.0.0.1:80\n")
    assert errors(base.format("option httpslog")) == []
    assert errors(base.format("no option httpslog")) == [
        "parsing [c.cfg:5]: negation/default is not supported for option 'httpslog'."]


def test_named_defaults_and_from() -> None:
    cfg, d = parse_text("defaults d1\n  mode http\ndefaults d2 from d1\n  timeout client 1s\n"
                        "frontend f from d2\n  bind 127.0.0.1:23661\n", "c.cfg")
    assert not d.has_errors
    f = cfg.proxy("f")
    assert f is not None and f.mode == "http" and f.timeouts.client == 1000
    assert errors("defaults d1\n  mode http\nfrontend f from nosuch\n  bind 127.0.0.1:23661\n") == [
        "parsing [c.cfg:3] : defaults section 'nosuch' not found for frontend 'f'."]
