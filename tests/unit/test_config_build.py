"""The builder: what each keyword puts in the model, inheritance, ids, semantic checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from haproxy_py.config import has_listener, load_config, parse_text
from haproxy_py.config.model import Config

ROOT = Path(__file__).resolve().parents[2]

HDR = """global
    log 127.0.0.1:23514 local0
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
"""


def ok(text: str) -> Config:
    cfg, d = parse_text(text, "t.cfg")
    assert not d.has_errors, d
    return cfg


def errors(text: str) -> list[str]:
    _, d = parse_text(text, "t.cfg")
    return [m.haproxy for m in d.errors]


def warnings(text: str) -> list[str]:
    _, d = parse_text(text, "t.cfg")
    return [m.haproxy for m in d.warnings]


def test_seed_config() -> None:
    cfg, d = load_config([str(ROOT / "samples" / "haproxy.cfg")])
    assert not d.has_errors
    # the 1.5-style "frontend main *:5000" is accepted with a notice that says 2.6 rejects it
    assert any(m.severity == "NOTICE" and m.ours and "2.6 rejects it" in m.haproxy for m in d.messages)
    main = cfg.proxy("main")
    assert main is not None and main.binds[0].addresses[0].port_lo == 5000
    assert [p.name for p in cfg.proxies] == ["main", "static", "app"]
    # GLOBAL (stats socket) takes uuid 1
    assert [p.uuid for p in cfg.proxies] == [2, 3, 4]
    app = cfg.proxy("app")
    assert [(s.name, s.puid, s.check, s.address.port_lo) for s in app.servers] == [
        ("app1", 1, True, 5001), ("app2", 2, True, 5002), ("app3", 3, True, 5003), ("app4", 4, True, 5004)]
    assert main.log_style == "httplog" and main.logs[0].facility == "local2" and main.logs[0].address.port_lo == 514
    assert main.option("dontlognull") and main.option("http-server-close")
    assert main.forwardfor is not None and main.forwardfor.except_net == "127.0.0.0/8"
    assert app.redispatch == -1 and app.retries == 3
    t = app.timeouts
    assert (t.http_request, t.queue, t.connect, t.client, t.server, t.http_keep_alive, t.check) == (
        10_000, 60_000, 10_000, 60_000, 60_000, 10_000, 10_000)
    assert main.maxconn == 3000
    assert [a.name for a in main.acls] == ["url_static", "url_static"]
    a0 = main.acls[0]
    assert (a0.fetch, a0.match, a0.ignore_case, a0.patterns) == (
        "path", "beg", True, ("/static", "/images", "/javascript", "/stylesheets"))
    ub = main.use_backends[0]
    assert ub.backend == "static" and ub.cond.any_of[0][0].acl == "url_static"
    assert main.default_backend == "app"
    g = cfg.global_
    assert (g.chroot, g.pidfile, g.maxconn, g.user, g.group, g.daemon) == (
        "/var/lib/haproxy", "/var/run/haproxy.pid", 4000, "haproxy", "haproxy", True) or g.user == "haproxy"
    assert g.stats_sockets[0].address.path == "/var/lib/haproxy/stats"
    assert g.stats_sockets[0].level == "operator"


def test_uuids_without_socket_and_explicit_ids() -> None:
    cfg = ok(HDR + "frontend a\n bind :1\n default_backend c\nbackend b\n id 1\nbackend c\n server s 1.1.1.1:1\n")
    # as 2.6 numbers them (checked on its stats page): the counter moves on past explicit ids too
    assert [(p.name, p.uuid) for p in cfg.proxies] == [("a", 2), ("b", 1), ("c", 4)]


def test_server_puids_skip_explicit_ids() -> None:
    cfg = ok(HDR + "backend b\n server a 1.1.1.1:1 id 2\n server b 1.1.1.1:2\n server c 1.1.1.1:3\n"
             "listen l\n bind :1\n server x 1.1.1.1:1\n")
    assert [(s.name, s.puid) for s in cfg.proxy("b").servers] == [("a", 2), ("b", 3), ("c", 4)]


def test_defaults_inheritance_reset_and_from() -> None:
    cfg = ok("""defaults base
    mode http
    timeout client 1s
    retries 5
