"""The keyword tables: which keywords exist in which section, their capability, and the fixed
message texts of HAProxy 2.6 (removed 1.x keywords, option lists, server and bind parameters).

Handlers live in ``config/build/`` (one module per feature); this module is data only (pure).
"""

from __future__ import annotations

FE = 1
BE = 2
FB = FE | BE

SECTIONS = ("global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "resolvers",
            "mailers", "program", "http-errors", "ring", "cache", "log-forward", "fcgi-app")
#: the formats of a ring section (2.6: "unknown format" otherwise)
RING_FORMATS = ("iso", "priority", "raw", "rfc3164", "rfc5424", "short", "timed")
PROXY_SECTIONS = ("defaults", "frontend", "backend", "listen")
#: sections we keep (as model.Section) without acting on them
KEPT_SECTIONS = ("userlist", "peers", "resolvers", "mailers", "program", "http-errors", "ring", "cache",
                 "log-forward", "fcgi-app")

GLOBAL_KEYWORDS = (
    "log", "log-tag", "log-send-hostname", "chroot", "pidfile", "maxconn", "user", "group", "uid", "gid",
    "daemon", "master-worker", "stats", "nbthread", "nbproc", "node", "description", "spread-checks",
    "hard-stop-after", "server-state-file", "server-state-base", "ulimit-n", "quiet",
    "noepoll", "nopoll", "nokqueue", "noevports", "nosplice", "nogetaddrinfo", "noreuseport",
    "maxsessrate", "maxconnrate", "maxsslrate", "maxpipes", "maxcomprate", "maxcompcpuusage",
    "maxzlibmem", "maxsslconn", "pp2-never-send-local", "setenv", "presetenv", "resetenv", "unsetenv",
    "cpu-map", "localpeer", "expose-experimental-directives", "insecure-fork-wanted",
    "insecure-setuid-wanted", "h1-case-adjust", "h1-case-adjust-file", "grace", "zero-warning",
    "busy-polling", "set-dumpable", "strict-limits", "unix-bind", "external-check", "ca-base",
    "crt-base", "lua-load", "lua-load-per-thread", "lua-prepend-path",
    "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites", "ssl-default-bind-curves",
    "ssl-default-bind-options", "ssl-default-server-ciphers", "ssl-default-server-ciphersuites",
    "ssl-default-server-options", "ssl-dh-param-file", "ssl-server-verify", "ssl-mode-async",
    "ssl-load-extra-files", "ssl-load-extra-del-ext", "ssl-skip-self-issued-ca", "ssl-propquery",
    "ssl-provider", "ssl-provider-path", "issuers-chain-path",
    "thread-groups", "thread-group", "numa-cpu-mapping", "profiling.tasks", "fd-hard-limit",
    "mworker-max-reloads", "default-path", "httpclient.resolvers.id", "httpclient.resolvers.prefer",
    "httpclient.ssl.ca-file", "httpclient.ssl.verify", "cluster-secret", "close-spread-time",
    "no-memory-trimming", "set-var", "set-var-fmt", "h1-accept-payload-with-any-method",
)

