"""What the configuration language may say: the registries of sections, global keywords, proxy
keywords, options, timeouts, server and bind parameters, and the sub-keywords of ``stats`` and
``http-check``.

Each name HAProxy 2.6 knows (``config/keywords.py``, checked against 2.6's own ``-dKall`` dump by
``tests/unit/test_registries.py``) is here either implemented (with the test that shows its effect
at runtime), a no-effect setting (with its reason; accepted with a notice) or refused by ``-c`` and
at start with "not implemented by haproxy-py (HAProxy 2.6 supports it)".

The builder (``config/build/``) asks :func:`check` before it acts on a name. Rule actions live in
``haproxy_py/actions``, sample fetches and converters in ``haproxy_py/samples``, runtime API
commands in ``haproxy_py/stats/commands.py``.

Pure module.
"""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.registry import Registry

SECTION = Registry[str]("section", "section", known=K.SECTIONS)
GLOBAL = Registry[str]("global", "global keyword", known=K.GLOBAL_KEYWORDS + K.TUNE_KEYWORDS)
PROXY = Registry[str]("proxy", "proxy keyword", known=K.PROXY_KEYWORDS)
OPTION = Registry[str]("option", "option", known=K.OPTIONS)
TIMEOUT = Registry[str]("timeout", "timeout", known=K.TIMEOUTS)
SERVER = Registry[str]("server", "server parameter", known=K.SERVER_KEYWORDS)
BIND = Registry[str]("bind", "bind parameter", known=K.BIND_KEYWORDS)
STATS = Registry[str]("stats", "'stats' parameter",
                      known=("admin", "auth", "bind-process", "enable", "hide-version", "http-request",
                             "realm", "refresh", "scope", "show-desc", "show-legends", "show-node",
                             "show-modules", "uri"))
TCP_CHECK = Registry[str]("tcp-check", "'tcp-check' directive",
                          known=("comment", "connect", "expect", "send", "send-binary", "send-binary-lf",
                                 "send-lf", "set-var", "set-var-fmt", "unset-var"))
HTTP_CHECK = Registry[str]("http-check", "'http-check' directive",
                           known=("comment", "connect", "disable-on-404", "expect", "send", "send-state",
                                  "set-var", "set-var-fmt", "unset-var"))

_IT = "tests/integration/"
_DIFF = "tests/differential/"
_UNIT = "tests/unit/"
_EFF = _IT + "test_keyword_effects.py::"
_TCPCHK = _IT + "test_tcpcheck_vs_haproxy.py::"
_PROTO = _IT + "test_protocol_checks_vs_haproxy.py::"
_HTTPCHK = _DIFF + "test_http_check_rules_vs_haproxy.py::"


def _reg(reg: Registry[str], where: str, tests: dict[str, str]) -> None:
    for name, test in tests.items():
        reg.register(name, where, test=test)


# --------------------------------------------------------------------------- sections
_reg(SECTION, "config/build/sections.py", {
    "global": _IT + "test_engine_http.py::test_seed_routing",
    "defaults": _IT + "test_engine_http.py::test_seed_routing",
    "frontend": _IT + "test_engine_http.py::test_seed_routing",
    "backend": _IT + "test_engine_http.py::test_seed_routing",
    "listen": _IT + "test_engine_tcp.py::test_tcplog_line",
    "program": _IT + "test_programs.py::test_master_starts_stops_and_reloads_programs",
    "mailers": _DIFF + "test_email_alerts_vs_haproxy.py::test_email_alerts_as_haproxy",
    "resolvers": _IT + "test_resolvers.py::test_dns_changes_move_traffic_as_haproxy",
    "http-errors": _DIFF + "test_errorfiles_generated.py::test_errorloc_and_http_errors_as_haproxy",
    "peers": _DIFF + "test_peers_vs_haproxy.py::test_entries_replicate_both_ways_with_haproxy",
    "cache": _IT + "test_cache_vs_haproxy.py::test_cache_as_haproxy",
    "ring": _IT + "test_rings_vs_haproxy.py::test_ring_lines_servers_and_show_events_as_haproxy",
    "log-forward": _IT + "test_rings_vs_haproxy.py::test_log_forward_relays_as_haproxy",
    "fcgi-app": _IT + "test_fcgi_vs_haproxy.py::test_fcgi_app_as_haproxy",
})

SECTION.no_effect("userlist", "users and groups are read and checked, and nothing else happens until a "
                  "feature uses them (http_auth, 'http-request auth', 'stats http-request auth'), which is "
                  "then implemented or refused on its own")