defaults
    mode tcp
frontend f1
    bind :1
frontend f2 from base
    bind :2
""")
    f1, f2 = cfg.proxy("f1"), cfg.proxy("f2")
    assert f1.mode == "tcp" and f1.timeouts.client is None and f1.retries == 3
    assert f2.mode == "http" and f2.timeouts.client == 1000 and f2.retries == 5
    assert [d.name for d in cfg.defaults] == ["base", ""]


def test_default_server_applies_to_later_servers() -> None:
    cfg = ok(HDR + "backend b\n server a 1.1.1.1:1\n default-server inter 3s weight 5 check\n"
             " server b 1.1.1.1:2 weight 7\n")
    a, b = cfg.proxy("b").servers
    assert (a.inter, a.weight, a.check) == (2000, 1, False)
    assert (b.inter, b.weight, b.check) == (3000, 7, True)


def test_server_parameters() -> None:
    cfg = ok(HDR + "backend b\n server s1 127.0.0.1:23001 minconn 5 maxconn 50 maxqueue 10 slowstart 10s "
             "check inter 2s fastinter 1s downinter 5s rise 3 fall 2 port 23001 addr 127.0.0.1 id 7 "
             "observe layer4 error-limit 5 on-error mark-down cookie c1 track b/s2 backup\n"
             " server s2 127.0.0.1 disabled weight 0\n")
    s1, s2 = cfg.proxy("b").servers
    assert (s1.minconn, s1.maxconn, s1.maxqueue, s1.slowstart, s1.inter, s1.fastinter, s1.downinter) == (
        5, 50, 10, 10_000, 2000, 1000, 5000)
    assert (s1.rise, s1.fall, s1.check_port, s1.check_addr, s1.id, s1.puid) == (3, 2, 23001, "127.0.0.1", 7, 7)
    assert (s1.observe, s1.error_limit, s1.on_error, s1.cookie, s1.track, s1.backup) == (
        "layer4", 5, "mark-down", "c1", "b/s2", True)
    assert (s2.disabled, s2.weight, s2.address.port_lo) == (True, 0, 0)


@pytest.mark.parametrize("param", ["redir http://x",
                                   "source 127.0.0.1"])
def test_unimplemented_server_parameters_are_refused(param: str) -> None:
    _, d = parse_text(HDR + f"backend b\n server s1 127.0.0.1:1 check {param}\n", "t.cfg")
    assert len(d.errors) == 1 and "not implemented by haproxy-py (HAProxy 2.6 supports it)" in d.errors[0].haproxy, d
    col = len(" server s1 127.0.0.1:1 check ") + 1
    assert d.errors[0].loc.col == col, d.errors[0].loc


def test_agent_initial_is_unknown_as_in_26() -> None:
    """2.6.12 has no 'agent-initial' (its -dKall lists none): an unknown keyword, as 2.6 says it."""
    _, d = parse_text(HDR + "backend b\n server s1 127.0.0.1:1 check agent-initial\n", "t.cfg")
    assert len(d.errors) == 1, d
    assert "unknown keyword 'agent-initial'; did you mean 'agent-inter' maybe ?" in d.errors[0].haproxy, d


def test_balance_and_hash_type() -> None:
    cfg = ok(HDR + """backend a
    balance uri len 10 depth 2 whole path-only
backend b
    balance url_param sid check_post
    hash-type consistent
backend c
    balance hdr(Host) use_domain_only
    hash-type map-based djb2
backend d
    balance source
    hash-type consistent crc32 avalanche
backend e
    balance random(3)
backend f
    balance rdp-cookie(foo)