#: the tune.* keywords of HAProxy 2.6 (Debian's build: no QUIC, no zlib); others are unknown
TUNE_KEYWORDS = (
    "tune.buffers.limit", "tune.buffers.reserve", "tune.bufsize", "tune.comp.maxlevel", "tune.fail-alloc",
    "tune.fd.edge-triggered", "tune.h2.header-table-size", "tune.h2.initial-window-size",
    "tune.h2.max-concurrent-streams", "tune.h2.max-frame-size", "tune.http.cookielen",
    "tune.http.logurilen", "tune.http.maxhdr", "tune.idle-pool.shared", "tune.idletimer",
    "tune.listener.multi-queue", "tune.lua.forced-yield", "tune.lua.maxmem", "tune.lua.session-timeout",
    "tune.lua.service-timeout", "tune.lua.task-timeout", "tune.maxaccept", "tune.maxpollevents",
    "tune.maxrewrite", "tune.pattern.cache-size", "tune.peers.max-updates-at-once", "tune.pipesize",
    "tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio", "tune.rcvbuf.client", "tune.rcvbuf.server",
    "tune.recv_enough", "tune.runqueue-depth", "tune.sched.low-latency", "tune.sndbuf.client",
    "tune.sndbuf.server", "tune.ssl.cachesize", "tune.ssl.capture-buffer-size",
    "tune.ssl.capture-cipherlist-size", "tune.ssl.default-dh-param", "tune.ssl.force-private-cache",
    "tune.ssl.hard-maxrecord", "tune.ssl.keylog", "tune.ssl.lifetime", "tune.ssl.maxrecord",
    "tune.ssl.ssl-ctx-cache-size", "tune.vars.check-max-size", "tune.vars.global-max-size",
    "tune.vars.proc-max-size", "tune.vars.reqres-max-size", "tune.vars.sess-max-size",
    "tune.vars.txn-max-size",
)

#: proxy keywords: name -> capability needed (FE/BE/FB); "defaults" rules are handled in build
PROXY_KEYWORDS: dict[str, int] = {
    "mode": FB, "bind": FE, "server": BE, "default-server": BE, "server-template": BE, "balance": BE,
    "hash-type": BE, "hash-balance-factor": BE, "cookie": BE, "option": FB, "no": FB, "timeout": FB,
    "retries": BE, "maxconn": FE, "fullconn": BE, "log": FB, "log-format": FB, "log-format-sd": FB,
    "log-tag": FB, "error-log-format": FB, "acl": FB, "use_backend": FE, "default_backend": FE,
    "use-server": BE, "use-fcgi-app": FB, "http-request": FB, "http-response": FB, "http-after-response": FB,
    "tcp-request": FB, "tcp-response": BE, "http-check": BE, "tcp-check": BE, "stats": FB,
    "errorfile": FB, "errorfiles": FB, "errorloc": FB, "errorloc302": FB, "errorloc303": FB,
    "http-error": FB, "capture": FE, "disabled": FB, "enabled": FB, "description": FB, "id": FB,
    "dispatch": BE, "http-send-name-header": BE, "unique-id-format": FE, "unique-id-header": FE,
    "monitor-uri": FE, "monitor": FE, "redirect": FB, "rate-limit": FE, "compression": FB,
    "email-alert": FB, "force-persist": FB, "ignore-persist": FB, "persist": BE, "stick-table": FB,
    "stick": BE, "backlog": FE, "bind-process": FB, "source": BE, "http-reuse": BE,
    "max-keep-alive-queue": BE, "grace": FB, "declare": FE, "filter": FB, "external-check": BE,
    "load-server-state-from-file": BE, "server-state-file-name": BE, "clitcpka-cnt": FE,
    "clitcpka-idle": FE, "clitcpka-intvl": FE, "srvtcpka-cnt": BE, "srvtcpka-idle": BE,
    "srvtcpka-intvl": BE, "retry-on": BE, "monitor-net": FE, "dynamic-cookie-key": BE,
    "orig-addr": FB, "transparent": BE,
}

#: keywords allowed neither in defaults at all nor in anonymous defaults
NOT_IN_DEFAULTS = ("bind", "use_backend", "server", "server-template", "capture", "use-server",
                   "dispatch", "id", "description", "stick", "stick-table", "monitor", "redirect",
                   "use-service", "declare", "force-persist", "ignore-persist")
#: (tcp-request: its own message, once its sub-keyword is read: config/build/rules.py)
#: names 2.6 also suggests for a misspelt keyword of a global or proxy section (its section names)
SECTION_SUGGESTIONS = ("global", "defaults", "listen", "frontend", "backend", "peers", "resolvers")

NOT_IN_ANON_DEFAULTS = ("acl", "http-request", "http-response", "http-after-response")