# --------------------------------------------------------------------------- global
_reg(GLOBAL, "config/build/global_.py global_kw", {
    "log": _IT + "test_syslog_vs_haproxy.py::test_headers_and_message_match_haproxy",
    "log-tag": _EFF + "test_log_tag_and_send_hostname",
    "log-send-hostname": _EFF + "test_log_tag_and_send_hostname",
    "chroot": _IT + "test_process_daemon.py::test_privileges_dropped_user_and_chroot",
    "pidfile": _IT + "test_process_daemon.py::test_daemon_detaches_writes_pidfile_and_serves",
    "node": _DIFF + "test_stats_vs_haproxy.py::test_show_info_keys_tags_types",
    "description": _DIFF + "test_stats_vs_haproxy.py::test_show_info_keys_tags_types",
    "quiet": _IT + "test_global_env_flags.py::test_quiet_and_zero_warning_as_haproxy",
    "zero-warning": _IT + "test_global_env_flags.py::test_quiet_and_zero_warning_as_haproxy",
    "nosplice": _IT + "test_global_env_flags.py::test_nosplice_forwards_without_pipes",
    "setenv": _IT + "test_global_env_flags.py::test_environment_keywords_as_haproxy",
    "presetenv": _IT + "test_global_env_flags.py::test_environment_keywords_as_haproxy",
    "unsetenv": _IT + "test_global_env_flags.py::test_environment_keywords_as_haproxy",
    "resetenv": _IT + "test_global_env_flags.py::test_environment_keywords_as_haproxy",
    "maxconn": _IT + "test_engine_limits.py::test_maxconn_queues_in_backlog_and_serves_everyone",
    "nbthread": _IT + "test_process_workers.py::test_two_workers_sum_in_show_stat_and_share_runtime_changes",
    "nbproc": _EFF + "test_nbproc_starts_workers",
    "spread-checks": _EFF + "test_spread_checks_varies_the_interval",
    "uid": _IT + "test_process_daemon.py::test_numeric_uid_gid",
    "gid": _IT + "test_process_daemon.py::test_numeric_uid_gid",
    "user": _IT + "test_process_daemon.py::test_privileges_dropped_user_and_chroot",
    "group": _IT + "test_process_daemon.py::test_privileges_dropped_user_and_chroot",
    "daemon": _IT + "test_process_daemon.py::test_daemon_detaches_writes_pidfile_and_serves",
    "master-worker": _IT + "test_process_master.py::test_master_reload_by_sigusr2_keeps_sockets_state_and_pid",
    "stats": _IT + "test_stats_socket.py::test_one_command_per_connection",
    "server-state-file": _IT + "test_process_reload.py::test_server_state_file_is_loaded_at_start",
    "server-state-base": _EFF + "test_server_state_base",
    "hard-stop-after": _IT + "test_process_signals.py::test_hard_stop_after_bounds_the_soft_stop",
    "tune.bufsize": _EFF + "test_tune_bufsize_limits_the_request_head",
    "tune.maxrewrite": _EFF + "test_tune_bufsize_limits_the_request_head",
    "tune.http.maxhdr": _DIFF + "test_http_defects_vs_haproxy.py::test_tune_http_maxhdr_same_limit_and_answer",
    "profiling.tasks": _DIFF + "test_task_profiling_vs_haproxy.py::test_task_profiling_fetches_as_haproxy",
})
_TLS = _IT + "test_tls_vs_haproxy.py::"
_TLSB = _IT + "test_tls_bind_vs_haproxy.py::"
_reg(GLOBAL, "config/tls.py global_kw", {
    "crt-base": _TLS + "test_sni_selects_the_certificate_as_haproxy",
    "ca-base": _TLS + "test_client_certificates_as_haproxy",
    "ssl-default-bind-ciphers": _TLS + "test_versions_and_ciphers_as_haproxy",
    "ssl-default-bind-ciphersuites": _TLS + "test_versions_and_ciphers_as_haproxy",
    "ssl-default-bind-options": _TLS + "test_versions_and_ciphers_as_haproxy",
    "ssl-load-extra-del-ext": _TLS + "test_key_files_found_as_haproxy",
    "ssl-default-bind-curves": _TLSB + "test_curves_and_dh_as_haproxy",
    "ssl-dh-param-file": _TLSB + "test_curves_and_dh_as_haproxy",
    "tune.ssl.default-dh-param": _TLSB + "test_curves_and_dh_as_haproxy",
    "ssl-load-extra-files": _TLSB + "test_extra_files_as_haproxy",
    "tune.ssl.capture-buffer-size": _IT + "test_tls_fetches2_vs_haproxy.py::test_clienthello_capture_as_haproxy",
    "tune.ssl.capture-cipherlist-size": _IT + "test_tls_fetches2_vs_haproxy.py::test_clienthello_capture_as_haproxy",
    "tune.ssl.keylog": _IT + "test_tls_fetches2_vs_haproxy.py::test_keylog_secrets_as_the_client_logs_them",
    "tune.ssl.lifetime": _IT + "test_tls_runtime2_vs_haproxy.py::test_session_lifetime_and_self_issued_ca_as_haproxy",
    "ssl-skip-self-issued-ca": _IT + "test_tls_runtime2_vs_haproxy.py::test_session_lifetime_and_self_issued_ca_as_haproxy",
    "tune.ssl.maxrecord": _IT + "test_tls_runtime2_vs_haproxy.py::test_maxrecord_bounds_the_records_as_haproxy",
    "tune.ssl.cachesize": _IT + "test_tls_session_cache_vs_haproxy.py::test_session_cache_counts_as_haproxy",
    "issuers-chain-path": _IT + "test_tls_runtime2_vs_haproxy.py::test_issuers_chain_path_as_haproxy",
})
_TLSS = _IT + "test_tls_servers_vs_haproxy.py::"
_reg(GLOBAL, "config/tls.py server_global", {
    "ssl-server-verify": _TLSS + "test_tls_to_servers_as_haproxy",
    "ssl-default-server-ciphers": _TLSS + "test_tls_to_servers_as_haproxy",
    "ssl-default-server-ciphersuites": _TLSS + "test_tls_to_servers_as_haproxy",
    "ssl-default-server-options": _TLSS + "test_tls_to_servers_as_haproxy",
})
for _n in ("ssl-mode-async", "tune.ssl.force-private-cache", "tune.ssl.ssl-ctx-cache-size"):
    GLOBAL.no_effect(_n, "a scheduling or memory knob of HAProxy's own TLS engine; haproxy-py's TLS is "
                         "OpenSSL driven by its event loop and what clients see is the same")
for _n in ("tune.h2.header-table-size", "tune.h2.initial-window-size", "tune.h2.max-concurrent-streams",
           "tune.h2.max-frame-size"):
    GLOBAL.no_effect(_n, "tunes HTTP/2, which haproxy-py does not speak (an 'alpn h2' is refused)")
for _n in ("tune.lua.forced-yield", "tune.lua.maxmem", "tune.lua.session-timeout", "tune.lua.service-timeout",
           "tune.lua.task-timeout"):
    GLOBAL.no_effect(_n, "tunes Lua, and 'lua-load' is refused")
for _n in ("httpclient.resolvers.id", "httpclient.resolvers.prefer"):
    GLOBAL.no_effect(_n, "configures the internal HTTP client that only Lua scripts and OCSP updates use, "
                         "both refused")
for _n in ("httpclient.ssl.ca-file", "httpclient.ssl.verify"):
    GLOBAL.no_effect(_n, "configures the internal HTTP client that only Lua scripts and OCSP updates use, "
                         "both refused; 'show ssl ca-file' lists its CA file as 2.6 (@system-ca unless "
                         "'httpclient.ssl.verify none')")
_SCHED = "a scheduling or memory knob of HAProxy's own event loop; haproxy-py's loop has no such setting " \
         "and what it serves is the same"