""")
    a = cfg.proxy("a").balance
    assert (a.algorithm, a.uri_len, a.uri_depth, a.uri_whole, a.uri_path_only) == ("uri", 10, 2, True, True)
    b = cfg.proxy("b")
    assert (b.balance.algorithm, b.balance.param, b.balance.check_post) == ("url_param", "sid", True)
    # no function: sdbm with the implicit avalanche
    assert (b.hash_type.method, b.hash_type.function, b.hash_type.avalanche) == ("consistent", "sdbm", True)
    c = cfg.proxy("c")
    assert (c.balance.header, c.balance.use_domain_only) == ("Host", True)
    # an explicit function disables the implicit avalanche
    assert (c.hash_type.method, c.hash_type.function, c.hash_type.avalanche) == ("map-based", "djb2", False)
    assert cfg.proxy("d").hash_type.avalanche is True and cfg.proxy("d").hash_type.function == "crc32"
    assert cfg.proxy("e").balance.draws == 3
    assert cfg.proxy("f").balance.rdp_cookie == "foo"
    assert cfg.proxy("a").hash_type.method == "map-based"


def test_cookie_forwardfor_httpchk_stats(tmp_path: Path) -> None:
    ef = tmp_path / "503.http"
    ef.write_bytes(b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n")
    cfg = ok(HDR + """frontend f
    bind :1
    option forwardfor except 10.0.0.0/8 header X-Real-IP if-none
    default_backend b
backend b
    cookie SRV insert indirect nocache httponly secure domain .a.com maxidle 30m maxlife 1h attr SameSite=Lax
    option httpchk HEAD /health HTTP/1.1
    http-check send hdr Host example.com
    http-check expect status 200
    http-check disable-on-404
    option redispatch 2
    stats enable
    stats uri /admin?stats
    stats auth u:p
    stats refresh 5s
    stats admin if LOCALHOST
    stats realm My\\ Realm
    http-send-name-header X-Server
    errorfile 503 EF
    server s 1.1.1.1:1
""".replace("EF", str(ef)))
    f, b = cfg.proxy("f"), cfg.proxy("b")
    assert f.forwardfor.except_net == "10.0.0.0/8" and f.forwardfor.header == "X-Real-IP" and f.forwardfor.if_none
    c = b.cookie
    assert (c.name, c.mode, c.indirect, c.nocache, c.httponly, c.secure, c.domains, c.maxidle, c.maxlife, c.attrs) == (
        "SRV", "insert", True, True, True, True, (".a.com",), 1800, 3600, ("SameSite=Lax",))
    hc = b.http_check
    assert (hc.method, hc.uri, hc.version, hc.headers, hc.expect, hc.disable_on_404) == (
        "HEAD", "/health", "HTTP/1.1", (("Host", "example.com"),), ("status", "200", False), True)
    assert b.redispatch == 2
    s = b.stats
    assert (s.enabled, s.uri, s.auth, s.refresh, s.realm) == (True, "/admin?stats", (("u", "p"),), 5000, "My Realm")
    assert s.admin[0].any_of[0][0].acl == "LOCALHOST"
    assert b.http_send_name_header == "X-Server"
    assert b.errorfiles == ((503, str(ef)),)


def test_rules_and_conditions() -> None:
    cfg = ok(HDR + """frontend f
    bind :1
    acl a path_beg /a
    acl b hdr(host) -m str -i example.com
    acl n nbsrv(b) lt 1
    http-request deny deny_status 429 if a !b || { src 10.0.0.0/8 }
    http-request allow
    http-request use-service prometheus-exporter if { path /metrics }
    http-request add-header X-A a
    http-request set-header X-B b
    http-request del-header X-C
    http-request return status 200 content-type text/plain string ok
    http-request redirect location /x code 301
    tcp-request inspect-delay 5s
    use_backend b unless n
    default_backend b
backend b
    server s 1.1.1.1:1