#: options: name -> capability
OPTIONS: dict[str, int] = {
    "abortonclose": BE, "accept-invalid-http-request": FE, "accept-invalid-http-response": BE,
    "allbackups": BE, "checkcache": BE, "clitcpka": FE, "contstats": FE, "disable-h2-upgrade": FE,
    "dontlog-normal": FE, "dontlognull": FE, "forwardfor": FB, "h1-case-adjust-bogus-client": FE,
    "h1-case-adjust-bogus-server": BE, "http-buffer-request": FB, "http-ignore-probes": FE,
    "http-keep-alive": FB, "http-no-delay": FB, "http-pretend-keepalive": BE,
    "http-restrict-req-hdr-names": FB, "http-server-close": FB, "http-use-proxy-header": FE,
    "httpchk": BE, "httpclose": FB, "httplog": FE, "httpslog": FE, "independent-streams": FB, "ldap-check": BE,
    "external-check": BE, "log-health-checks": BE, "log-separate-errors": FE, "logasap": FE,
    "mysql-check": BE, "nolinger": FB, "originalto": FB, "persist": BE, "pgsql-check": BE,
    "prefer-last-server": BE, "redis-check": BE, "redispatch": BE, "smtpchk": BE, "socket-stats": FE,
    "splice-auto": FB, "splice-request": FB, "splice-response": FB, "spop-check": BE, "srvtcpka": BE,
    "ssl-hello-chk": BE, "tcp-check": BE, "tcp-smart-accept": FE, "tcp-smart-connect": BE, "tcpka": FB,
    "tcplog": FB, "transparent": BE, "idle-close-on-response": FE,
}
#: options that take arguments (and so cannot be negated with "no"; httpslog is parsed with them by 2.6)
OPTIONS_WITH_ARGS = ("forwardfor", "httpchk", "httplog", "httpslog", "tcplog", "originalto", "redispatch",
                     "ldap-check", "mysql-check", "pgsql-check", "smtpchk", "external-check",
                     "ssl-hello-chk", "tcp-check", "spop-check", "redis-check", "http-restrict-req-hdr-names")
NEGATABLE_WITH_ARGS = ("redispatch",)
#: 2.6's on/off options (its two tables, in their order): checked for their argument count and
#: capability before anything else, and the only ones with the connection modes and redispatch
#: that 'no' takes
FLAG_OPTIONS = ("abortonclose", "allbackups", "checkcache", "clitcpka", "contstats", "dontlognull",
                "http-buffer-request", "http-ignore-probes", "idle-close-on-response", "prefer-last-server",
                "logasap", "nolinger", "persist", "srvtcpka", "transparent", "splice-request", "splice-response",
                "splice-auto", "accept-invalid-http-request", "accept-invalid-http-response", "dontlog-normal",
                "log-separate-errors", "log-health-checks", "socket-stats", "tcp-smart-accept",
                "tcp-smart-connect", "independent-streams", "http-use-proxy-header", "http-pretend-keepalive",
                "http-no-delay", "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server",
                "disable-h2-upgrade")
#: the words 2.6 suggests for an unknown option, in its order (its tables, then its extra list)
OPTION_SUGGESTIONS = (*FLAG_OPTIONS, "httpclose", "http-server-close", "http-keep-alive", "redispatch", "httplog",
                      "tcplog", "tcpka", "httpchk", "ssl-hello-chk", "smtpchk", "pgsql-check", "redis-check",
                      "mysql-check", "ldap-check", "spop-check", "tcp-check", "external-check", "forwardfor",
                      "original-to")
#: the check-type options and the number of arguments 2.6 lets each have
CHECK_TYPE_OPTIONS = {"httpchk": 3, "ssl-hello-chk": 0, "smtpchk": 2, "pgsql-check": 2, "redis-check": 0,
                      "mysql-check": 3, "ldap-check": 0, "spop-check": 0, "tcp-check": 0, "external-check": 0}

