"""Converters (haproxy_py/samples/converters.py): values checked against HAProxy 2.6.12's."""

from __future__ import annotations

import pytest

from haproxy_py.samples import Sample, SampleError, Txn, compile_expr


def ev(expr: str, t: Txn | None = None):
    s = compile_expr(expr)(t or Txn())
    return None if s is None else s.value


def test_string_converters() -> None:
    assert ev("str(AbC),lower") == b"abc" and ev("str(AbC),upper") == b"ABC" and ev("str(abc),length") == 3
    assert ev("str(AbC),bytes(1,1)") == b"b" and ev("str(AbC),bytes(5)") == b"" and ev("str(AbC),bytes(0,0)") == b""
    assert ev("str(a;b;c),field(2,;)") == b"b" and ev("str(a;b;c),field(-1,;)") == b"c"
    assert ev("str(a;b;c),field(1,;,2)") == b"a;b" and ev("str(a;b;c),field(9,;)") == b""
    assert ev("str(;a;;b),word(2,;)") == b"b"
    assert [ev(f"str(;a;;b;),word({i},;,{c})") for i, c in ((1, 0), (-1, 0), (2, 0), (-2, 2))] == [
        b"a;;b;", b";a;;b", b"b;", b";a"]  # 2.6's results
    with pytest.raises(SampleError, match="Unexpected value 0 for index"):
        compile_expr("str(a),field(0,;)")
    assert ev("str(aXbX),regsub(X,Y,g)") == b"aYbY" and ev("str(aXbX),regsub(x,Y,i)") == b"aYbX"
    assert ev("str(abc),regsub('(b)',[\\1])") == b"a[b]c"
    assert ev("str(a(b),lower") == b"a(b"  # 2.6: a parenthesis in arguments does not nest
    t = Txn()
    t.set_var("txn.v", Sample("str", b"abd"))
    assert ev("str(a),concat(<,txn.v,>)", t) == b"a<abd>"
    assert ev("str(abc),strcmp(txn.v)", t) < 0 and ev("str(abd),strcmp(txn.v)", t) == 0
    assert ev("str(  ab  ),ltrim( )") == b"ab  " and ev("str(xxabxx),rtrim(x)") == b"xxab"
    assert ev("str(ab),cut_crlf") == b"ab"
    assert ev('str(a\\"b/c),json') == b'a\\"b\\/c'
    with pytest.raises(SampleError, match="failed to register variable name"):
        compile_expr("str(a),strcmp(abd)")
    with pytest.raises(SampleError, match="missing arguments"):
        compile_expr("str(a),field(1)")


def test_arith_converters() -> None:
    assert ev("int(5),add(3)") == 8 and ev("int(5),sub(7)") == -2 and ev("int(5),mul(-3)") == -15
    assert ev("int(-3),add(-1)") == 9223372036854775807 and ev("int(-1),sub(3)") == 9223372036854775807  # 2.6 quirk
    assert ev("int(-7),div(2)") == -3 and ev("int(-7),mod(2)") == -1 and ev("int(7),mod(0)") == 0
    assert ev("int(5),div(0)") == 9223372036854775807 and ev("int(9223372036854775807),add(1)") == 9223372036854775807
    assert ev("int(12),and(10)") == 8 and ev("int(12),or(3)") == 15 and ev("int(12),xor(4)") == 8
    assert ev("int(5),neg") == -5 and ev("int(5),cpl") == -6 and ev("int(0),not") == 1
    assert ev("int(3),odd") == 1 and ev("int(3),even") == 0 and ev("int(2),bool") is True
    assert ev("str(12abc),add(1)") == 13 and ev("str(abc),add(1)") == 1 and ev("str(),add(1)") is None
    t = Txn()
    t.set_var("txn.n", Sample("sint", 4))
    assert ev("int(3),mul(txn.n)", t) == 12 and ev("int(3),mul(txn.none)", t) is None


def test_hash_converters() -> None:
    assert ev("str(hello),crc32") == 907060870 and ev("str(hello),crc32(1)") == 3902247103
    assert ev("str(hello),djb2") == 261238937 and ev("str(hello),djb2(1)") == 1119739105
    assert ev("str(hello),sdbm") == 684824882 and ev("str(hello),wt6") == 3538347703
    assert ev("str(hello),xxh32") == 4211111929 and ev("str(hello),xxh32(1)") == 4244634537
    assert ev("str(hello),xxh64") == 2794345569481354659 and ev("str(hello),crc32c") == 2591144780
    assert ev("str(hello),sha1,hex") == b"AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D"
    assert ev("str(hello),sha2,hex") == b"2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"
    long = "x" * 40
    assert ev(f"str({long}),xxh32") is not None and ev(f"str({long}),xxh64") is not None