for _n in ("tune.maxaccept", "tune.maxpollevents", "tune.recv_enough", "tune.runqueue-depth",
           "tune.sched.low-latency", "tune.idle-pool.shared", "tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio",
           "tune.fd.edge-triggered", "tune.listener.multi-queue", "tune.idletimer", "tune.buffers.limit",
           "tune.buffers.reserve", "tune.pipesize", "tune.fail-alloc", "tune.pattern.cache-size",
           "noepoll", "nopoll", "nokqueue", "noevports", "busy-polling", "maxpipes", "no-memory-trimming",
           "cpu-map", "numa-cpu-mapping", "thread-groups", "thread-group", "set-dumpable"):
    GLOBAL.no_effect(_n, _SCHED)
GLOBAL.no_effect("tune.peers.max-updates-at-once", "sizes the batches in which 2.6 writes updates to a peer; "
                 "haproxy-py writes every due update at each turn of its loop, and the peer receives the same")
GLOBAL.register("localpeer", "config/build/global_.py global_kw",
                test=_DIFF + "test_peers_vs_haproxy.py::test_localpeer_and_server_bind_lines")
GLOBAL.no_effect("expose-experimental-directives", "only unlocks experimental directives, which "
                 "haproxy-py refuses anyway")
_EXT = _DIFF + "test_external_check_vs_haproxy.py::"
_reg(GLOBAL, "config/build/global_.py", {
    "pp2-never-send-local": _DIFF + "test_proxy_protocol_vs_haproxy.py::test_check_send_proxy_as_haproxy",
    "external-check": _EXT + "test_external_checks_as_haproxy",
    "insecure-fork-wanted": _EXT + "test_external_checks_as_haproxy",
})
_LIM = _IT + "test_global_limits.py::"
_reg(GLOBAL, "config/build/global_.py, runtime/limits.py, process.py apply_fd_limits", {
    "ulimit-n": _LIM + "test_ulimit_n_fd_hard_limit_strict_limits_as_haproxy",
    "fd-hard-limit": _LIM + "test_ulimit_n_fd_hard_limit_strict_limits_as_haproxy",
    "strict-limits": _LIM + "test_ulimit_n_fd_hard_limit_strict_limits_as_haproxy",
    "maxconnrate": _LIM + "test_maxconnrate_maxsessrate_as_haproxy",
    "maxsessrate": _LIM + "test_maxconnrate_maxsessrate_as_haproxy",
    "maxsslrate": _IT + "test_tls_runtime2_vs_haproxy.py::test_maxsslrate_holds_tls_connections_back_as_haproxy",
    "maxsslconn": _IT + "test_tls_runtime2_vs_haproxy.py::test_maxsslconn_holds_tls_connections_back_as_haproxy",
    "maxcomprate": _IT + "test_compression_limits_vs_haproxy.py::test_maxcomprate_as_haproxy",
    "tune.comp.maxlevel": _IT + "test_compression_levels_vs_haproxy.py::test_maxlevel_is_the_zlib_level",
    "maxcompcpuusage": _IT + "test_compression_levels_vs_haproxy.py::test_maxcompcpuusage_stops_compressing_when_busy",
    "tune.rcvbuf.client": _LIM + "test_socket_buffer_sizes_as_haproxy",
    "tune.rcvbuf.server": _LIM + "test_socket_buffer_sizes_as_haproxy",
    "tune.sndbuf.client": _LIM + "test_socket_buffer_sizes_as_haproxy",
    "tune.sndbuf.server": _LIM + "test_socket_buffer_sizes_as_haproxy",
    "tune.http.logurilen": _LIM + "test_tune_http_logurilen_as_haproxy",
    "tune.http.cookielen": _LIM + "test_tune_http_cookielen_as_haproxy",
    "grace": _LIM + "test_grace_delays_the_soft_stop_as_haproxy",
    "mworker-max-reloads": _LIM + "test_mworker_max_reloads_as_haproxy",
})
_PV = _DIFF + "test_proc_vars_vs_haproxy.py::"
_reg(GLOBAL, "config/build/global_.py, samples/procvars.py, samples/txn.py", {
    "set-var": _PV + "test_global_set_var_and_get_var_as_haproxy",
    "set-var-fmt": _PV + "test_global_set_var_and_get_var_as_haproxy",
    "tune.vars.global-max-size": _PV + "test_vars_limits_as_haproxy",
    "tune.vars.proc-max-size": _PV + "test_vars_limits_as_haproxy",
    "tune.vars.sess-max-size": _PV + "test_vars_limits_as_haproxy",
    "tune.vars.txn-max-size": _PV + "test_vars_limits_as_haproxy",
    "tune.vars.reqres-max-size": _PV + "test_vars_limits_as_haproxy",
    "tune.vars.check-max-size": _PV + "test_check_vars_limits_as_haproxy",
})
GLOBAL.no_effect("insecure-setuid-wanted", "haproxy-py does not forbid its external checks to gain privileges "
                 "through a setuid program, so allowing it changes nothing")
GLOBAL.no_effect("maxzlibmem", "Debian's HAProxy 2.6.12 compresses with libslz, not zlib: its limit on zlib's "
                 "memory never applies there (show info has no ZlibMemUsage lines), nor here")
GLOBAL.no_effect("cluster-secret", "used by QUIC retry tokens; haproxy-py has no QUIC")
GLOBAL.alternatives.update({
    "quiet": "run with '-q' instead",
    "zero-warning": "run with '-dW' instead",
    "debug": "run with '-d' instead",
})