REMOVED_OPTIONS = {
    "forceclose": "option 'forceclose' is not supported any more since HAProxy 2.0, please just "
                  "remove it, or use 'option httpclose' if absolutely needed.",
    "http-tunnel": "option 'http-tunnel' is not supported any more since HAProxy 2.1, please just "
                   "remove it, it shouldn't be needed.",
    "http_proxy": "option 'http_proxy' is not supported any more since HAProxy 2.5. This option "
                  "stopped working in HAProxy 1.9 and usually had nasty side effects. It can be more "
                  "reliably implemented with combinations of 'http-request set-dst' and 'http-request "
                  "set-uri', and even 'http-request do-resolve' if DNS resolution is desired.",
}

#: removed 1.x keywords -> (separator after the location, message)
REMOVED_KEYWORDS: dict[str, str] = {
    "reqadd": "The 'reqadd' directive is not supported anymore since HAProxy 2.1. Use 'http-request "
              "add-header' instead.",
    "reqrep": "The 'reqrep' directive is not supported anymore since HAProxy 2.1. Use 'http-request "
              "replace-path', 'http-request replace-uri' or 'http-request replace-header' instead.",
    "rspdel": "The 'rspdel' directive is not supported anymore since HAProxy 2.1. Use 'http-response "
              "del-header' .",
    "rspadd": "The 'rspadd' directive is not supported anymore since HAProxy 2.1. Use 'http-response "
              "add-header' instead.",
    "reqidel": "The 'reqidel' directive is not supported anymore since HAProxy 2.1. Use 'http-request "
               "del-header' instead.",
    "block": "The 'block' directive is not supported anymore since HAProxy 2.1. Use 'http-request "
             "deny' which uses the exact same syntax.",
    "redispatch": "keyword 'redispatch' directive is not supported anymore since HAProxy 2.1. Use "
                  "'option redispatch'.",
    "appsession": "'appsession' is not supported anymore since HAProxy 1.6.",
    "srvtimeout": "the 'srvtimeout' directive is not supported anymore since HAProxy 2.1. Use "
                  "'timeout server'.",
    "clitimeout": "the 'clitimeout' directive is not supported anymore since HAProxy 2.1. Use "
                  "'timeout client'.",
    "contimeout": "the 'contimeout' directive is not supported anymore since HAProxy 2.1. Use "
                  "'timeout connect'.",
    "monitor-net": "'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 "
                   "if { src 10.0.0.0/8 }' instead.",
}
for _kw, _hint in (("reqdel", "del-header"), ("reqidel", "del-header"), ("reqallow", "allow"),
                   ("reqiallow", "allow"), ("reqdeny", "deny"), ("reqideny", "deny"),
                   ("reqpass", None), ("reqipass", None), ("reqtarpit", "tarpit"),
                   ("reqitarpit", "tarpit"), ("reqirep", None), ("rsprep", None), ("rspirep", None),
                   ("rspidel", None), ("rspdeny", "deny"), ("rspideny", "deny")):
    if _kw in REMOVED_KEYWORDS:
        continue
    _side = "http-response" if _kw.startswith("rsp") else "http-request"
    _use = f" Use '{_side} {_hint}' instead." if _hint else f" Use '{_side}' rules instead."
    REMOVED_KEYWORDS[_kw] = f"The '{_kw}' directive is not supported anymore since HAProxy 2.1.{_use}"

TIMEOUTS: dict[str, tuple[str, int]] = {
    # name -> (Timeouts field, capability)
    "client": ("client", FE), "server": ("server", BE), "connect": ("connect", BE),
    "check": ("check", BE), "queue": ("queue", BE), "http-keep-alive": ("http_keep_alive", FB),
    "http-request": ("http_request", FB), "tunnel": ("tunnel", BE), "tarpit": ("tarpit", FB),
    "client-fin": ("client_fin", FE), "server-fin": ("server_fin", BE),
}
TIMEOUT_LIST_MSG = ("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', "
                    "'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and "
                    "'server-fin'")
#: legacy aliases of "timeout X" (2.6 rejects most of them as removed keywords)
TIMEOUT_ALIASES = {"srvtimeout": "server", "clitimeout": "client", "contimeout": "connect"}

