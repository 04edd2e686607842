"""do-resolve's pure part (actions/resolve.py): the action word as 2.6 reads it, the names it asks."""

from __future__ import annotations

import pytest

from haproxy_py.actions.base import WAIT_RESOLVE, ActionError, ParseCtx, RuleTxn
from haproxy_py.actions.resolve import DoResolve, dns_name, p_do_resolve


def _parse(word: str, *args: str) -> DoResolve:
    act = p_do_resolve(list(args), ParseCtx("http-request", word, "frontend", "f"))
    assert isinstance(act, DoResolve)
    return act


@pytest.mark.parametrize(("word", "var", "section", "prefer"), [
    ("do-resolve(txn.ip,dns)", "txn.ip", "dns", "ipv6"),
    ("do-resolve(txn.ip,dns,ipv4)", "txn.ip", "dns", "ipv4"),
    ("do-resolve(sess.ip,dns,ipv6)", "sess.ip", "dns", "ipv6"),
    # 2.6 compares the option's first characters only, and ignores what follows ')'
    ("do-resolve(txn.ip,dns,)", "txn.ip", "dns", "ipv4"),
    ("do-resolve(txn.ip,dns,ip)", "txn.ip", "dns", "ipv4"),
    ("do-resolve(txn.ip,dns,ipv6)junk", "txn.ip", "dns", "ipv6"),
    # a name of no scope: accepted, never set (2.6 fails to set it at runtime)
    ("do-resolve(foo.ip,dns)", None, "dns", "ipv6"),
])
def test_action_word(word: str, var: str | None, section: str, prefer: str) -> None:
    a = _parse(word, "hdr(host)")
    assert (a.var, a.resolvers, a.prefer) == (var, section, prefer)


@pytest.mark.parametrize(("word", "args", "shown"), [
    ("do-resolve(txn.ip,dns,ipv5)", ["hdr(x)"], "do-resolve(txn.ip,dns,ipv5)"),
    ("do-resolve(txn.ip)", ["hdr(x)"], "do-resolve(txn.ip)"),
    ("do-resolve(txn.ip,dns", ["hdr(x)"], "do-resolve(txn.ip,dns"),
    ("do-resolve(txn.ip,dns)", [], ""),
    ("do-resolve(txn.ip,dns)", ["hdr(x),nope"], "hdr(x),nope"),
])
def test_refused_as_26(word: str, args: list[str], shown: str) -> None:
    with pytest.raises(ActionError) as e:
        _parse(word, *args)
    assert f"Can't parse '{shown}'. Expects 'do-resolve(<varname>,<resolvers>[,<options>]) <expr>'." in e.value.message


def test_names_asked() -> None:
    assert dns_name(b"www.example.test") == "www.example.test"
    assert dns_name(b"www.example.test.") == "www.example.test"
    for bad in (b"", b"a..b", b".a", b"x" * 64 + b".test", b"\xe9t\xe9.test", (b"a" * 60 + b".") * 5):
        assert dns_name(bad) is None, bad


def test_run_hands_the_name_or_goes_on() -> None:
    a = _parse("do-resolve(txn.ip,dns)", "req.hdr(x-name),lower")
    t = RuleTxn(None, "127.0.0.1", 1, "127.0.0.1", 2, None, "f")
    assert a.run(t).kind != WAIT_RESOLVE  # no request, no sample: the rules go on
    from haproxy_py.http.parse import parse_request

    t.req = parse_request(b"GET / HTTP/1.1\r\nx-name: WWW.Example.TEST\r\n\r\n", 0)[0]  # type: ignore[index]
    assert a.run(t) is a.verdict and t.resolve_name == "www.example.test"
    a.store(t, "2001:db8::1")
    v = t.get_var("txn.ip")
    assert v is not None and v.type == "ipv6" and str(v.value) == "2001:db8::1"
