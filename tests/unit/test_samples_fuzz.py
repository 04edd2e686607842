"""compile_expr / compile_format never fail with anything but SampleError, whatever the text (the
configuration reports SampleError at its column; any other exception would crash -c), and a
compiled expression never raises on any request."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from haproxy_py.http.message import RequestHead, ResponseHead
from haproxy_py.samples import FETCHES, SampleError, Txn, compile_expr, compile_format
from haproxy_py.samples.core import CONVERTERS

_NAMES = sorted(FETCHES.entries)
_CONVS = sorted(CONVERTERS.entries)
_ARGS = ["", "0", "1", "-1", "x", "a;b", "10.0.0.0/8", "8", "txn.v", "%", "(", ")", "'q'", '"', "\\", "s", "ms",
         "utf8", "md5", "sha256", "999999999999999999999", "0,1", ",", "be", "L", "+5"]


@st.composite
def expressions(draw: st.DrawFn) -> str:
    def call(name: str) -> str:
        if draw(st.booleans()):
            return name
        args = draw(st.lists(st.sampled_from(_ARGS), max_size=3))
        return f"{name}({','.join(args)})"

    parts = [call(draw(st.sampled_from(_NAMES)))]
    parts += [call(draw(st.sampled_from(_CONVS))) for _ in range(draw(st.integers(0, 3)))]
    text = ",".join(parts)
    if draw(st.booleans()):  # and some damage
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(["(", ")", ",", "]", "%[", " ", "'", ""])) + text[i:]
    return text


_REQ = RequestHead(b"GET", b"/p/q?a=1&b=x", headers=[(b"Host", b"h"), (b"Cookie", b"a=1; b=2"),
                                                       (b"X-A", b"1, 2"), (b"Authorization", b"Basic YTpi")])


def _txns() -> list[Txn]:
    t1 = Txn(_REQ, "127.0.0.1", 1, "127.0.0.2", 80, None, "fe", "be", now=1.0, wall=1e9)
    t2 = Txn(_REQ, "::1", 1, None, 0, None, "fe")
    t2.res = ResponseHead(200, b"OK", headers=[(b"Set-Cookie", b"s=1")])
    return [t1, t2, Txn()]


@settings(max_examples=400, deadline=None)
@given(expressions())
def test_compile_expr_fails_only_with_sample_error(text: str) -> None:
    try:
        fn = compile_expr(text)
    except SampleError as e:
        assert isinstance(e.offset, int) and 0 <= e.offset <= len(text)
        return
    for t in _txns():
        fn(t)  # never raises


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.one_of(
    expressions(), st.sampled_from(["%ci", "%%", "%[", "%{+Q}", "x y", "%H", "%zz", "%"]))), max_size=4))
def test_compile_format_fails_only_with_sample_error(parts: list[tuple[bool, str]]) -> None:
    text = "".join(f"%[{p}]" if wrap else p for wrap, p in parts)
    try:
        fn = compile_format(text)
    except SampleError:
        return
    for t in _txns():
        assert isinstance(fn(t), bytes)