HTTP_REQUEST_ACTIONS = (
    "wait-for-handshake", "ot-group", "set-log-level", "set-nice", "use-service", "sc-inc-gpc(*)",
    "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group",
    "do-resolve(*)", "cache-use", "add-acl(*)", "add-header", "allow", "auth", "capture", "del-acl(*)",
    "del-header", "del-map(*)", "deny", "disable-l7-retry", "early-hint", "normalize-uri", "redirect",
    "reject", "replace-header", "replace-path", "replace-pathq", "replace-uri", "replace-value",
    "return", "set-header", "set-map(*)", "set-method", "set-path", "set-pathq", "set-query",
    "set-uri", "strict-mode", "tarpit", "track-sc(*)", "set-timeout", "wait-for-body",
    "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-dst", "set-dst-port", "set-mark", "set-src",
    "set-src-port", "set-tos", "silent-drop", "set-priority-class", "set-priority-offset",
)
HTTP_RESPONSE_ACTIONS = (
    "ot-group", "set-log-level", "set-nice", "sc-inc-gpc(*)", "sc-inc-gpc0(*)", "sc-inc-gpc1(*)",
    "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "cache-store", "add-acl(*)", "add-header",
    "allow", "capture", "del-acl(*)", "del-header", "del-map(*)", "deny", "redirect", "replace-header",
    "replace-value", "return", "set-header", "set-map(*)", "set-status", "strict-mode", "track-sc(*)",
    "wait-for-body", "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-mark", "set-tos", "silent-drop",
)
HTTP_AFTER_RESPONSE_ACTIONS = (
    "add-header", "allow", "capture", "del-header", "replace-header", "replace-value", "set-header",
    "set-status", "strict-mode", "set-var-fmt(*)", "set-var(*)", "unset-var(*)",
)  # 2.6.12's own list, in its order ('expects ...'): no map/acl or stick-counter actions there
TCP_REQUEST_CONTENT_ACTIONS = (
    "accept", "reject", "capture", "do-resolve(*)", "expect-netscaler-cip", "expect-proxy",
    "sc-inc-gpc(*)", "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)",
    "send-spoe-group", "set-dst", "set-dst-port", "set-log-level", "set-mark", "set-nice",
    "set-priority-class", "set-priority-offset", "set-src", "set-src-port", "set-tos",
    "set-var(*)", "set-var-fmt(*)", "silent-drop", "switch-mode", "track-sc(*)", "unset-var(*)",
    "use-service", "set-bandwidth-limit", "attach-srv",
)

USE_SERVICES = ("prometheus-exporter",)

STATS_PARAMS_MSG = ("expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', "
                    "'show-node', 'show-desc' or 'show-legends'.")

#: server parameters: name -> number of arguments (0 = flag)
SERVER_KEYWORDS: dict[str, int] = {
    "addr": 1, "agent-check": 0, "agent-addr": 1, "agent-inter": 1, "agent-port": 1, "agent-send": 1,
    "alpn": 1, "allow-0rtt": 0, "backup": 0, "ca-file": 1, "check": 0,
    "check-alpn": 1, "check-proto": 1, "check-send-proxy": 0, "check-sni": 1, "check-ssl": 0,
    "check-via-socks4": 0, "ciphers": 1, "ciphersuites": 1, "cookie": 1, "crl-file": 1, "crt": 1,
    "disabled": 0, "downinter": 1, "enabled": 0, "error-limit": 1, "fall": 1, "fastinter": 1,
    "force-sslv3": 0, "force-tlsv10": 0, "force-tlsv11": 0, "force-tlsv12": 0, "force-tlsv13": 0,
    "id": 1, "init-addr": 1, "inter": 1, "log-proto": 1, "maxconn": 1, "maxqueue": 1,
    "max-reuse": 1, "minconn": 1, "namespace": 1, "no-agent-check": 0, "no-backup": 0, "no-check": 0,
    "no-check-ssl": 0, "no-check-send-proxy": 0, "no-send-proxy": 0, "no-send-proxy-v2": 0, "no-send-proxy-v2-ssl": 0,
    "no-send-proxy-v2-ssl-cn": 0, "no-ssl": 0, "no-ssl-reuse": 0, "no-sslv3": 0, "no-tlsv10": 0,
    "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0, "no-tls-tickets": 0,
    "no-tfo": 0, "non-stick": 0, "npn": 1, "observe": 1, "on-error": 1, "on-marked-down": 1,
    "on-marked-up": 1, "pool-low-conn": 1, "pool-max-conn": 1, "pool-purge-delay": 1, "port": 1,
    "proto": 1, "redir": 1, "resolve-net": 1, "resolve-prefer": 1, "resolve-opts": 1, "resolvers": 1,
    "rise": 1, "send-proxy": 0, "send-proxy-v2": 0, "send-proxy-v2-ssl": 0,
    "send-proxy-v2-ssl-cn": 0, "proxy-v2-options": 1, "slowstart": 1,
    "sni": 1, "source": 1, "ssl": 0, "ssl-max-ver": 1, "ssl-min-ver": 1, "ssl-reuse": 0,
    "stick": 0, "socks4": 1, "tfo": 0, "tls-tickets": 0, "track": 1, "verify": 1, "verifyhost": 1,
    "weight": 1, "ws": 1, "usesrc": 1, "tcp-ut": 1,
}

