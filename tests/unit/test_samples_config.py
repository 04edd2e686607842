"""Sample fetches and converters in the configuration: accepted means implemented (a name 2.6 knows
that haproxy-py does not implement is refused at FILE:LINE:COL), 2.6's load-time argument checks
and messages, -f pattern files, and 2.6's warnings for ACLs that cannot match where they are used."""

from __future__ import annotations

from pathlib import Path

from haproxy_py.config import parse_text
from haproxy_py.registry import NOT_IMPLEMENTED

HDR = """defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend b
    server s 127.0.0.1:1
frontend f
    bind 127.0.0.1:8080
    default_backend b
"""


def diags(body: str):
    _, d = parse_text(HDR + body, "t.cfg")
    return d


def test_refused_fetch_and_converter_at_their_column() -> None:
    """A refused fetch and a refused converter are errors at their columns; once every converter
    is implemented (no refused one left) only the fetch is checked."""
    from haproxy_py.samples import CONVERTERS, FETCHES

    fetch_name = sorted(n for n in FETCHES.refused() if "(" not in n and not n.startswith("ssl_"))[0]
    conv = CONVERTERS.refused()
    d = diags(f"    acl sni {fetch_name} -m str a.example\n    use_backend b if sni\n"
              + (f"    acl m path,{conv[0]} a\n" if conv else ""))
    errs = [m for m in d.errors]
    assert len(errs) == 1 + bool(conv), [m.haproxy for m in errs]  # the refused ACL's later use is not another error
    assert NOT_IMPLEMENTED in errs[0].haproxy and f"sample fetch '{fetch_name}'" in errs[0].haproxy
    assert (errs[0].loc.file, errs[0].loc.line, errs[0].loc.col) == ("t.cfg", 11, 13)
    if conv:
        assert f"converter '{conv[0]}' is " + NOT_IMPLEMENTED in errs[1].haproxy
        assert (errs[1].loc.line, errs[1].loc.col) == (13, 11)


def test_unknown_names_and_bad_arguments_keep_2_6_messages() -> None:
    d = diags("    acl a nosuch_fetch x\n    acl b path,nosuch x\n    acl c hdr(x,y) 1\n"
              "    acl e str(a),field(0,;) a\n")
    msgs = [m.haproxy for m in d.errors]
    assert "unknown fetch method 'nosuch_fetch' in ACL expression 'nosuch_fetch'." in msgs[0]
    assert msgs[1].endswith("error detected while parsing ACL 'b' : ACL keyword 'path' : unknown converter 'nosuch'.")
    assert msgs[2].endswith("ACL keyword 'hdr' : failed to parse 'y' as type 'integer' at position 2.")
    assert "Unexpected value 0 for index" in msgs[3]


def test_pattern_files_and_implemented_expressions(tmp_path: Path) -> None:
    pf = tmp_path / "p.lst"
    pf.write_text("/a\n# c\n\n/b\n")
    d = diags(f"    acl p path_beg -i -f {pf} -f {pf}\n    acl h hdr(host),lower,field(1,.) -m str www\n"
              "    acl n req.hdr_cnt(x) gt 1\n    use_backend b if p h n\n")
    assert not d.has_errors, [m.haproxy for m in d.errors]
    d = diags("    acl p path -f /nonexistent/file.lst\n")
    assert "failed to open pattern file </nonexistent/file.lst>" in d.errors[0].haproxy


def test_incompatible_fetch_warnings_as_2_6() -> None:
    d = diags("    acl s status 200\n    acl p path /x\n    http-request deny if s\n"
              "    http-request deny if { res.hdr(x) a }\n    http-response deny if p\n    use_backend b if s\n")
    w = [m.haproxy for m in d.warnings]
    assert ("parsing [t.cfg:13] : acl 's' will never match because it only involves keywords that are "
            "incompatible with 'frontend http-request header rule'") in w
    assert ("parsing [t.cfg:14] : anonymous acl will never match because it uses keyword 'res.hdr' which is "
            "incompatible with 'frontend http-request header rule'") in w
    assert ("parsing [t.cfg:15] : acl 'p' will never match because it only involves keywords that are "
            "incompatible with 'frontend http-response header rule'") in w
    assert any("[t.cfg:16] : acl 's' will never match" in x and "'frontend use-backend rule'" in x for x in w)


def test_binary_and_any_samples_need_a_match_method() -> None:
    d = diags("    acl h req.hdrs zz\n    acl v var(txn.x) a\n    acl s str(a),sha1 x\n"
              "    acl ok1 req.hdrs -m sub zz\n    acl ok2 req.hdrs,hex -m sub 7A\n    acl ok3 var(txn.x) -m str a\n")
    msgs = [m.haproxy for m in d.errors]
    assert len(msgs) == 3, msgs
    for m, name in zip(msgs, ("req.hdrs", "var", "str"), strict=True):
        assert m.endswith(f"matching method must be specified first (using '-m') when using a sample fetch of "
                          f"this type ('{name}')."), m