""")
    f = cfg.proxy("f")
    rules = [(r.kind, r.action, r.args) for r in f.http_rules]
    assert rules[0] == ("http-request", "deny", ("deny_status", "429"))
    assert [r[1] for r in rules] == ["deny", "allow", "use-service", "add-header", "set-header", "del-header",
                                     "return", "redirect", "inspect-delay"]
    # each rule carries its compiled action; the inspect-delay setting has none
    assert all(r.impl is not None for r in f.http_rules[:-1]) and f.http_rules[-1].impl is None
    assert rules[2][2] == ("prometheus-exporter",)
    cond = f.http_rules[0].cond
    assert not cond.unless
    assert [[(t.negate, t.acl) for t in g] for g in cond.any_of] == [[(False, "a"), (True, "b")], [(False, None)]]
    anon = cond.any_of[1][0].anonymous
    assert (anon.name, anon.fetch, anon.patterns) == ("", "src", ("10.0.0.0/8",))
    n = f.acls[2]
    assert (n.fetch, n.fetch_args, n.operator, n.patterns) == ("nbsrv", ("b",), "lt", ("1",))
    b = f.acls[1]
    assert (b.fetch, b.fetch_args, b.match, b.ignore_case) == ("req.hdr", ("host",), "str", True)
    assert f.use_backends[0].cond.unless


def test_log_global_expansion_and_no_log() -> None:
    cfg = ok("""global
    log 127.0.0.1:514 local2 info
    log 127.0.0.2 local3
defaults
    mode http
    log global
    log 10.0.0.1 len 2048 format rfc5424 daemon notice
    timeout client 1s
frontend f
    bind :1
frontend g
    bind :2
    no log