# --------------------------------------------------------------------------- proxy keywords
_reg(PROXY, "config/build/ kw_NAME of its feature", {
    "filter": _IT + "test_cache_vs_haproxy.py::test_cache_as_haproxy",  # 'filter cache' only
    "capture": _DIFF + "test_captures_vs_haproxy.py::test_captures_in_httplog_as_haproxy",
    "mode": _IT + "test_engine_http.py::test_seed_routing",
    "bind": _IT + "test_engine_http.py::test_seed_routing",
    "server": _IT + "test_engine_http.py::test_seed_routing",
    "default-server": _EFF + "test_default_server_and_ids",
    "balance": _DIFF + "test_lb_haproxy.py::test_hash_algorithms_match_haproxy",
    "hash-type": _DIFF + "test_lb_haproxy.py::test_hash_algorithms_match_haproxy",
    "hash-balance-factor": _UNIT + "test_backend_queue.py::test_consistent_bounded_load",
    "cookie": _IT + "test_lb_e2e.py::test_cookie_persistence_same_as_haproxy",
    "max-keep-alive-queue": _IT + "test_prefer_last_server_vs_haproxy.py::test_max_keep_alive_queue_as_haproxy",
    "persist": _IT + "test_dynamic_cookie_vs_haproxy.py::test_persist_rdp_cookie_as_haproxy",
    "dynamic-cookie-key": _IT + "test_dynamic_cookie_vs_haproxy.py::test_dynamic_cookies_as_haproxy",
    "option": _IT + "test_engine_http.py::test_seed_forwardfor_except_loopback",
    "no": _EFF + "test_no_option_cancels_defaults",
    "timeout": _IT + "test_lb_e2e.py::test_maxconn_2_queues_10_concurrent",
    "retries": _IT + "test_engine_tcp.py::test_server_refused_closes_client_after_retries",
    "retry-on": _IT + "test_retry_on_vs_haproxy.py::test_retry_on_generated_as_haproxy",
    "maxconn": _IT + "test_engine_limits.py::test_maxconn_queues_in_backlog_and_serves_everyone",
    "fullconn": _UNIT + "test_backend_queue.py::test_dynamic_maxconn_minconn_fullconn",
    "log": _IT + "test_engine_http.py::test_log_line_is_httplog_for_routed_request",
    "log-format": _EFF + "test_log_tag_and_send_hostname",
    "log-tag": _EFF + "test_log_tag_and_send_hostname",
    "acl": _IT + "test_engine_http.py::test_seed_routing",
    "use_backend": _IT + "test_engine_http.py::test_seed_routing",
    "use-server": _DIFF + "test_use_server_vs_haproxy.py::test_use_server_rules_as_haproxy",
    "backlog": _IT + "test_listen_backlog.py::test_listen_backlog_as_haproxy",
    "default_backend": _IT + "test_engine_http.py::test_seed_routing",
    "http-check": _IT + "test_checks_checker.py::test_httpchk_500_is_l7sts",
    "stats": _DIFF + "test_stats_vs_haproxy.py::test_exporter_same_names_help_type_and_order",
    "errorfile": _EFF + "test_errorfile_replaces_the_page",
    "disabled": _EFF + "test_disabled_proxy_does_not_listen",
    "enabled": _EFF + "test_disabled_proxy_does_not_listen",
    "description": _DIFF + "test_stats_vs_haproxy.py::test_show_info_keys_tags_types",
    "id": _EFF + "test_default_server_and_ids",
    "http-send-name-header": _EFF + "test_default_server_and_ids",
    "load-server-state-from-file": _EFF + "test_server_state_base",
    "dispatch": _IT + "test_dispatch.py::test_dispatch_sends_to_its_address_as_haproxy",
    "server-template": _IT + "test_resolvers.py::test_server_template_a_and_srv_as_haproxy",
    "http-reuse": _DIFF + "test_http_reuse_vs_haproxy.py::test_server_connection_reuse_as_haproxy",
    "tcp-check": _TCPCHK + "test_tcp_check_sequences_as_haproxy",
    "external-check": _DIFF + "test_external_check_vs_haproxy.py::test_external_checks_as_haproxy",
    "email-alert": _DIFF + "test_email_alerts_vs_haproxy.py::test_email_alerts_as_haproxy",
})
#: the rule keywords are read by the actions registries (haproxy_py/actions), which accept or refuse
#: each action
_ACT = _DIFF + "test_actions_vs_haproxy.py::"
_reg(PROXY, "haproxy_py/actions", {
    "http-request": _ACT + "test_rule_order_across_sets",
    "http-response": _ACT + "test_response_header_actions",
    "http-after-response": _ACT + "test_after_response_actions",
    "tcp-request": _ACT + "test_tcp_request_content_rules",
    "tcp-response": _DIFF + "test_tcp_response_vs_haproxy.py::test_tcp_response_content_as_haproxy",
    "redirect": _ACT + "test_redirect_rules_run_after_http_request_rules",
})
_reg(PROXY, "haproxy_py/config/build/stick.py", {
    "stick-table": _DIFF + "test_stick_vs_haproxy.py::test_rate_limit_denials_as_haproxy",
    "stick": _DIFF + "test_stick_persist_vs_haproxy.py::test_stick_on_src_as_haproxy",
    "force-persist": _DIFF + "test_persist_rules_vs_haproxy.py::test_force_and_ignore_persist_as_haproxy",
    "ignore-persist": _DIFF + "test_persist_rules_vs_haproxy.py::test_force_and_ignore_persist_as_haproxy",
})
#: rule keywords: the actions registries (haproxy_py/actions) decide per action
RULE_KEYWORDS = ("http-request", "http-response", "http-after-response", "tcp-request", "tcp-response",
                 "redirect")
_HF = _DIFF + "test_http_features_vs_haproxy.py::"
_EL = _DIFF + "test_errorfiles_generated.py::test_errorloc_and_http_errors_as_haproxy"
_reg(PROXY, "config/build/errorfiles.py", {"errorloc": _EL, "errorloc302": _EL, "errorloc303": _EL, "errorfiles": _EL})
_reg(PROXY, "config/build/http_features.py", {
    "monitor-uri": _HF + "test_monitor_uri_as_haproxy",
    "monitor": _HF + "test_monitor_uri_as_haproxy",
    "unique-id-format": _HF + "test_unique_id_as_haproxy",
    "unique-id-header": _HF + "test_unique_id_as_haproxy",
    "declare": _HF + "test_capture_actions_as_haproxy",
    "rate-limit": _HF + "test_rate_limit_sessions_as_haproxy",
})
_reg(PROXY, "config/build/compression.py", {
    "compression": _DIFF + "test_compression_vs_haproxy.py::test_compression_as_haproxy",
})