def test_bad_patterns_are_reported_by_the_check_not_at_start(tmp_path: Path) -> None:
    """-c compiles each ACL as the engine will: 2.6's messages for bad patterns."""
    pf = tmp_path / "bad.lst"
    pf.write_text("10.0.0.1\nnot-an-ip\n")
    d = diags("    acl a src 10.0.0.300\n    acl c hdr(x) -m bin 0g\n    acl n path_len abc\n"
              "    acl r hdr_val(x) 5:x\n    acl x path_reg ([a-\n"
              f"    acl f src -f {pf}\n")
    msgs = [m.haproxy.split(" : ", 2)[-1] for m in d.errors]
    assert msgs[:4] == ["'10.0.0.300' is not a valid IPv4 or IPv6 address.", "an hex digit is expected (found 'g').",
                        "'abc' is not a number.", "'5:x' is not a valid number range."]
    assert msgs[4].startswith("regex '([a-' is invalid (")
    assert msgs[5] == "'not-an-ip' is not a valid IPv4 or IPv6 address."


def test_every_predefined_acl_is_implemented() -> None:
    """RDP_COOKIE, REQ_CONTENT and WAIT_END (the last ones over refused fetches) are accepted now."""
    d = diags("    tcp-request inspect-delay 1s\n    tcp-request content accept if RDP_COOKIE || WAIT_END\n"
              "    tcp-request content accept if REQ_CONTENT\n    use_backend b if METH_GET\n")
    assert not d.has_errors, [m.haproxy for m in d.errors]


def test_proxy_server_and_userlist_arguments_must_exist() -> None:
    d = diags("    acl a nbsrv(nob) gt 0\n    acl u http_auth(nul)\n    acl s srv_is_up(b/nos)\n"
              "    acl s2 srv_is_up(nob/s)\n    acl f fe_conn(nofe) gt 1\n"
              "    acl ok1 nbsrv(b) gt 0\n    acl ok2 srv_is_up(b/s)\n    acl ok3 fe_conn(f) gt 1\n")
    msgs = [m.haproxy for m in d.errors]
    # several in one proxy: one alert listing them, as 2.6 prints it
    assert msgs == ["multiple argument resolution errors:" + "".join("\n        " + m for m in [
        "parsing [t.cfg:11]: unable to find backend 'nob' referenced in arg 1 of ACL keyword 'nbsrv' in proxy 'f'.",
        "parsing [t.cfg:12]: unable to find userlist 'nul' referenced in arg 1 of ACL keyword 'http_auth' in proxy 'f'.",
        "parsing [t.cfg:13]: unable to find server 'nos' in proxy 'b', referenced in arg 1 of ACL keyword "
        "'srv_is_up' in proxy 'f'.",
        "parsing [t.cfg:14]: unable to find proxy 'nob' referenced in arg 1 of ACL keyword 'srv_is_up' in proxy 'f'.",
        "parsing [t.cfg:15]: unable to find frontend 'nofe' referenced in arg 1 of ACL keyword 'fe_conn' in "
        "proxy 'f'."])], msgs


def test_map_flag_makes_the_keys_of_a_map_file_the_patterns(tmp_path: Path) -> None:
    mf = tmp_path / "h.map"
    mf.write_text("www.a.com be1\n# c\napi.a.com   be2\n")
    cfg, d = parse_text(HDR + f"    acl h hdr(host) -M -f {mf}\n    acl p path -f {mf}\n", "t.cfg")
    assert not d.has_errors, [m.haproxy for m in d.errors]
    acls = {a.name: a for a in cfg.proxy("f").acls}
    assert acls["h"].patterns == ("www.a.com", "api.a.com") and acls["h"].pattern_files == ()
    assert acls["p"].pattern_files == (str(mf),)  # without -M the whole line is the pattern


def test_json_and_jwt_argument_checks() -> None:
    """2.6's load-time messages for json_query / jwt_* arguments; RS and ES keys are refused
    (no public-key library), PS is refused with 2.6's own words (2.6.12 does not manage it)."""
    import pytest

    from haproxy_py.samples import SampleError, compile_format

    with pytest.raises(SampleError, match=r"^failed to parse sample expression <req.fhdr\(x\),json_query\(''\)\]> : "
                       r"invalid args in converter 'json_query' : json_path must not be empty$"):
        compile_format("%[req.fhdr(x),json_query('')]")
    d = diags("    acl b req.fhdr(x),json_query('$.a',str) -m found\n"
              "    acl c req.fhdr(x),jwt_verify(HS999,k) 1\n    acl d req.fhdr(x),jwt_verify(PS256,k) 1\n"
              "    acl e req.fhdr(x),jwt_verify(RS256,/k.pem) 1\n    acl f req.fhdr(x),jwt_header_query('$.a',x) -m found\n"
              "    acl ok req.fhdr(x),jwt_verify(txn.a,txn.k),jwt_verify(HS512,k) 1\n")
    msgs = [m.haproxy for m in d.errors]
    assert len(msgs) == 5, msgs
    assert msgs[0].endswith("invalid args in converter 'json_query' : output_type only supports \"int\" as argument.")
    assert msgs[1].endswith("invalid args in converter 'jwt_verify' : unknown JWT algorithm: HS999.")
    assert msgs[2].endswith("invalid args in converter 'jwt_verify' : RSASSA-PSS JWS signing not managed yet.")
    assert "RS256 is " + NOT_IMPLEMENTED in msgs[3]
    assert "output_type only supports" in msgs[4]
