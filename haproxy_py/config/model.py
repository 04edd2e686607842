"""The typed configuration model: what a haproxy.cfg means, once parsed and checked.

These dataclasses are the contract between the config layer and everything else (runtime, engine,
stats, log). The builder (``config/build/``) creates them; after ``build()`` returns they are treated as
immutable (the classes are frozen; the builder uses ``dataclasses.replace``).

Conventions:
* every time is an ``int`` of milliseconds (``None`` = not set);
* every size is an ``int`` of bytes;
* names are kept as written in the file;
* ``loc`` fields point at the line that declared the object, for messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


NOWHERE = Location("<builtin>", 0, 0)


# --------------------------------------------------------------------------- addresses


@dataclass(frozen=True, slots=True)
class Address:
    """One listening or connecting address.

    kind: ``ipv4`` | ``ipv6`` | ``unix`` | ``abns`` | ``fd`` | ``stdout``/``stderr`` (log only).
    For ``ipv4``/``ipv6`` ``host`` is the literal or name ("" or "*" = any) and ports are a
    closed range (``port_lo == port_hi`` for one port; ``0`` = not given). For ``unix`` and
    ``abns`` ``path`` is set; for ``fd`` ``fd`` is set.
    """

    kind: str
    host: str = ""
    port_lo: int = 0
    port_hi: int = 0
    path: str = ""
    fd: int = -1
    #: original text, for messages and ``show`` output
    text: str = ""

    @property
    def ports(self) -> range:
        return range(self.port_lo, self.port_hi + 1)


# --------------------------------------------------------------------------- global


@dataclass(frozen=True, slots=True)
class LogTarget:
    """``log ADDR[:PORT] [len N] [format F] [sample R:N] FACILITY [LEVEL [MINLEVEL]]``."""

    address: Address
    facility: str  # kern, user, ..., local0..local7
    level: str = "debug"  # max level sent (HAProxy's "level")
    minlevel: str = "emerg"
    length: int = 1024
    format: str = "rfc3164"  # rfc3164 | rfc5424 | short | raw | timed | iso | priority
    loc: Location = NOWHERE
    #: ``sample RANGES:SIZE``: the (low, high) 1-based line numbers sent out of every SIZE lines,
    #: sorted; empty: every line
    sample: tuple[tuple[int, int], ...] = ()
    sample_size: int = 0


@dataclass(frozen=True, slots=True)
class StatsSocket:
    """``stats socket PATH|ADDR:PORT [mode M] [user U] [group G] [level L] [expose-fd listeners]``."""

    address: Address
    mode: int | None = None  # file mode for unix sockets (octal in the file)
    user: str | None = None
    group: str | None = None
    uid: int | None = None
    gid: int | None = None
    level: str = "operator"  # user | operator | admin
    expose_fd_listeners: bool = False
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class Global:
    logs: tuple[LogTarget, ...] = ()
    #: the CA file of the internal HTTP client (``httpclient.ssl.ca-file``; None with
    #: ``httpclient.ssl.verify none``): 2.6 loads it at start, 'show ssl ca-file' lists it
    httpclient_ca: str | None = "@system-ca"
    #: the process-scope variables (samples/txn.py ProcVars): global set-var's values, the proc
    #: names the configuration mentions, the tune.vars.*-max-size limits; None: none of them
    proc_vars: Any = field(default=None, compare=False)
    #: ``external-check`` (external checks may run) and ``insecure-fork-wanted``
    external_check: bool = False
    insecure_fork_wanted: bool = False
    #: 'quiet', 'zero-warning', 'nosplice' (as -q, -dW, -dS)
    quiet: bool = False
    zero_warning: bool = False
    nosplice: bool = False
    #: the environment after setenv/presetenv/unsetenv/resetenv (None: none of them)
    environ: tuple[tuple[str, str], ...] | None = None
    #: ``pp2-never-send-local``: health checks send a v2 PROXY header with their own addresses
    #: instead of a LOCAL one
    pp2_never_send_local: bool = False
    #: profiling.tasks: on, off or auto (engine/taskprof.py)
    profiling_tasks: str = "auto"
    log_tag: str | None = None
    log_send_hostname: str | None = None  # "" = use the system host name
    chroot: str | None = None
    pidfile: str | None = None
    maxconn: int | None = None
    #: ``ulimit-n``, ``fd-hard-limit`` (None: unset) and ``[no] strict-limits`` (runtime/limits.py)
    ulimit_n: int | None = None
    fd_hard_limit: int | None = None
    strict_limits: bool = True
    #: ``maxconnrate`` / ``maxsessrate``: accepted connections / sessions per second (None: no limit)
    maxconnrate: int | None = None
    maxsessrate: int | None = None
    #: ``maxsslconn``: concurrent TLS connections of the TLS listeners (None: no limit)
    maxsslconn: int | None = None
    #: ``maxsslrate``: connections per second the TLS listeners accept (None: no limit)
    maxsslrate: int | None = None
    #: ``maxcomprate``: kB/s of compressor input above which a response starts uncompressed
    maxcomprate: int | None = None
    #: ``tune.comp.maxlevel``: the zlib level compression starts at and goes back up to (1..9)
    tune_comp_maxlevel: int = 1
    #: ``maxcompcpuusage``: above this CPU usage (100 - idle %) compression is lowered and not started
    maxcompcpuusage: int = 100
    #: ``h1-case-adjust`` lines then ``h1-case-adjust-file``'s: (from, to) as written (http/h1case.py)
    h1_case: tuple[tuple[bytes, bytes], ...] = ()
    #: ``tune.rcvbuf.client|server``, ``tune.sndbuf.client|server`` (None: the kernel's)
    tune_rcvbuf_client: int | None = None
    tune_rcvbuf_server: int | None = None
    tune_sndbuf_client: int | None = None
    tune_sndbuf_server: int | None = None
    #: ``tune.http.logurilen``: the characters of the request line the logs keep (None: 1023)
    tune_http_logurilen: int | None = None
    user: str | None = None
    group: str | None = None
    uid: int | None = None
    gid: int | None = None
    daemon: bool = False
    master_worker: bool = False
    stats_sockets: tuple[StatsSocket, ...] = ()
    stats_timeout: int = 10_000
    stats_maxconn: int = 10
    nbthread: int | None = None
    nbproc: int | None = None  # 1.5-era; accepted with a notice, means N workers
    node: str | None = None
    description: str | None = None
    spread_checks: int = 0  # percent
    tune_bufsize: int = 16384
    tune_maxrewrite: int = 1024
    #: tune.http.maxhdr: a head with this many header lines or more is refused (400, 502)
    tune_http_maxhdr: int = 101
    hard_stop_after: int | None = None
    #: ``grace``: ms between SIGUSR1 and the soft stop, 'stopping' true and listeners still accepting
    grace: int | None = None
    #: ``mworker-max-reloads``: a former worker that survived more reloads is terminated
    mworker_max_reloads: int | None = None
    server_state_file: str | None = None
    server_state_base: str | None = None
    #: this process's name in its peers sections (``localpeer``, ``-L``; None: the host name)
    localpeer: str | None = None
    #: keywords accepted but without effect here: name -> args (for -vv / diagnostics)
    ignored: tuple[tuple[str, tuple[str, ...]], ...] = ()
    loc: Location = NOWHERE


# --------------------------------------------------------------------------- ACLs


@dataclass(frozen=True, slots=True)
class Acl:
    """One ``acl NAME FETCH[(args)][,conv...] [flags] [--] PATTERN...`` line (or an anonymous one).

    ``match`` is the explicit ``-m`` method or the one implied by the fetch's derived name
    (``path_beg`` -> fetch ``path`` with match ``beg``); ``None`` means the fetch's default.
    """

    name: str  # "" for an anonymous ``{ ... }`` ACL
    fetch: str  # canonical fetch name, e.g. "path", "hdr", "src", "method"
    fetch_args: tuple[str, ...] = ()
    converters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    match: str | None = None  # found bool int ip bin len str sub reg beg end dir dom
    ignore_case: bool = False
    patterns: tuple[str, ...] = ()
    #: integer comparison operator for int matches: eq ge gt le lt (None = eq/ranges)
    operator: str | None = None
    pattern_files: tuple[str, ...] = ()
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class Term:
    """A reference to a named ACL (``acl``) or an anonymous one (``anonymous``), maybe negated."""

    negate: bool = False
    acl: str | None = None
    anonymous: Acl | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """``if|unless`` followed by terms: an OR of ANDs (``||`` / ``or`` binds weakest)."""

    unless: bool = False
    any_of: tuple[tuple[Term, ...], ...] = ()
    loc: Location = NOWHERE


# --------------------------------------------------------------------------- proxies


@dataclass(frozen=True, slots=True)
class Bind:
    addresses: tuple[Address, ...]
    #: bind parameters: name -> value (True for flags), e.g. {"name": "web", "backlog": 1024,
    #: "maxconn": 100, "accept-proxy": True, "v4v6": True, "transparent": True, "mode": 0o600}
    params: tuple[tuple[str, object], ...] = ()
    loc: Location = NOWHERE
    #: the TLS settings of a 'bind ... ssl' line (config/tls.py's TlsBind), None for plain text
    tls: Any = None

    def param(self, name: str, default: object = None) -> object:
        for k, v in self.params:
            if k == name:
                return v
        return default


@dataclass(frozen=True, slots=True)
class ServerConf:
    """A ``server`` line (also used for ``default-server`` with name "")."""

    name: str
    address: Address | None = None  # None for default-server
    #: port given as "+N"/"-N" (offset from client port) or not given: see HAProxy; 0 = same as client
    port_offset: bool = False
    weight: int = 1
    backup: bool = False
    check: bool = False
    inter: int = 2000
    fastinter: int | None = None  # None = inter
    downinter: int | None = None  # None = inter
    rise: int = 2
    fall: int = 3
    check_port: int | None = None
    check_addr: str | None = None
    check_send_proxy: bool = False
    #: ``check-proto``: the multiplexer of the checks ("h1" for HTTP checks, "none" for TCP ones:
    #: what haproxy-py speaks; 2.6 refuses the other one at the end of parsing)
    check_proto: str | None = None
    #: ``socks4 ADDR:PORT``: connections to the server go through this SOCKS4 proxy; the checks
    #: too with ``check-via-socks4`` (or a ``tcp-check connect via-socks4`` rule)
    socks4: tuple[str, int] | None = None
    check_via_socks4: bool = False
    cookie: str | None = None
    maxconn: int = 0  # 0 = unlimited
    maxqueue: int = 0  # 0 = unlimited
    #: ``pool-max-conn``: at most this many idle connections kept for reuse (-1: no limit,
    #: 0: none; engine/pool.py)
    pool_max_conn: int = -1
    #: ``pool-low-conn``: idle connections kept beyond the estimated need (engine/pool.py; 2.6 also
    #: uses it to decide when a thread takes another thread's connections: one thread here)
    pool_low_conn: int = 0
    #: ``pool-purge-delay`` (ms): how often the idle connections above the need are halved (0: no idle connection kept)
    pool_purge_delay: int = 5000
    #: ``tfo``: read for 2.6's retry-on warning (config/build/post.py); 2.6.12 itself never connects
    #: with TFO (it looks for data to send in the response channel), nor does haproxy-py
    tfo: bool = False
    minconn: int = 0  # 0 = maxconn
    slowstart: int = 0
    observe: str | None = None  # layer4 | layer7
    error_limit: int = 10
    on_error: str = "fail-check"  # fastinter | fail-check | sudden-death | mark-down
    on_marked_down: str | None = None  # shutdown-sessions
    on_marked_up: str | None = None  # shutdown-backup-sessions
    disabled: bool = False
    id: int | None = None  # explicit id; the builder assigns puid in ServerConf.puid
    puid: int = 0  # the effective server id (1..N in declaration order unless id given)
    #: send-proxy / send-proxy-v2: a PROXY protocol header first on every connection (v2 wins;
    #: 2.6 also sends one, v1 unless send-proxy-v2, when only proxy-v2-options is set)
    send_proxy: bool = False
    send_proxy_v2: bool = False
    #: proxy-v2-options (and send-proxy-v2-ssl[-cn]): the v2 TLVs to send, sorted names
    #: ("authority", "cert-cn", "crc32c", "ssl", ...)
    pp_opts: tuple[str, ...] = ()
    track: str | None = None  # "BACKEND/SERVER" or "SERVER"
    agent_check: bool = False
    agent_port: int | None = None
    agent_inter: int | None = None
    #: ``agent-addr``: where the agent listens (None: the server's address)
    agent_addr: str | None = None
    #: ``agent-send``: the string sent to the agent once connected (None: nothing)
    agent_send: str | None = None
    redir: str | None = None
    #: no address at start (``init-addr none``): in resolution maintenance until resolvers find one
    no_addr: bool = False
    #: parameters accepted and kept but without effect here
    extra: tuple[tuple[str, object], ...] = ()
    #: TLS to this server and/or its checks (config/tls.py TlsServer), None without
    tls: Any = None
    #: 'proto NAME': the protocol spoken to the server ("fcgi"), None for HTTP/1 (or TCP)
    proto: str | None = None
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: int | None = None
    client: int | None = None
    server: int | None = None
    queue: int | None = None
    http_request: int | None = None
    http_keep_alive: int | None = None
    check: int | None = None
    tunnel: int | None = None
    tarpit: int | None = None
    client_fin: int | None = None
    server_fin: int | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """``balance ALGO [args]``.

    algorithm: roundrobin | static-rr | leastconn | first | source | uri | url_param | hdr |
    random | rdp-cookie | hash
    """

    algorithm: str = "roundrobin"
    # uri
    uri_whole: bool = False
    uri_len: int = 0
    uri_depth: int = 0
    uri_path_only: bool = False
    # url_param
    param: str | None = None
    check_post: bool = False
    check_post_max: int = 0
    # hdr(NAME) / rdp-cookie(NAME)
    header: str | None = None
    use_domain_only: bool = False
    rdp_cookie: str = "mstshash"
    # random(N)
    draws: int = 2
    # hash EXPR
    expression: str | None = None


@dataclass(frozen=True, slots=True)
class HashType:
    method: str = "map-based"  # map-based | consistent
    function: str = "sdbm"  # sdbm | djb2 | wt6 | crc32 | none
    avalanche: bool = False


@dataclass(frozen=True, slots=True)
class CookieConf:
    name: str
    mode: str = "rewrite"  # insert | rewrite | prefix  (HAProxy's default with no mode is rewrite)
    indirect: bool = False
    nocache: bool = False
    postonly: bool = False
    preserve: bool = False
    httponly: bool = False
    secure: bool = False
    domains: tuple[str, ...] = ()
    maxidle: int = 0  # seconds
    maxlife: int = 0  # seconds
    dynamic: bool = False
    attrs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ForwardFor:
    except_net: str | None = None  # "127.0.0.0/8"
    header: str = "X-Forwarded-For"
    if_none: bool = False


@dataclass(frozen=True, slots=True)
class OriginalTo:
    """``option originalto [except NET] [header NAME]``."""

    except_net: str | None = None
    header: str = "X-Original-To"


@dataclass(frozen=True, slots=True)
class HttpCheck:
    """``option httpchk`` + ``http-check send``/``expect`` (the health-check request)."""

    method: str = "OPTIONS"
    uri: str = "/"
    version: str = "HTTP/1.0"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    #: ("status"|"rstatus"|"string"|"rstring", pattern, negate) or None = 2xx/3xx
    expect: tuple[str, str, bool] | None = None
    disable_on_404: bool = False
    send_state: bool = False
    #: ``http-check connect``: where and how (a TcpCheckRule: port, addr, send-proxy, linger)
    connect: Any = None
    #: ``http-check set-var/unset-var`` actions (TcpCheckRule "action"): before the request is
    #: built, before the response is judged, after it
    pre: tuple[Any, ...] = ()
    mid: tuple[Any, ...] = ()
    post: tuple[Any, ...] = ()
    #: ``uri-lf``/``body-lf`` and header values with ``%``: log-format strings ``fn(txn) -> bytes``
    uri_fmt: Any = None
    body_fmt: Any = None
    header_fmts: tuple[tuple[int, Any], ...] = ()
    #: the expect rule's options: comment, ok_status, error_status, tout_status, on_success,
    #: on_error (a text or a log-format), status_code; fmt for ``expect string-lf``
    expect_opts: tuple[tuple[str, Any], ...] = ()
    #: the expect rules before the last one, in order: ((kind, pattern, negate), options) each,
    #: all judged on the same response (the first that fails decides)
    expects_before: tuple[tuple[tuple[str, str, bool], tuple[tuple[str, Any], ...]], ...] = ()

    @property
    def lf(self) -> bool:
        """Each check needs a samples Txn (variables, log-format strings)."""
        return bool(self.pre or self.mid or self.post or self.uri_fmt is not None or self.body_fmt is not None
                    or self.header_fmts
                    or any(not isinstance(v, (str, int)) for _, v in self.expect_opts)
                    or any(not isinstance(v, (str, int)) for _, o in self.expects_before for _, v in o)
                    or (self.connect is not None and self.connect.port_expr is not None))


@dataclass(frozen=True, slots=True)
class EmailAlert:
    """A proxy's email alerts: the ``mailers`` section, sender, recipient, the least important
    level mailed (syslog number, alert by default) and the HELO name (None: the host's name)."""

    mailers: str
    sender: str
    to: str
    level: int = 1
    myhostname: str | None = None


@dataclass(frozen=True, slots=True)
class ExternalCheck:
    """``option external-check``: the program a check runs and the PATH it gets (None: no PATH)."""

    command: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class TcpCheckRule:
    """One ``tcp-check`` rule (``option tcp-check``, or a protocol check's built-in sequence):
    ``connect``, ``send`` or ``expect`` (checks/tcpcheck.py runs them)."""

    action: str
    #: its place among the proxy's tcp-check lines (step index + 1); -1: the implicit first connect
    index: int = 0
    comment: str | None = None
    # connect
    port: int | None = None
    addr: str | None = None
    #: ``send-proxy``: a PROXY protocol v1 line (the check connection's own addresses) first
    send_proxy: bool = False
    #: ``port EXPR``: the port from a sample expression at each check ``fn(txn) -> int | None``
    port_expr: Any = None
    #: ``ssl``: over TLS with the server's TLS settings, ``sni``/``alpn`` its own; ``default``: the
    #: server's check settings (check-ssl, check-sni, check-alpn), as the implicit connect (index -1)
    ssl: bool = False
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    default: bool = False
    #: ``linger``: close with a FIN instead of 2.6's default reset
    linger: bool = False
    #: ``via-socks4``: through the server's ``socks4`` proxy (when it has one)
    via_socks4: bool = False
    #: expect ``on-success``/``on-error`` log-format strings and a ``status-code`` sample expression
    #: other than int(N): ``fn(txn)``, evaluated with the check's Txn
    on_success_lf: Any = None
    on_error_lf: Any = None
    status_expr: Any = None
    # send
    data: bytes = b""
    # expect: string | rstring | binary | rbinary; binary patterns decoded
    kind: str = ""
    pattern: bytes = b""
    neg: bool = False
    min_recv: int = -1
    ok_status: str | None = None
    error_status: str | None = None
    tout_status: str | None = None
    on_success: str | None = None
    on_error: str | None = None
    #: texts taken from the response by the protocol checks (checks/tcpcheck.py ``payload_text``):
    #: "line" (its first line), "line4" (the first line after the 3-digit code), "cstr6" (from
    #: byte 6 to a NUL); they replace on-error / on-success
    on_error_fmt: str | None = None
    on_success_fmt: str | None = None
    status_code: int | None = None
    #: the check code is the response's first 3 bytes as a number (smtpchk)
    status_code_payload: bool = False
    #: send data built at run time: "ssl3-hello" (the client time in it)
    dynamic: str | None = None
    #: a log-format string (send-lf, send-binary-lf, expect string-lf/binary-lf, set-var-fmt):
    #: ``fn(txn) -> bytes``, the data or the pattern of each check (hex digits for the binary ones)
    fmt: Any = None
    #: action rules (``action``: set-var / set-var-fmt / unset-var): the variable and the
    #: compiled action ``fn(txn) -> None``
    var: str | None = None
    expr: Any = None


@dataclass(frozen=True, slots=True)
class StatsConf:
    """``stats ...`` inside a proxy (the HTTP statistics page)."""

    enabled: bool = False
    uri: str = "/haproxy?stats"
    realm: str | None = None
    auth: tuple[tuple[str, str], ...] = ()
    refresh: int | None = None  # ms
    admin: tuple[Condition, ...] = ()
    hide_version: bool = False
    show_legends: bool = False
    show_node: str | None = None
    show_desc: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Capture:
    kind: str  # "request header" | "response header" | "cookie"
    name: str
    length: int


@dataclass(frozen=True, slots=True)
class UseBackend:
    backend: str
    cond: Condition | None = None
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class UseServer:
    """``use-server NAME if|unless COND``: NAME may be a log-format string (``%[...]``)."""

    server: str
    cond: Condition | None = None
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class HttpRule:
    """``http-request ACTION ...`` / ``http-response ...`` / ``tcp-request ...`` (kept generic).

    action examples: "deny" (args: ("deny_status", "403")), "use-service"
    (args: ("prometheus-exporter",)), "add-header", "set-header", "del-header", "redirect",
    "return", "allow", "auth".
    """

    kind: str  # http-request | http-response | http-after-response | tcp-request | tcp-response
    action: str  # tcp rules: "<connection|session|content> <action>"
    args: tuple[str, ...] = ()
    cond: Condition | None = None
    loc: Location = NOWHERE
    #: the compiled action (haproxy_py.actions: ``run(txn) -> Verdict``); None for settings
    #: kept as rules (tcp-request inspect-delay)
    impl: object = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CompConf:
    """``compression algo|type|offload`` (http/compression.py runs it)."""

    #: configured algorithms in 2.6's lookup order (the last written first); () when none
    algos: tuple[str, ...] = ()
    #: ``compression type`` values, lower-cased for the prefix match
    types: tuple[bytes, ...] = ()
    offload: bool = False


@dataclass(frozen=True, slots=True)
class Proxy:
    """A ``frontend``, ``backend``, ``listen`` or ``defaults`` section after inheritance."""

    name: str
    kind: str  # frontend | backend | listen | defaults
    loc: Location = NOWHERE
    uuid: int = 0  # HAProxy's iid (numeric id in stats)
    explicit_id: int | None = None
    mode: str = "tcp"  # tcp | http | health
    disabled: bool = False
    description: str | None = None
    # frontend side
    binds: tuple[Bind, ...] = ()
    maxconn: int | None = None  # None = global maxconn
    #: ``backlog N`` (binds without their own backlog; else maxconn)
    backlog: int | None = None
    acls: tuple[Acl, ...] = ()  # all named ACLs declared in this proxy, in order
    use_backends: tuple[UseBackend, ...] = ()
    #: ``use-server`` rules, in order
    use_servers: tuple[UseServer, ...] = ()
    default_backend: str | None = None
    forwardfor: ForwardFor | None = None
    captures: tuple[Capture, ...] = ()
    http_rules: tuple[HttpRule, ...] = ()
    #: the HTTP rules of the named defaults section the proxy comes from (run before its own), and
    #: the ACLs they are written with
    defaults_rules: tuple[HttpRule, ...] = ()
    defaults_acls: tuple[Acl, ...] = ()
    # logging
    logs: tuple[LogTarget, ...] = ()  # after "log global" expansion
    log_global: bool = False
    no_log: bool = False
    log_format: str | None = None  # explicit log-format, or None
    log_style: str = "default"  # default | tcplog | httplog | httplog-clf | httplog-json | tcplog-json | httpslog
    log_tag: str | None = None
    # backend side
    servers: tuple[ServerConf, ...] = ()
    default_server: ServerConf = field(default_factory=lambda: ServerConf(name=""))
    balance: Balance = field(default_factory=Balance)
    hash_type: HashType = field(default_factory=HashType)
    hash_balance_factor: int = 0
    cookie: CookieConf | None = None
    #: ``dynamic-cookie-key``: the secret the servers' dynamic cookies are computed from
    dyncookie_key: str | None = None
    #: ``max-keep-alive-queue N`` stored as 2.6 does: N + 1 in an unsigned int (0: no limit)
    max_ka_queue: int = 0
    #: ``persist rdp-cookie(NAME)``: the RDP cookie naming the server (None: not set)
    rdp_persist: str | None = None
    retries: int = 3
    redispatch: int = 0  # 0 = off, -1 = on the last retry, N>0 = every N-th retry
    #: ``retry-on``: the events a request is retried on (config/build/retry.py), 2.6's default
    #: ``conn-failure``; status codes are their numbers as text ("503")
    retry_on: frozenset[str] = frozenset(("conn-failure",))
    fullconn: int | None = None
    http_send_name_header: str | None = None
    http_check: HttpCheck | None = None  # set by option httpchk
    #: ``option tcp-check`` (or a protocol check): the rules, the implicit connect first
    tcp_check: tuple[TcpCheckRule, ...] | None = None
    #: a protocol check (redis-check ...): errors are reported without the step
    tcp_check_proto: bool = False
    #: ``option external-check`` with its ``external-check command|path`` (checks/extcheck.py)
    external_check: ExternalCheck | None = None
    #: ``email-alert mailers|from|to|level|myhostname`` when complete (checks/mailers.py)
    email_alert: EmailAlert | None = None
    dispatch: Address | None = None
    #: ``http-reuse``: never | safe (2.6's default) | aggressive | always
    http_reuse: str = "safe"
    #: use-fcgi-app: the fcgi-app section its 'proto fcgi' servers use (None: none)
    fcgi_app: str | None = None
    # both
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: boolean options: name -> enabled, e.g. {"dontlognull": True, "http-server-close": True,
    #: "httpclose": True, "http-keep-alive": True, "allbackups": True, "persist": True,
    #: "abortonclose": True, "log-health-checks": True, "log-separate-errors": True,
    #: "splice-auto": True, "tcp-check": True, "checkcache": True}
    options: tuple[tuple[str, bool], ...] = ()
    #: option http-restrict-req-hdr-names: preserve | delete | reject
    restrict_hdr_names: str = "preserve"
    stats: StatsConf = field(default_factory=StatsConf)
    #: (status, errorfile path, or the page: errorloc and http-error, or None: the built-in page)
    errorfiles: tuple[tuple[int, str | bytes | None], ...] = ()
    #: HTTP features (config/build/http_features.py): ``monitor-uri``, the ``monitor fail`` conditions,
    #: ``unique-id-format`` / ``unique-id-header``, ``option originalto``
    monitor_uri: str | None = None
    monitor_fail: tuple[Condition, ...] = ()
    unique_id_format: str | None = None
    unique_id_header: str | None = None
    originalto: OriginalTo | None = None
    #: rate-limit sessions: new sessions accepted per second (0/None: no limit)
    rate_limit_sessions: int | None = None
    #: ``compression``: its CompConf, None without the keyword
    compression: CompConf | None = None
    #: TCP keep-alive (config/build/sockopts.py): (cnt, idle s, intvl s) of the client side (a
    #: frontend's) and the server side (a backend's) when on, 0 for the kernel's value; None: off
    cli_tcpka: tuple[int, int, int] | None = None
    srv_tcpka: tuple[int, int, int] | None = None
    #: 'option nolinger': this proxy's side of a connection (a frontend's client side, a backend's
    #: server side) is reset when closed before its peer's end was read
    nolinger: bool = False
    #: keywords accepted without effect here: (keyword, args)
    ignored: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: ``stick-table``: a haproxy_py.stick.table.TableConf, None without one
    stick_table: Any = None
    #: ``stick on|match|store-request|store-response``: (Condition or None, haproxy_py.stick.persist.StickRule)
    stick_rules: tuple[Any, ...] = ()
    #: ``force-persist`` / ``ignore-persist``: ("force" | "ignore", Condition), in order
    persist_rules: tuple[Any, ...] = ()

    @property
    def has_fe(self) -> bool:
        return self.kind in ("frontend", "listen")

    @property
    def has_be(self) -> bool:
        return self.kind in ("backend", "listen")

    @property
    def type_str(self) -> str:
        """How 2.6 names this kind of proxy in its messages: a listen section is a 'proxy'."""
        return "proxy" if self.kind == "listen" else self.kind

    def option(self, name: str, default: bool = False) -> bool:
        for k, v in self.options:
            if k == name:
                return v
        return default


@dataclass(frozen=True, slots=True)
class Section:
    """A section kept but not used by the proxy (userlist, peers, resolvers, mailers, program, ...)."""

    kind: str
    name: str
    lines: tuple[tuple[str, ...], ...] = ()
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class FcgiAppConf:
    """An ``fcgi-app`` section (engine/fcgi.py)."""

    name: str
    docroot: str = ""
    index: str = ""
    #: path-info regex (its first group the script name, its second the path info), or None
    path_info: str | None = None
    #: set-param NAME FORMAT [if|unless COND], in order
    set_params: tuple[tuple[str, str, Condition | None], ...] = ()
    #: pass-header NAME [if|unless COND]: headers sent that 2.6 leaves out otherwise (Authorization...)
    pass_headers: tuple[tuple[str, Condition | None], ...] = ()
    #: the section's own 'acl' lines (what its conditions name, beside the predefined ACLs)
    acls: tuple[Acl, ...] = ()
    #: option keep-conn (2.6's default): the application keeps the connection for the next request
    keep_conn: bool = True
    #: option get-values: each new connection first asks the application for its FCGI_MAX_REQS
    #: and FCGI_MPXS_CONNS (a GET_VALUES record) and waits for the answer
    get_values: bool = False
    #: log-stderr global: the application's error output (STDERR records) as log lines
    log_stderr: bool = False
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class CacheConf:
    """A ``cache`` section (http/cache.py stores and serves from it)."""

    name: str
    #: total-max-size, in 1024-byte blocks (2.6's unit)
    maxblocks: int = 0
    #: max-object-size in bytes (default: a 256th of the total size)
    maxobjsz: int = 0
    #: max-age in seconds
    maxage: int = 60
    process_vary: bool = False
    max_secondary_entries: int = 10
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class Program:
    """A ``program`` section: a command the master starts next to its workers (master-worker mode)."""

    name: str
    command: tuple[str, ...] = ()
    user: str | None = None
    group: str | None = None
    #: start a new instance at each reload (2.6's default); the old one is stopped either way
    start_on_reload: bool = True
    loc: Location = NOWHERE


@dataclass(frozen=True)
class LogForward:
    """A ``log-forward`` section (the relay: log/forward.py, engine/logforward.py)."""

    name: str
    binds: tuple[Address, ...] = ()  # TCP
    dgram_binds: tuple[Address, ...] = ()  # UDP
    #: the targets, each with its explicit ``format`` or None (chosen per message)
    logs: tuple[tuple[LogTarget, str | None], ...] = ()
    maxconn: int = 10
    backlog: int = 0
    timeout_client: int = 0  # ms, 0: none
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class Config:
    global_: Global = field(default_factory=Global)
    #: frontends, backends and listens in declaration order (not defaults)
    proxies: tuple[Proxy, ...] = ()
    defaults: tuple[Proxy, ...] = ()
    other_sections: tuple[Section, ...] = ()
    log_forwards: tuple[LogForward, ...] = ()
    #: userlists: name -> ((user, password-or-hash, is_insecure), ...)
    userlists: tuple[tuple[str, tuple[tuple[str, str, bool], ...]], ...] = ()
    #: userlist groups: userlist -> ((group, (user, ...)), ...), members from both 'group NAME
    #: users ...' and 'user NAME groups ...', groups in declaration order
    userlist_groups: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    files: tuple[str, ...] = ()
    programs: tuple[Program, ...] = ()
    #: the cache sections, in declaration order
    caches: tuple[CacheConf, ...] = ()
    #: the fcgi-app sections, in declaration order
    fcgi_apps: tuple[FcgiAppConf, ...] = ()
    #: the key rings of the bind lines' ``tls-ticket-keys`` files, in the order of their ids
    #: (tls/ticketkeys.py TicketKeys; ``set ssl tls-key`` changes them in place)
    tls_keys: tuple[Any, ...] = ()
    #: issuers-chain-path's files (tls/certs.py load_issuers), to complete the chain of a
    #: certificate set at run time as the ones loaded at start
    tls_issuers: tuple[Any, ...] = ()

    def proxy(self, name: str, *, backend: bool | None = None) -> Proxy | None:
        """Find a proxy by name; ``backend=True`` looks only at BE-capable ones."""
        for p in self.proxies:
            if p.name != name:
                continue
            if backend is None or (backend and p.has_be) or (backend is False and p.has_fe):
                return p
        return None

    @property
    def frontends(self) -> tuple[Proxy, ...]:
        return tuple(p for p in self.proxies if p.has_fe)

    @property
    def backends(self) -> tuple[Proxy, ...]:
        return tuple(p for p in self.proxies if p.has_be)