# --------------------------------------------------------------------------- options
_reg(OPTION, "config/build/options.py option", {
    "allbackups": _UNIT + "test_lb_properties.py::test_backup_rules",
    "abortonclose": _DIFF + "test_abortonclose_vs_haproxy.py::test_abortonclose_as_haproxy",
    "http-ignore-probes": _DIFF + "test_abortonclose_vs_haproxy.py::test_http_ignore_probes_as_haproxy",
    "dontlognull": _EFF + "test_no_option_cancels_defaults",
    "dontlog-normal": _EFF + "test_dontlog_normal_and_log_separate_errors",
    "log-separate-errors": _EFF + "test_dontlog_normal_and_log_separate_errors",
    "forwardfor": _IT + "test_engine_http.py::test_seed_forwardfor_except_loopback",
    "http-keep-alive": _IT + "test_engine_http.py::test_connection_modes_count_server_connections",
    "http-server-close": _IT + "test_engine_http.py::test_connection_modes_count_server_connections",
    "httpclose": _IT + "test_engine_http.py::test_connection_modes_count_server_connections",
    "httpchk": _IT + "test_checks_checker.py::test_httpchk_500_is_l7sts",
    "httplog": _IT + "test_engine_http.py::test_log_line_is_httplog_for_routed_request",
    "tcplog": _IT + "test_engine_tcp.py::test_tcplog_line",
    "log-health-checks": _IT + "test_checks_differential.py::test_boot_sequence_matches_haproxy",
    "persist": _IT + "test_lb_e2e.py::test_cookie_persistence_same_as_haproxy",
    "prefer-last-server": _IT + "test_prefer_last_server_vs_haproxy.py::test_prefer_last_server_as_haproxy",
    "redispatch": _IT + "test_lb_e2e.py::test_retries_and_redispatch_same_as_haproxy",
    "tcp-check": _TCPCHK + "test_tcp_check_sequences_as_haproxy",
    "redis-check": _TCPCHK + "test_redis_check_as_haproxy",
    "pgsql-check": _PROTO + "test_pgsql_check_as_haproxy",
    "smtpchk": _PROTO + "test_smtpchk_as_haproxy",
    "ssl-hello-chk": _PROTO + "test_ssl_hello_chk_as_haproxy",
    "mysql-check": _PROTO + "test_mysql_check_as_haproxy",
    "ldap-check": _PROTO + "test_ldap_check_as_haproxy",
    "spop-check": _PROTO + "test_spop_check_as_haproxy",
    "originalto": _DIFF + "test_http_features_vs_haproxy.py::test_originalto_as_haproxy",
    "external-check": _DIFF + "test_external_check_vs_haproxy.py::test_external_checks_as_haproxy",
    "http-buffer-request": _DIFF + "test_http_features_vs_haproxy.py::test_http_buffer_request_as_haproxy",
    "http-pretend-keepalive": _IT + "test_http_conn_options_vs_haproxy.py::test_pretend_keepalive_and_use_proxy_header_as_haproxy",
    "http-use-proxy-header": _IT + "test_http_conn_options_vs_haproxy.py::test_pretend_keepalive_and_use_proxy_header_as_haproxy",
})
OPTION.register("httpslog", "config/build/logs.py opt_httpslog + log/format.py HTTPS_LOG_FORMAT",
                test=_IT + "test_http_options3_vs_haproxy.py::test_httpslog_lines_as_haproxy")
OPTION.register("http-restrict-req-hdr-names", "actions/http.py RestrictHdrNames (actions/rules.py)",
                test=_IT + "test_http_options3_vs_haproxy.py::test_http_restrict_req_hdr_names_as_haproxy")
OPTION.register("idle-close-on-response", "engine/http.py HttpSession.soft_stop",
                test=_IT + "test_http_options3_vs_haproxy.py::test_idle_close_on_response_as_haproxy")
OPTION.register("socket-stats", "engine/loop.py _socket_stats + stats/csv.py listener_row",
                test=_IT + "test_http_options3_vs_haproxy.py::test_socket_stats_rows_as_haproxy")
_KA = _IT + "test_sockopts_vs_haproxy.py::test_tcp_keepalive_as_haproxy"
_reg(OPTION, "config/build/sockopts.py", {"tcpka": _KA, "clitcpka": _KA, "srvtcpka": _KA})
OPTION.register("accept-invalid-http-request", "http/relaxed.py parse_request_relaxed (engine/http.py _relaxed_request)",
                test=_IT + "test_accept_invalid_http_vs_haproxy.py::test_accept_invalid_http_request_as_haproxy")
OPTION.register("accept-invalid-http-response", "http/relaxed.py parse_response_relaxed (engine/http.py _relaxed_response)",
                test=_IT + "test_accept_invalid_http_vs_haproxy.py::test_accept_invalid_http_response_as_haproxy")
OPTION.register("nolinger", "engine/conn.py Conn.nolinger, engine/tcp.py Tunnel.cli_nolinger/srv_nolinger",
                test=_IT + "test_nolinger_vs_haproxy.py::test_nolinger_resets_as_haproxy")
BIND.no_effect("nice", "2.6 gives the sessions accepted there a scheduling priority in its run queue; "
               "haproxy-py's event loop (uvloop or asyncio) has none, so what is served is the same")
_reg(BIND, "engine/listener.py tcp_listener_options", {k: _IT + "test_sockopts_vs_haproxy.py::test_bind_socket_options_as_haproxy"
                                                      for k in ("defer-accept", "mss", "interface", "tfo")})
_reg(PROXY, "config/build/sockopts.py", {k: _KA for k in (
    "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl", "srvtcpka-cnt", "srvtcpka-idle", "srvtcpka-intvl")})
_reg(OPTION, "engine/http.py _log_asap, engine/stream.py _log_asap", {
    "logasap": _IT + "test_options2_vs_haproxy.py::test_option_logasap_as_haproxy",
    "contstats": _IT + "test_options2_vs_haproxy.py::test_option_contstats_as_haproxy"})
OPTION.no_effect("disable-h2-upgrade", "haproxy-py never upgrades a connection to HTTP/2")
OPTION.no_effect("http-no-delay", "haproxy-py always sends with TCP_NODELAY")
for _n in ("splice-auto", "splice-request", "splice-response"):
    OPTION.no_effect(_n, "haproxy-py splices tcp-mode data, and HTTP response bodies of 128 KiB or "
                         "more with a Content-Length that nothing reads or changes, whenever the kernel "
                         "allows it; the bytes forwarded are the same")
for _n in ("tcp-smart-accept", "tcp-smart-connect"):
    OPTION.no_effect(_n, "a TCP packet-saving optimisation; what is exchanged is the same")
OPTION.alternatives.update({
})