#: bind parameters: name -> number of arguments
BIND_KEYWORDS: dict[str, int] = {
    "accept-netscaler-cip": 1, "accept-proxy": 0, "allow-0rtt": 0, "alpn": 1, "backlog": 1,
    "ca-file": 1, "ca-ignore-err": 1, "ca-sign-file": 1, "ca-sign-pass": 1, "ca-verify-file": 1,
    "ciphers": 1, "ciphersuites": 1, "crl-file": 1, "crt": 1, "crt-ignore-err": 1, "crt-list": 1,
    "curves": 1, "defer-accept": 0, "ecdhe": 1, "expose-fd": 1, "force-sslv3": 0, "force-tlsv10": 0,
    "force-tlsv11": 0, "force-tlsv12": 0, "force-tlsv13": 0, "generate-certificates": 0, "gid": 1,
    "group": 1, "id": 1, "interface": 1, "level": 1, "maxconn": 1, "mode": 1, "mss": 1, "name": 1,
    "namespace": 1, "nice": 1, "no-ca-names": 0, "no-sslv3": 0, "no-tls-tickets": 0, "no-tlsv10": 0,
    "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0, "npn": 1, "prefer-client-ciphers": 0,
    "process": 1, "proto": 1, "severity-output": 1, "ssl": 0, "ssl-max-ver": 1, "ssl-min-ver": 1,
    "strict-sni": 0, "tcp-ut": 1, "tfo": 0, "thread": 1, "tls-ticket-keys": 1, "transparent": 0,
    "uid": 1, "user": 1, "v4v6": 0, "v6only": 0, "verify": 1, "shards": 1,
}

LOG_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
                  "auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2",
                  "local3", "local4", "local5", "local6", "local7")
LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
LOG_FORMATS = ("local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw")

ERRORFILE_CODES = (200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504)

BALANCE_MSG = ("balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', "
               "'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.")

#: options that only act in HTTP mode (HAProxy warns when the proxy is in TCP mode), in 2.6's order
HTTP_ONLY_OPTIONS = ("checkcache", "http-buffer-request", "http-ignore-probes", "idle-close-on-response",
                     "prefer-last-server", "accept-invalid-http-request", "accept-invalid-http-response",
                     "http-use-proxy-header", "http-pretend-keepalive", "http-no-delay", "disable-h2-upgrade")

#: the sample expressions lb/keys.simple_fetch reads itself (a unit test keeps the two in step): a
#: fetch alone, no converter; the engine evaluates any other ``balance hash`` expression.
BALANCE_HASH_FETCHES = ("src", "path", "url", "query", "method", "req.hdr", "hdr", "req.fhdr", "url_param",
                        "urlp", "req.cook", "cook")