def test_encoding_converters() -> None:
    assert ev("str(hello),base64") == b"aGVsbG8=" and ev("str(aGVsbG8=),b64dec") == b"hello"
    assert ev("str(hello),ub64enc") == b"aGVsbG8" and ev("str(aGVsbG8),ub64dec") == b"hello"
    assert ev("str(A-=),ub64dec") == b"\x03\xef" and ev("str(a.b),ub64dec") is None  # 2.6 reads "=" as 63
    assert ev("int(1),hex") == b"0000000000000001" and ev("str(ff),hex2i") == 255 and ev("str(-10),hex2i") is None
    assert ev("str(FFFFFFFFFFFFFFFF),hex2i") == -1 and ev("str(),hex2i") == 0
    assert ev("str(a%20b+c),url_dec") == b"a b+c" and ev("str(a%20b+c),url_dec(1)") == b"a b c"
    assert ev("str(a%2),url_dec") is None
    assert ev("str(a b&c),url_enc") == b"a%20b%26c"
    assert ev("bin(610062),length") == 1  # bin -> str stops at NUL, as 2.6


def test_ip_converters() -> None:
    assert str(ev("int(16909060),ipmask(8)")) == "1.0.0.0" and str(ev("str(1.2.3.4),ipmask(24)")) == "1.2.3.0"
    assert str(ev("ipv6(::ffff:1.2.3.4),ipmask(8)")) == "1.0.0.0"
    assert str(ev("ipv6(2001:db8::1),ipmask(24,32)")) == "2001:db8::" and ev("ipv6(2001:db8::1),ipmask(24)") is None
    with pytest.raises(SampleError, match="IPv4 mask"):
        compile_expr("str(a),ipmask(33)")


def test_time_converters() -> None:
    assert ev("int(0),http_date") == b"Thu, 01 Jan 1970 00:00:00 GMT"
    assert ev("int(86400000),http_date(0,ms)") == b"Fri, 02 Jan 1970 00:00:00.0 GMT"
    assert ev("int(1005),http_date(0,ms)") == b"Thu, 01 Jan 1970 00:00:01.5 GMT"  # 2.6's output
    assert ev("int(0),utime(%Y-%m-%d)") == b"1970-01-01" and ev("int(60),utime(%M,60)") == b"02"
    assert ev("int(0),ltime(%Y)") in (b"1970", b"1969")


def test_language_converter() -> None:
    al = "str(fr-CA;q=0.8\\,en;q=0.9\\,de)"
    assert ev(f"{al},language(en;fr)") == b"en" and ev(f"{al},language(fr)") == b"fr"
    assert ev(f"{al},language(de;en)") == b"de" and ev(f"{al},language(it)") is None
    assert ev(f"{al},language(it,zz)") == b"zz" and ev("str(en;q=0),language(en)") is None


def test_var_converters() -> None:
    import base64
    import hashlib
    import hmac

    from tests.unit.test_samples_fetch import FakeRuntime

    t = Txn(runtime=FakeRuntime(), backend="be")
    assert compile_expr("str(abc),set-var(txn.v),upper")(t) == Sample("str", b"ABC")
    assert t.get_var("txn.v") == Sample("str", b"abc")
    assert compile_expr("int(5),set-var(req.n)")(t) == Sample("sint", 5) and t.get_var("req.n") == Sample("sint", 5)
    assert ev("str(x),unset-var(txn.v)", t) == b"x" and t.get_var("txn.v") is None
    # conditions: a failed one leaves the variable alone and loses the sample
    assert ev("str(a),set-var(txn.c,ifexists)", t) is None and t.get_var("txn.c") is None
    assert ev("str(a),set-var(txn.c,ifexists)", t) is None  # not even created by the failure above
    assert ev("int(1),set-var(txn.c,ifnotempty)", t) == 1 and ev("int(5),set-var(txn.c,ifgt)", t) is None
    assert ev("int(2),set-var(txn.c,iflt)", t) == 2 and t.get_var("txn.c") == Sample("sint", 2)
    assert ev("str(),set-var(txn.e,ifnotempty)", t) is None and t.get_var("txn.e") is None
    assert ev("str(z),set-var(txn.e,ifexists)", t) == b"z"  # created (unset) by the failed ifnotempty
    with pytest.raises(SampleError, match='unknown condition ""'):
        compile_expr("str(a),set-var(txn.v,ifset,)")
    t.set_var("txn.item", Sample("str", b"b"))
    assert ev("str(a),add_item(;,txn.item)", t) == b"a;b" and ev("str(),add_item(;,txn.item)", t) == b"b"
    assert ev("str(a),add_item(;,,sfx)", t) == b"a;sfx" and ev("str(a),add_item(;,txn.none)", t) == b"a"
    t.set_var("txn.key", Sample("str", base64.b64encode(b"k3y")))
    assert ev("str(msg),hmac(sha256,txn.key)", t) == hmac.new(b"k3y", b"msg", hashlib.sha256).digest()
    t.set_var("txn.secret", Sample("str", b"s3"))
    assert ev("str(s3),secure_memcmp(txn.secret)", t) is True and ev("str(s4),secure_memcmp(txn.secret)", t) is False
    assert ev("str(be),nbsrv", t) == 2 and ev("str(empty),nbsrv", t) == 0 and ev("str(be/s1),srv_queue", t) == 0