# --------------------------------------------------------------------------- timeouts
_reg(TIMEOUT, "engine/stream.py", {
    "client": _EFF + "test_http_keep_alive_timeout_closes_idle_connection",
    "server": _IT + "test_engine_http.py::test_server_silent_gives_504_and_then_next_request_works",
    "connect": _IT + "test_engine_tcp.py::test_server_refused_closes_client_after_retries",
    "check": _IT + "test_checks_checker.py::test_l7tout",
    "queue": _IT + "test_lb_e2e.py::test_maxconn_2_queues_10_concurrent",
    "http-keep-alive": _EFF + "test_http_keep_alive_timeout_closes_idle_connection",
    "http-request": _IT + "test_engine_http.py::test_garbage_flood_costs_only_its_connections",
    "tunnel": _IT + "test_engine_http.py::test_websocket_upgrade_becomes_a_tunnel",
    "tarpit": "tests/differential/test_actions_vs_haproxy.py::test_tarpit",
    "client-fin": _IT + "test_options2_vs_haproxy.py::test_timeout_client_fin_as_haproxy",
    "server-fin": _IT + "test_options2_vs_haproxy.py::test_timeout_server_fin_as_haproxy",
})

# --------------------------------------------------------------------------- server parameters
_reg(SERVER, "config/build/servers.py server_line", {
    "addr": _EFF + "test_spread_checks_varies_the_interval",
    "backup": _IT + "test_lb_e2e.py::test_backup_takeover_and_return_same_as_haproxy",
    "check": _IT + "test_checks_checker.py::test_down_after_fall_and_up_after_rise",
    "cookie": _IT + "test_lb_e2e.py::test_cookie_persistence_same_as_haproxy",
    "disabled": _EFF + "test_default_server_and_ids",
    "enabled": _EFF + "test_default_server_and_ids",
    "downinter": _UNIT + "test_checks_health.py::test_intervals",
    "error-limit": _IT + "test_checks_proxy.py::test_observe_layer7_marks_down_on_errors",
    "fall": _IT + "test_checks_checker.py::test_down_after_fall_and_up_after_rise",
    "fastinter": _UNIT + "test_checks_health.py::test_intervals",
    "id": _EFF + "test_default_server_and_ids",
    "inter": _IT + "test_checks_checker.py::test_down_after_fall_and_up_after_rise",
    "maxconn": _IT + "test_lb_e2e.py::test_maxconn_2_queues_10_concurrent",
    "maxqueue": _IT + "test_lb_e2e.py::test_maxqueue_persistent_503_same_as_haproxy",
    "minconn": _UNIT + "test_backend_queue.py::test_dynamic_maxconn_minconn_fullconn",
    "no-backup": _EFF + "test_default_server_and_ids",
    "no-check": _EFF + "test_default_server_and_ids",
    "observe": _IT + "test_checks_proxy.py::test_observe_layer7_marks_down_on_errors",
    "on-error": _IT + "test_checks_proxy.py::test_observe_layer7_marks_down_on_errors",
    "on-marked-down": _UNIT + "test_checks_health.py::test_observe_layer4_and_actions",
    "on-marked-up": _UNIT + "test_checks_health.py::test_observe_layer4_and_actions",
    "port": _EFF + "test_spread_checks_varies_the_interval",
    "rise": _IT + "test_checks_checker.py::test_down_after_fall_and_up_after_rise",
    "slowstart": _IT + "test_checks_proxy.py::test_slowstart_ramps_weight",
    "track": _UNIT + "test_checks_health.py::test_tracking",
    "weight": _DIFF + "test_lb_live.py::test_same_server_per_request",
    "init-addr": _EFF + "test_init_addr_libc_is_the_default",
    "resolvers": _IT + "test_resolvers.py::test_dns_changes_move_traffic_as_haproxy",
    "resolve-prefer": _IT + "test_resolvers.py::test_resolve_prefer_and_net",
    "resolve-net": _IT + "test_resolvers.py::test_resolve_prefer_and_net",
    "resolve-opts": _IT + "test_resolvers.py::test_duplicate_ip_prevention_as_haproxy",
})
_AGENT = _DIFF + "test_agent_check_vs_haproxy.py::"
_reg(SERVER, "checks/agent.py", {
    "agent-check": _AGENT + "test_agent_replies_change_servers_as_haproxy",
    "agent-port": _AGENT + "test_agent_replies_change_servers_as_haproxy",
    "agent-addr": _AGENT + "test_agent_replies_change_servers_as_haproxy",
    "agent-inter": _AGENT + "test_agent_replies_change_servers_as_haproxy",
    "agent-send": _AGENT + "test_agent_send_as_haproxy",
    "no-agent-check": _AGENT + "test_no_agent_check_turns_off_an_inherited_agent_as_haproxy",
})
SERVER.register("socks4", "engine/connect.py", test=_IT + "test_socks4_vs_haproxy.py::test_traffic_through_socks4_as_haproxy")
SERVER.register("check-via-socks4", "engine/checker.py", test=_IT + "test_socks4_vs_haproxy.py::test_checks_through_socks4_as_haproxy")
SERVER.register("check-proto", "config/build/servers.py", test=_HTTPCHK + "test_http_check_connect_as_haproxy")
_TFOW = _IT + "test_server_tfo_vs_haproxy.py::test_server_tfo_retry_warning_as_haproxy"
# 2.6.12 asks for TFO only with data in the response channel at connect time, never there: its
# connections never use TFO (nor do ours); what the keyword changes is 2.6's retry-on warning
_reg(SERVER, "config/build/post.py (2.6's retry-on warning; connections as 2.6.12's, without TFO)",
     {"tfo": _TFOW, "no-tfo": _TFOW})
_PURGE = _IT + "test_pool_purge_vs_haproxy.py::test_pool_purge_delay_as_haproxy"
_reg(SERVER, "engine/pool.py ServerPools.put/_purge", {"pool-purge-delay": _PURGE, "pool-low-conn": _PURGE})
SERVER.register("proto", "config/build/servers.py, engine/fcgi.py",
                test=_IT + "test_fcgi_vs_haproxy.py::test_fcgi_app_as_haproxy")
PROXY.register("use-fcgi-app", "config/build/fcgi.py, engine/fcgi.py",
               test=_IT + "test_fcgi_vs_haproxy.py::test_fcgi_app_as_haproxy")
SERVER.register("pool-max-conn", "engine/pool.py ServerPools.put",
                test=_IT + "test_server_pools_vs_haproxy.py::test_pool_max_conn_and_max_reuse_as_haproxy")
SERVER.no_effect("max-reuse", "2.6 limits the reuse of multiplexed (HTTP/2) server connections only; "
                 "haproxy-py speaks HTTP/1.1 to servers ('proto h2' is refused), where 2.6 reuses a "
                 "connection as often without it (tests/integration/test_server_pools_vs_haproxy.py)")
