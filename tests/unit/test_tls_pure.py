"""The pure parts of TLS: SNI choice (against a naive reference on generated names), DN, date and
serial formatting of the ssl_* fetches."""

from __future__ import annotations

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