""")
    f = cfg.proxy("f")
    assert [(lt.address.host, lt.facility, lt.level) for lt in f.logs] == [
        ("127.0.0.1", "local2", "info"), ("127.0.0.2", "local3", "debug"), ("10.0.0.1", "daemon", "notice")]
    assert f.logs[2].length == 2048 and f.logs[2].format == "rfc5424" and f.log_global
    assert cfg.proxy("g").logs == () and cfg.proxy("g").no_log


def test_log_styles() -> None:
    cfg = ok(HDR + "frontend a\n bind :1\n option httplog\nfrontend b\n bind :2\n option httplog clf\n"
             "frontend c\n bind :3\n mode tcp\n option tcplog\n")
    assert [p.log_style for p in cfg.proxies] == ["httplog", "httplog-clf", "tcplog"]


def test_httplog_in_tcp_falls_back() -> None:
    cfg, d = parse_text(HDR + "frontend a\n mode tcp\n bind :1\n option httplog\n", "t.cfg")
    assert cfg.proxy("a").log_style == "tcplog"
    assert "'option httplog' not usable with frontend 'a' (needs 'mode http'). Falling back to 'option tcplog'." \
        in d.warnings[0].haproxy


def test_nbproc_accepted_with_notice() -> None:
    cfg, d = parse_text("global\n nbproc 2\n", "t.cfg")
    assert not d.has_errors and cfg.global_.nbproc == 2
    assert d.notices[0].ours and "2.6 rejects nbproc" in d.notices[0].haproxy


def test_old_listen_syntax_is_a_bind() -> None:
    cfg, d = parse_text(HDR + "listen old 127.0.0.1:8080,127.0.0.1:8081\n server s 1.1.1.1:1\n", "t.cfg")
    assert not d.has_errors
    assert [a.port_lo for a in cfg.proxy("old").binds[0].addresses] == [8080, 8081]


def test_userlists_and_other_sections_kept() -> None:
    cfg = ok(HDR + "userlist ul\n group g\n user admin insecure-password secret\n user bob password $5$x\n"
             "")
    assert cfg.userlists == (("ul", (("admin", "secret", True), ("bob", "$5$x", False))),)
    assert [s.kind for s in cfg.other_sections] == ["userlist"]
    cfg = ok(HDR + "program p\n command /bin/true -x\n user nobody\n no option start-on-reload\n")
    assert [(p.name, p.command, p.user, p.start_on_reload) for p in cfg.programs] == [
        ("p", ("/bin/true", "-x"), "nobody", False)]
    for sect in ("fcgi-app c\n docroot /d\n log-stderr 127.0.0.1:514 local0\n", "fcgi-app c\n docroot /d\n option mpxs-conns\n option max-reqs 2\n"):
        _, d = parse_text(HDR + sect, "t.cfg")
        assert len(d.errors) == 1 and "is not implemented by haproxy-py" in d.errors[0].haproxy, (sect, d)
    ok(HDR + "fcgi-app c\n docroot /d\n option mpxs-conns\n option max-reqs 1\n")  # one at a time: as 2.6
    cfg = ok(HDR + "fcgi-app c\n docroot /d\n index i.php\n pass-header X\n no option keep-conn\n")
    assert [(a.name, a.docroot, a.index, a.pass_headers, a.keep_conn) for a in cfg.fcgi_apps] == [
        ("c", "/d", "i.php", (("X", None),), False)]


def test_bind_parameters() -> None:
    cfg = ok(HDR + "frontend f\n bind 127.0.0.1:80-82,[::1]:90 name web backlog 10 v4v6\n"
             " bind /tmp/s.sock mode 600\n")
    b0, b1 = cfg.proxy("f").binds
    assert [(a.kind, a.port_lo, a.port_hi) for a in b0.addresses] == [("ipv4", 80, 82), ("ipv6", 90, 90)]
    assert b0.param("backlog") == 10 and b0.param("v4v6") is True
    assert b1.addresses[0].kind == "unix" and b1.param("mode") == 0o600
    for param in ("transparent", "user nobody"):
        _, d = parse_text(HDR + f"frontend f\n bind :1 {param}\n", "t.cfg")
        assert len(d.errors) == 1 and "not implemented by haproxy-py" in d.errors[0].haproxy, (param, d)


def test_global_stats_socket_levels() -> None:
    cfg = ok("global\n stats socket /tmp/a.sock mode 660 level admin expose-fd listeners\n"
             " stats socket ipv4@127.0.0.1:9999\n stats timeout 2m\n stats maxconn 5\n")
    a, b = cfg.global_.stats_sockets
    assert (a.level, a.mode, a.expose_fd_listeners) == ("admin", 0o660, True)
    assert (b.address.kind, b.address.port_lo, b.level) == ("ipv4", 9999, "operator")
    assert cfg.global_.stats_timeout == 120_000 and cfg.global_.stats_maxconn == 5


def test_has_listener() -> None:
    assert not has_listener(ok(""))
    assert not has_listener(ok(HDR + "backend b\n server s 1.1.1.1:1\n"))
    assert has_listener(ok(HDR + "listen l\n bind :1\n"))
    assert not has_listener(ok(HDR + "listen l\n bind :1\n disabled\n"))


# ---------------------------------------------------------------- errors and warnings


@pytest.mark.parametrize("body,message", [
    ("backend b\n server s 1.1.1.1:1 weight 300\n",
     "[t.cfg:10] : 'server b/s' : weight of server s is not within 0 and 256 (300).."),
    ("backend b\n server s 1.1.1.1:1 inter 0\n",
     "[t.cfg:10] : 'server b/s' : invalid value 0 for argument 'inter' of server s.."),
    ("backend b\n server s 1.1.1.1:1 rise 0\n", "[t.cfg:10] : 'server b/s' : 'rise' has to be > 0.."),
    ("backend b\n server s\n", "[t.cfg:10] : 'server' expects <name> and <addr>[:<port>] as arguments."),
    ("backend b\n server s 1.1.1.1:99999\n", "[t.cfg:10] : 'server b/s' : invalid port '99999'"),
    ("backend b\n server s 1.1.1.1:1 foo 1\n",
     "[t.cfg:10] : 'server b/s' : unknown keyword 'foo'; did you mean 'tfo' maybe ?"),
    ("backend b\n balance foo\n", "parsing [t.cfg:10] : balance only supports 'roundrobin', 'static-rr', "
     "'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options."),
    ("backend b\n hash-type foo\n", "parsing [t.cfg:10] : 'hash-type' only supports 'consistent' and 'map-based'."),
    ("backend b\n option foobar\n", "parsing [t.cfg:10] : unknown option 'foobar'."),
    ("backend b\n mode ftp\n", "parsing [t.cfg:10] : unknown proxy mode 'ftp'."),
    ("backend b\n timeout server\n", "parsing [t.cfg:10] : 'timeout server' expects an integer value (in milliseconds)"),
    ("backend b\n timeout server 30x\n", "parsing [t.cfg:10] : unexpected character 'x' in 'timeout server'"),
    ("backend b\n timeout foo 5s\n", "parsing [t.cfg:10] : 'timeout' supports 'client', 'server', 'connect', "
     "'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' "
     "(got 'foo')"),
    ("backend b\n timeout server 25d\n", "parsing [t.cfg:10] : timer overflow in argument '25d' to 'timeout server' "
     "(maximum value is 2147483647 ms or ~24.8 days)"),
    ("backend b\n cookie SRV insert maxidle 10x\n",
     "parsing [t.cfg:10]: unexpected character 'x' in argument to <maxidle>."),
    ("backend b\n foobar 12\n", "parsing [t.cfg:10] : unknown keyword 'foobar' in 'backend' section"),
    ("backend b\n http-send-server-name x\n", "parsing [t.cfg:10] : unknown keyword 'http-send-server-name' in "
     "'backend' section; did you mean 'http-send-name-header' maybe ?"),
    ("frontend f\n bind 127.0.0.1\n", "parsing [t.cfg:10] : 'bind' : missing port specification in '127.0.0.1'"),
    ("frontend f\n bind :1 nmae x\n",
     "parsing [t.cfg:10] : 'bind :1' in section 'frontend': unknown keyword 'nmae'; did you mean 'name' maybe ?"),
    ("frontend f\n acl a1 foo_bar /x\n", "parsing [t.cfg:10] : error detected while parsing ACL 'a1' : unknown fetch "
     "method 'foo_bar' in ACL expression 'foo_bar'."),
    ("frontend f\n acl a1 path_beg -z /x\n", "parsing [t.cfg:10] : error detected while parsing ACL 'a1' : '-z' is "
     "not a valid ACL option. Please use '--' before any pattern beginning with a '-'."),
    ("frontend f\n acl a1 path -m foo /x\n", "parsing [t.cfg:10] : error detected while parsing ACL 'a1' : unknown "
     "matching method 'foo' when parsing ACL expression."),
    ("frontend f\n acl a1 path -f /nonexistent.lst\n", "parsing [t.cfg:10] : error detected while parsing ACL "
     "'a1' : failed to open pattern file </nonexistent.lst>."),
    ("frontend f\n use_backend b if nope\n",
     "parsing [t.cfg:10] : error detected while parsing switching rule : no such ACL : 'nope'."),
    ("frontend f\n http-request deny if nope\n",
     "parsing [t.cfg:10] : error detected while parsing an 'http-request deny' condition : no such ACL : 'nope'."),
    ("frontend f\n http-request deny deny_status 999\n", "parsing [t.cfg:10] : error detected in frontend 'f' "
     "while parsing 'http-request deny' rule : Unexpected status code '999'."),
    ("frontend fe/x\n", "parsing [t.cfg:9] : character '/' is not permitted in 'frontend' name 'fe/x'."),
    ("frontend f\n server s 1.1.1.1:1\n", "[t.cfg:10] : parsing [t.cfg:10] : 'server' not allowed because "
     "frontend 'f' has no backend capability."),
    ("backend b\n reqadd X-Foo:\\ bar\n", "parsing [t.cfg:10] : The 'reqadd' directive is not supported anymore "
     "since HAProxy 2.1. Use 'http-request add-header' instead."),
    ("backend b\n option forceclose\n", "parsing [t.cfg:10]: option 'forceclose' is not supported any more since "
     "HAProxy 2.0, please just remove it, or use 'option httpclose' if absolutely needed."),
    ("backend b\n stats foo\n", "parsing [t.cfg:10]: unknown stats parameter 'foo', expects 'admin', 'uri', "
     "'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'."),
    ("backend b\n errorfile 503 /nonexistent\n", "parsing [t.cfg:10] : errorfile : error opening file '/nonexistent'."),
    ("backend b\n id 0\n", "parsing [t.cfg:10]: custom id has to be > 0."),
    ("backend b\n log 1.2.3.4 foo\n", "parsing [t.cfg:10] : log : unknown log facility 'foo'"),
    ("backend b\n no option foo\n", "parsing [t.cfg:10]: negation/default is not supported for option 'foo'."),
])
def test_error_shapes(body: str, message: str) -> None:
    errs = errors(HDR + body)
    assert message in errs, errs


def test_post_parse_errors() -> None:
    assert errors(HDR + "frontend f\n bind :1\n use_backend nosuch\n") == [
        "Proxy 'f': unable to find required use_backend: 'nosuch'."]
    assert errors(HDR + "frontend f\n bind :1\n default_backend nosuch\n") == [
        "Proxy 'f': unable to find required default_backend: 'nosuch'."]
    assert errors(HDR + "frontend f\n bind :1\n default_backend g\nfrontend g\n bind :2\n") == [
        "Proxy 'f': unable to find required default_backend: 'g'."]
    assert errors(HDR + "backend b\n default_backend b\n") == ["Proxy 'b': loop detected for default_backend: 'b'."]
    assert errors(HDR + "frontend f\n bind :1\n use_backend be_%[req.hdr(x)]\n") == []
    assert errors(HDR + "backend b\n server s 1.1.1.1:1 track nosuch/s\n") != []
    assert errors(HDR + "backend b\n server s 1.1.1.1:1 track b/x\n") != []
    assert errors(HDR + "backend b\n server s 1.1.1.1:1\n server s 1.1.1.1:2\n") == [
        "parsing [t.cfg:11] : backend 'b', another server named 's' was already defined at line 10, please use "
        "distinct names."]
    assert errors(HDR + "backend b\nbackend b\n") == [
        "Parsing [t.cfg:10]: backend 'b' has the same name as backend 'b' declared at t.cfg:9."]
    assert errors(HDR + "frontend b\n bind :1\nbackend b\n") == []


def test_every_error_is_reported_not_only_the_first() -> None:
    errs = errors(HDR + "backend b\n foo\n bar\n server s 1.1.1.1:1 weight 999\n")
    assert len(errs) == 3


def test_capability_warnings() -> None:
    assert warnings(HDR + "frontend f\n bind :1\n balance roundrobin\n") == [
        "parsing [t.cfg:11] : 'balance' ignored because frontend 'f' has no backend capability."]
    assert warnings(HDR + "backend b\n bind :1\n") == [
        "parsing [t.cfg:10] : 'bind' ignored because backend 'b' has no frontend capability."]
    assert warnings(HDR + "frontend f\n bind :1\n option httpchk\n") == [
        "parsing [t.cfg:11] : 'httpchk' ignored because frontend 'f' has no backend capability."]


def test_missing_timeouts_warning() -> None:
    w = warnings("defaults\n mode http\nfrontend f\n bind :1\nbackend b\n server s 127.0.0.1:1\nbackend c\n")
    assert w[0].startswith("missing timeouts for frontend 'f'.\n   | While not properly invalid")
    assert w[1].startswith("missing timeouts for backend 'b'.")
    assert len(w) == 2  # as 2.6: a backend without servers needs no timeout
    assert w[0].endswith("timeouts are set to a non-zero value: 'client', 'connect', 'server'.")


def test_acl_without_value_warns_but_is_valid() -> None:
    cfg, d = parse_text(HDR + "frontend f\n bind :1\n acl a path_beg\n acl b hdr(x) -m found\n acl c -- \n", "t")
    assert d.warnings[0].haproxy.startswith("parsing acl keyword 'path_beg' :\n  no pattern to match")
    assert len([w for w in d.warnings if "no pattern" in w.haproxy]) == 1


def test_observe_layer7_in_tcp_is_alert_but_valid() -> None:
    cfg, d = parse_text(HDR + "backend b\n mode tcp\n server s 1.1.1.1:1 check observe layer7\n", "t.cfg")
    assert not d.has_errors
    assert [m.haproxy for m in d.messages if m.severity == "ALERT"] == [
        "[t.cfg:11] : 'server b/s' : 'layer7' can only be used in http proxies.."]


@pytest.mark.parametrize("line", ["weight abc", "maxconn abc", "rise 2x"])
def test_junk_integers_are_errors_for_us(line: str) -> None:
    _, d = parse_text(HDR + f"backend b\n server s 1.1.1.1:1 {line}\n", "t.cfg")
    assert d.has_errors and d.errors[0].ours and "haproxy-py refuses" in d.errors[0].haproxy


def test_errors_carry_precise_location_and_expected() -> None:
    _, d = parse_text(HDR + "backend b\n    timeout client 30x\n", "t.cfg")
    e = d.errors[0]
    assert (e.loc.file, e.loc.line, e.loc.col) == ("t.cfg", 10, 20)
    assert e.line == "    timeout client 30x" and e.expected
    extra = e.extra_lines()
    assert extra[0] == "   | at t.cfg:10:20: timeout client 30x"
    caret = extra[1].index("^") - len("   | at t.cfg:10:20: ")
    assert "timeout client 30x"[caret:].startswith("30x")


def test_keywords_outside_sections_and_unknown_sections() -> None:
    assert errors("mode http\n") == ["parsing [t.cfg:1]: unknown keyword 'mode' out of section."]
    assert errors(HDR + "backend b\nfoosection x\n") == [
        "parsing [t.cfg:10] : unknown keyword 'foosection' in 'backend' section"]


def test_load_config_directory(tmp_path: Path) -> None:
    (tmp_path / "20-b.cfg").write_text("backend b\n server s 1.1.1.1:1\n")
    (tmp_path / "10-a.cfg").write_text(HDR + "frontend f\n bind :1\n default_backend b\n")
    (tmp_path / "notes.txt").write_text("garbage\n")
    cfg, d = load_config([str(tmp_path)])
    assert not d.has_errors
    assert [p.name for p in cfg.proxies] == ["f", "b"]
    assert [Path(f).name for f in cfg.files] == ["10-a.cfg", "20-b.cfg"]


def test_load_config_bad_paths(tmp_path: Path) -> None:
    _, d = load_config([str(tmp_path / "missing.cfg")])
    assert d.has_errors and "Cannot open configuration file" in d.errors[0].haproxy
    _, d = load_config([str(tmp_path)])
    assert d.has_errors and "contains no '*.cfg' file" in d.errors[0].haproxy


def test_env_expansion_in_config() -> None:
    cfg, d = parse_text('global\n node "${NODE-x}"\n', "t", env={"NODE": "n1"})
    assert cfg.global_.node == "n1"


def test_config_layer_is_pure() -> None:
    import ast

    forbidden = {"asyncio", "socket", "selectors", "uvloop", "textual", "haproxy_py.engine"}
    for path in (ROOT / "haproxy_py" / "config").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                assert not any(n == f or n.startswith(f + ".") for f in forbidden), (path.name, n)