_PPD = _DIFF + "test_proxy_protocol_vs_haproxy.py::"
_reg(SERVER, "engine/proxy_protocol.py server_header, conn/proxy_protocol.py", {
    "send-proxy": _PPD + "test_send_proxy_to_haproxy_accept_proxy",
    "send-proxy-v2": _PPD + "test_send_proxy_to_haproxy_accept_proxy",
    "no-send-proxy": _PPD + "test_send_proxy_bytes_as_haproxy",
    "no-send-proxy-v2": _PPD + "test_send_proxy_bytes_as_haproxy",
    "proxy-v2-options": _PPD + "test_send_proxy_bytes_as_haproxy",
    "send-proxy-v2-ssl": _PPD + "test_send_proxy_v2_ssl_tlv_as_haproxy",
    "send-proxy-v2-ssl-cn": _PPD + "test_send_proxy_v2_ssl_tlv_as_haproxy",
    "no-send-proxy-v2-ssl": _PPD + "test_send_proxy_bytes_as_haproxy",
    "no-send-proxy-v2-ssl-cn": _PPD + "test_send_proxy_bytes_as_haproxy",
    "check-send-proxy": _PPD + "test_check_send_proxy_as_haproxy",
    "no-check-send-proxy": _PPD + "test_check_send_proxy_as_haproxy",
})
_reg(SERVER, "config/tls.py server_tls + engine/connect.py", {
    "ssl": _TLSS + "test_tls_to_servers_as_haproxy",
    "no-ssl": _TLSS + "test_tls_to_servers_as_haproxy",
    "verify": _TLSS + "test_tls_to_servers_as_haproxy",
    "ca-file": _TLSS + "test_tls_to_servers_as_haproxy",
    "sni": _TLSS + "test_tls_to_servers_as_haproxy",
    "alpn": _TLSS + "test_tls_to_servers_as_haproxy",
    "ssl-min-ver": _TLSS + "test_tls_to_servers_as_haproxy",
    "ssl-max-ver": _TLSS + "test_tls_to_servers_as_haproxy",
    "ciphers": _TLSS + "test_tls_to_servers_as_haproxy",
    "ciphersuites": _TLSS + "test_tls_to_servers_as_haproxy",
    "check-ssl": _TLSS + "test_health_checks_over_tls_as_haproxy",
    "no-check-ssl": _TLSS + "test_health_checks_over_tls_as_haproxy",
})
_NGX = _IT + "test_tls_nginx_vs_haproxy.py::"
_reg(SERVER, "config/tls.py server_tls + tls/context.py ClientTls", {
    **{_n: _NGX + "test_server_tls_params_as_haproxy" for _n in (
        "crt", "verifyhost", "crl-file", "ssl-reuse", "no-ssl-reuse", "tls-tickets", "no-tls-tickets",
        "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "force-sslv3", "force-tlsv10",
        "force-tlsv11", "force-tlsv12", "force-tlsv13")},
    "check-sni": _NGX + "test_tls_checks_and_check_sni_alpn_as_haproxy",
    "check-alpn": _NGX + "test_tls_checks_and_check_sni_alpn_as_haproxy",
})
for _n in ("non-stick", "stick"):
    SERVER.register(_n, "haproxy_py/stick/persist.py",
                    test=_DIFF + "test_stick_persist_vs_haproxy.py::test_learned_ids_and_non_stick_as_haproxy")

# --------------------------------------------------------------------------- bind parameters
_reg(BIND, "engine/listener.py", {
    "backlog": _IT + "test_process_signals.py::test_sigttou_pauses_and_sigttin_resumes",
    "mode": _IT + "test_engine_http.py::test_unix_socket_bind_and_ipv6",
    "v4v6": _EFF + "test_bind_v6only_and_v4v6",
    "v6only": _EFF + "test_bind_v6only_and_v4v6",
})
_reg(BIND, "config/tls.py bind_tls + engine/tls.py", {
    "ssl": _TLS + "test_sni_selects_the_certificate_as_haproxy",
    "crt": _TLS + "test_sni_selects_the_certificate_as_haproxy",
    "strict-sni": _TLS + "test_sni_selects_the_certificate_as_haproxy",
    "alpn": _TLS + "test_alpn_as_haproxy",
    "ssl-min-ver": _TLS + "test_versions_and_ciphers_as_haproxy",
    "ssl-max-ver": _TLS + "test_versions_and_ciphers_as_haproxy",
    "no-sslv3": _TLS + "test_versions_and_ciphers_as_haproxy",
    "no-tlsv10": _TLS + "test_versions_and_ciphers_as_haproxy",
    "no-tlsv11": _TLS + "test_versions_and_ciphers_as_haproxy",
    "no-tlsv12": _TLS + "test_versions_and_ciphers_as_haproxy",
    "no-tlsv13": _TLS + "test_versions_and_ciphers_as_haproxy",
    "ciphers": _TLS + "test_versions_and_ciphers_as_haproxy",
    "ciphersuites": _TLS + "test_versions_and_ciphers_as_haproxy",
    "ca-file": _TLS + "test_client_certificates_as_haproxy",
    "verify": _TLS + "test_client_certificates_as_haproxy",
    "crt-list": _TLSB + "test_crt_list_as_haproxy",
    "ca-ignore-err": _TLSB + "test_ignored_verify_errors_as_haproxy",
    "crt-ignore-err": _TLSB + "test_ignored_verify_errors_as_haproxy",
    "curves": _TLSB + "test_curves_and_dh_as_haproxy",
    "ecdhe": _TLSB + "test_curves_and_dh_as_haproxy",
    "no-tls-tickets": _TLSB + "test_tickets_and_cipher_order_as_haproxy",
    "prefer-client-ciphers": _TLSB + "test_tickets_and_cipher_order_as_haproxy",
    "crl-file": _TLSB + "test_crl_and_ca_names_as_haproxy",
    "ca-verify-file": _TLSB + "test_crl_and_ca_names_as_haproxy",
    "no-ca-names": _TLSB + "test_crl_and_ca_names_as_haproxy",
    # the listener's name in the lines logged for connections that die before a stream exists
    # (and the svname of its show stat row with 'option socket-stats')
    "name": _TLS + "test_handshake_failures_logged_as_haproxy",
})
BIND.register("accept-proxy", "engine/proxy_protocol.py ProxyAccept",
              test=_DIFF + "test_proxy_protocol_vs_haproxy.py::test_accept_proxy_generated_headers_as_haproxy")
