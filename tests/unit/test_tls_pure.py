"""The pure parts of TLS: SNI choice (against a naive reference on generated names), DN, date and
serial formatting of the ssl_* fetches."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from haproxy_py.tls.info import asn1_time, dn_entry, dn_oneline, serial_bytes
from haproxy_py.tls.sni import SniTable

_label = st.sampled_from(["a", "b", "www", "x-1", "Z"])
_name = st.lists(_label, min_size=1, max_size=3).map(".".join)
_cert_name = st.one_of(_name, _name.map(lambda n: "*." + n))


def _reference(certs: list[list[str]], sni: str) -> int | None:
    n = sni.lower()
    for i, names in enumerate(certs):
        if n in [x.lower() for x in names if not x.startswith("*.")]:
            return i
    if "." in n and n.index(".") > 0:
        rest = n[n.index(".") + 1:]
        for i, names in enumerate(certs):
            if rest in [x.lower()[2:] for x in names if x.startswith("*.")]:
                return i
    return None


@given(st.lists(st.lists(_cert_name, min_size=1, max_size=3), min_size=1, max_size=4), _name)
def test_sni_table_matches_the_reference(certs: list[list[str]], sni: str) -> None:
    assert SniTable(certs).select(sni) == _reference(certs, sni)


def test_sni_table_rules() -> None:
    t = SniTable([["www.example.com", "*.example.org"], ["*.example.com"], ["a.example.org"]])
    assert t.select("WWW.example.com") == 0
    assert t.select("x.example.com") == 1
    assert t.select("a.example.org") == 2          # exact before wildcard
    assert t.select("b.example.org") == 0
    assert t.select("a.b.example.org") is None     # one label only
    assert t.select("example.org") is None
    assert t.select(None) is None and t.select("") is None


def test_dn_and_fields() -> None:
    rdns = ((("countryName", "FR"),), (("organizationName", "Acme"),), (("commonName", "a"),),
            (("commonName", "b"),))
    assert dn_oneline(rdns) == "/C=FR/O=Acme/CN=a/CN=b"
    assert dn_entry(rdns, "CN") == "a" and dn_entry(rdns, "CN", 2) == "b" and dn_entry(rdns, "CN", -1) == "b"
    assert dn_entry(rdns, "CN", 3) is None and dn_entry(rdns, "OU") is None
    assert asn1_time("Dec  1 15:25:44 2026 GMT") == "261201152544Z"
    assert asn1_time("Jan 10 01:02:03 2051 GMT") == "20510110010203Z"
    assert asn1_time("") is None and asn1_time("junk") is None
    assert serial_bytes("C0FFEE01") == b"\xc0\xff\xee\x01" and serial_bytes("ABC") == b"\x0a\xbc"


def test_crt_list_lines_as_2_6_reads_them() -> None:
    """crt-list lines: comments, options between brackets, filters, 2.6's error texts."""
    import pytest

    from haproxy_py.tls.crtlist import CrtListError, LineSpec, dump_line, parse_line

    assert parse_line("") is None and parse_line("   # x") is None
    assert parse_line(" /c.pem  a.test  # tail") == LineSpec("/c.pem", (), ("a.test",))
    s = parse_line("/c.pem [alpn h2,http/1.1 no-ca-names verify optional] *.a.test !b.a.test")
    assert s == LineSpec("/c.pem", (("alpn", "h2,http/1.1"), ("no-ca-names", None), ("verify", "optional")),
                         ("*.a.test", "!b.a.test"))
    assert parse_line("/c.pem [alpn x") == LineSpec("/c.pem", (("alpn", "x"),))  # 2.6 accepts it too
    for bad, msg in (("[alpn x] /c.pem", "file must start with a cert"), ("/c.pem alpn x]", "missing '['"),
                     ("/c.pem [foo]", "unknown ssl keyword foo"), ("/c.pem [alpn]", "ssl args out of '[]' for alpn")):
        with pytest.raises(CrtListError, match=re.escape(msg)):
            parse_line(bad)
    # 2.6's order, the NUL after ALPN lists, no ca-verify-file
    assert dump_line("/c.pem", (("ssl-min-ver", "TLSv1.2"), ("ca-verify-file", "/v"), ("alpn", "h2,http/1.1"),
                                ("verify", "none")), ("x.test",), 3) == \
        "/c.pem:3 [alpn h2,http/1.1\0 verify none ssl-min-ver TLSv1.2] x.test"
    assert dump_line("/c.pem", (), (), None) == "/c.pem"


def test_sni_filters_and_negative_filters() -> None:
    """Filters replace a certificate's own names; a negative filter keeps its own line's wildcard
    off a name, not another line's."""
    from haproxy_py.tls.crtlist import sni_names
    from haproxy_py.tls.sni import SniTable

    assert sni_names((), ("own.test",)) == (("own.test",), ())
    assert sni_names(("*.A.test", "!b.a.test", "!*.x"), ("own.test",)) == (("*.a.test",), ("b.a.test",))
    t = SniTable([("*.a.test",), ("*.a.test", "c.test"), ("only.test",)], [("b.a.test",), (), ()])
    assert t.select("x.a.test") == 0 and t.select("B.A.test") == 1 and t.select("c.test") == 1
    t2 = SniTable([("*.a.test",), ()], [("b.a.test",), ()])
    assert t2.select("b.a.test") is None and t2.select("a.test") is None


def test_ignore_error_lists() -> None:
    from haproxy_py.config.tls import _error_ids

    assert _error_ids("all") == (1 << 64) - 1
    assert _error_ids("10,20") == (1 << 10) | (1 << 20)
    assert _error_ids("70") == 0  # accepted, but 2.6's mask has 64 bits
    assert _error_ids("10,foo") == "ID '0' out of range (1..94) in error IDs list '10,foo'"
    assert _error_ids("95") == "ID '95' out of range (1..94) in error IDs list '95'"


def test_sni_pick_by_key_type_as_2_6() -> None:
    """Among the certificates of one name (the first level that has any: exact, then wildcard),
    ECDSA when the client can take it, else RSA, else another key type, else ECDSA, else RSA."""
    from haproxy_py.tls.sni import SniTable, hello_offers

    t = SniTable([["s.test", "*.w.test"], ["s.test", "*.w.test"], ["s.test"], ["x.w.test"]])
    kinds = ["rsa", "ecdsa", "other", "rsa"]
    assert t.pick("s.test", kinds, True, True) == 1
    assert t.pick("S.Test", kinds, False, True) == 0
    assert t.pick("s.test", kinds, False, False) == 2
    assert t.pick("s.test", ["rsa", "ecdsa", "rsa", "rsa"], False, False) == 1
    assert t.pick("a.w.test", kinds, True, False) == 1
    assert t.pick("x.w.test", kinds, True, True) == 3  # an exact name hides the wildcards
    assert t.pick("nope.test", kinds, True, True) is None and t.pick(None, kinds, True, True) is None
    assert hello_offers(None, True) == (False, True)
    assert hello_offers(bytes([4, 3, 8, 4]), True) == (True, False)  # rsa_pss (x/4) is neither
    assert hello_offers(bytes([4, 3, 4, 1]), False) == (False, True)  # no ECDSA cipher suite