for _n in ("process", "thread"):
    BIND.no_effect(_n, "haproxy-py's workers all share every listener, and the master owns the stats "
                       "sockets")
BIND.register("id", "engine/listener.py listener_ids",
              test=_IT + "test_sockopts_vs_haproxy.py::test_bind_id_as_haproxy")
BIND.register("maxconn", "engine/loop.py _can_accept",
              test=_IT + "test_sockopts_vs_haproxy.py::test_bind_maxconn_as_haproxy")
BIND.register("allow-0rtt", "config/tls.py bind_tls + tls/context.py read_early + engine/tls.py",
              test=_IT + "test_tls_extensions_vs_haproxy.py::test_early_data_as_haproxy")
BIND.register("tls-ticket-keys", "config/tls.py bind_tls + tls/ticketkeys.py + tls/context.py set_ticket_ring",
              test=_IT + "test_tls_ticket_keys_vs_haproxy.py::test_tickets_resume_across_both_as_haproxy")
BIND.register("npn", "config/tls.py bind_tls + tls/context.py set_npn",
              test=_IT + "test_tls_extensions_vs_haproxy.py::test_npn_as_haproxy")
SERVER.register("npn", "config/tls.py server_tls + tls/context.py set_npn",
                test=_IT + "test_tls_extensions_vs_haproxy.py::test_server_npn_as_haproxy")
# early data to servers: 2.6.12 (on OpenSSL 3.0) tries it only for a request that came as early
# data or with 'retry-on 0rtt-rejected', and then fails the connection (its ClientHello offers
# the session without the early_data extension and it aborts the handshake): refused rather than
# reproduced (tests/integration/test_tls_extensions_vs_haproxy.py::test_server_0rtt_fails_on_haproxy)
SERVER.reasons["allow-0rtt"] = SERVER.alternatives["allow-0rtt"] = (
    "HAProxy 2.6.12 sends no early data to servers here: where it would (a request received as early "
    "data, or 'retry-on 0rtt-rejected' with a session to resume), its connection fails during the "
    "handshake (502, SH)")
#: parameters only meaningful on a 'stats socket' line (handled there)
STATS_SOCKET_ONLY = ("level", "expose-fd", "user", "group", "uid", "gid", "severity-output")

# --------------------------------------------------------------------------- stats / http-check
_reg(STATS, "stats/page.py", {
    "enable": _DIFF + "test_stats_vs_haproxy.py::test_exporter_same_names_help_type_and_order",
    "uri": _EFF + "test_stats_page_settings",
    "realm": _EFF + "test_stats_page_settings",
    "auth": _EFF + "test_stats_page_settings",
    "refresh": _EFF + "test_stats_page_settings",
    "admin": _UNIT + "test_stats_page.py::test_html_layout_and_admin_post",
    "hide-version": _EFF + "test_stats_page_settings",
    "show-legends": _EFF + "test_stats_page_settings",
    "show-node": _EFF + "test_stats_page_settings",
    "scope": _EFF + "test_stats_page_settings",
})
STATS.no_effect("bind-process", "haproxy-py's master serves the page for all workers")
_reg(HTTP_CHECK, "checks/probes.py", {
    "send": _IT + "test_checks_checker.py::test_request_bytes_as_sample",
    "expect": _IT + "test_checks_checker.py::test_httpchk_500_is_l7sts",
    "disable-on-404": _UNIT + "test_checks_health.py::test_disable_on_404_nolb",
    "send-state": _IT + "test_checks_checker.py::test_send_state_header",
    "connect": _HTTPCHK + "test_http_check_connect_as_haproxy",
    "comment": _HTTPCHK + "test_http_check_rules_as_haproxy",
    "set-var": _HTTPCHK + "test_http_check_rules_as_haproxy",
    "set-var-fmt": _HTTPCHK + "test_http_check_rules_as_haproxy",
    "unset-var": _HTTPCHK + "test_http_check_rules_as_haproxy",
})

_reg(TCP_CHECK, "checks/tcpcheck.py", {
    "connect": _TCPCHK + "test_tcp_check_sequences_as_haproxy",
    "send": _TCPCHK + "test_tcp_check_sequences_as_haproxy",
    "send-binary": _TCPCHK + "test_tcp_check_sequences_as_haproxy",
    "send-lf": _DIFF + "test_tcpcheck_vars_vs_haproxy.py::test_log_format_rules_and_variables_as_haproxy",
    "expect": _TCPCHK + "test_tcp_check_sequences_as_haproxy",
    "comment": _TCPCHK + "test_tcp_check_sequences_as_haproxy",
    "send-binary-lf": _DIFF + "test_tcpcheck_vars_vs_haproxy.py::test_log_format_rules_and_variables_as_haproxy",
    "set-var": _DIFF + "test_tcpcheck_vars_vs_haproxy.py::test_log_format_rules_and_variables_as_haproxy",
    "set-var-fmt": _DIFF + "test_tcpcheck_vars_vs_haproxy.py::test_log_format_rules_and_variables_as_haproxy",
    "unset-var": _DIFF + "test_tcpcheck_vars_vs_haproxy.py::test_log_format_rules_and_variables_as_haproxy",
})


def check(reg: Registry[str], name: str) -> str:
    """The registry's verdict on a name: implemented / no-effect / refused / unknown."""
    return reg.status(name)

# --------------------------------------------------------------------------- h1-case-adjust
_H1C = _IT + "test_h1_case_http_error_vs_haproxy.py::"
_reg(GLOBAL, "config/build/global_.py global_kw, http/h1case.py", {
    "h1-case-adjust": _H1C + "test_h1_case_adjust_as_haproxy",
    "h1-case-adjust-file": _H1C + "test_h1_case_adjust_as_haproxy",
})
_reg(OPTION, "engine/router.py CompiledProxy, http/h1case.py adjust_head", {
    "h1-case-adjust-bogus-client": _H1C + "test_h1_case_adjust_as_haproxy",
    "h1-case-adjust-bogus-server": _H1C + "test_h1_case_adjust_as_haproxy",
})
PROXY.register("http-error", "config/build/errorfiles.py kw_http_error",
               test=_H1C + "test_http_error_as_haproxy")
