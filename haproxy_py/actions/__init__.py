"""Rule actions: one registry per rule set, filled here (HAProxy's action_kw_list).

Families, exactly: ``http-request``, ``http-response``, ``http-after-response``,
``tcp-request connection``, ``tcp-request session``, ``tcp-request content``,
``tcp-response content``. Each knows every action name HAProxy 2.6 accepts in that rule set
(``known``, in 2.6's own order: the order its "expects ..." message lists them); an implemented
name is registered with its :class:`~haproxy_py.actions.base.ActionDef` and the test that
exercises it at runtime. Everything else 2.6 knows is refused by ``-c`` (``registry.refusal``).

``lookup(family, word)`` resolves a rule's action word (``set-var(txn.x)``, ``track-sc0``...) to
its 2.6 name. The engine runs compiled rule sets with :func:`~haproxy_py.actions.base.run_rules`
(see :mod:`haproxy_py.actions.rules`).
"""

from __future__ import annotations

from haproxy_py.actions import cache as C
from haproxy_py.actions import http as H
from haproxy_py.actions import resolve as _R
from haproxy_py.actions import tcp as T
from haproxy_py.actions.base import (
    BE,
    FB,
    FE,
    V_CONTINUE,
    ActionDef,
    ActionError,
    ParseCtx,
    TrailingWords,
    Verdict,
    run_rules,
)
from haproxy_py.config import keywords as K
from haproxy_py.registry import Registry

__all__ = ["ActionDef", "ActionError", "ParseCtx", "TrailingWords", "Verdict", "run_rules", "REGISTRIES", "lookup",
           "expects_list", "FE", "BE", "FB"]

_TCP_HEAD = ("accept", "reject", "capture", "expect-proxy", "expect-netscaler-cip", "track-sc(*)")
#: what 2.6 registers per tcp rule set, in the order of its "expects" message
_TCP_CONN = ("sc-inc-gpc(*)", "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)",
             "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-dst", "set-dst-port", "set-mark",
             "set-src", "set-src-port", "set-tos", "silent-drop")
_TCP_CONTENT = ("ot-group", "set-log-level", "set-nice", "switch-mode", "use-service", "sc-inc-gpc(*)",
                "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group",
                "do-resolve(*)", "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-src", "set-src-port",
                "set-dst", "set-dst-port", "set-mark", "set-tos", "silent-drop", "set-priority-class",
                "set-priority-offset")
_TCP_RESPONSE = ("accept", "close", "reject", "ot-group", "set-log-level", "set-nice", "sc-inc-gpc(*)",
                 "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group",
                 "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-mark", "set-tos", "silent-drop")

#: family -> its 2.6 names in message order
ORDERED: dict[str, tuple[str, ...]] = {
    "http-request": K.HTTP_REQUEST_ACTIONS,
    "http-response": K.HTTP_RESPONSE_ACTIONS,
    "http-after-response": ("ot-group",) + tuple(a for a in K.HTTP_AFTER_RESPONSE_ACTIONS if a != "ot-group"),
    "tcp-request connection": _TCP_HEAD + _TCP_CONN,
    "tcp-request session": _TCP_HEAD + _TCP_CONN,
    "tcp-request content": _TCP_HEAD + _TCP_CONTENT,
    "tcp-response content": _TCP_RESPONSE,
}

#: known names are spelled as 2.6's keyword dump spells them, without the "(*)" of its messages
REGISTRIES: dict[str, Registry[ActionDef]] = {
    fam: Registry(fam, f"{fam} action", known=[n.replace("(*)", "") for n in names])
    for fam, names in ORDERED.items()
}


def lookup(family: str, word: str) -> str | None:
    """The 2.6 name a rule's action word stands for (``set-var(txn.x)`` -> ``set-var``,
    ``track-sc0`` -> ``track-sc``), None when 2.6 does not know it in that rule set."""
    names = ORDERED[family]
    if word in names and not word.endswith("(*)"):
        return word
    best = None
    for n in names:
        if n.endswith("(*)") and word.startswith(n[:-3]) and (best is None or len(n) > len(best)):
            best = n
    return best[:-3] if best is not None else None


def expects_list(family: str) -> str:
    """2.6's "expects" enumeration for a tcp rule set ('track-sc0' ... 'track-sc2' spelled out)."""
    out = []
    for n in ORDERED[family]:
        out.append("'track-sc0' ... 'track-sc2'" if n == "track-sc(*)" and family.startswith("tcp-request")
                   else f"'{n}'")
    return ", ".join(out)


#: the action a no-effect name compiles to (its rule stays, so its condition is still checked)
NO_OP = H.Const(V_CONTINUE)

_D = "tests/differential/test_actions_vs_haproxy.py::"
_I = "tests/integration/test_actions.py::"


def _reg(family: str, name: str, parse: object, test: str, caps: int = FB) -> None:
    REGISTRIES[family].register(name, ActionDef(parse, caps), test=test)  # type: ignore[arg-type]


for _fam in ("http-request", "http-response", "http-after-response"):
    _side = "response_" if _fam != "http-request" else ""
    _t = _D + "test_after_response_actions" if _fam == "http-after-response" else ""
    _reg(_fam, "add-header", H.p_add_header,
         _t or _D + ("test_response_header_actions" if _side else "test_add_and_set_header"))
    _reg(_fam, "set-header", H.p_add_header,
         _t or _D + ("test_response_header_actions" if _side else "test_add_and_set_header"))
    _reg(_fam, "del-header", H.p_del_header,
         _t or _D + ("test_response_header_actions" if _side else "test_del_header_methods"))
    _reg(_fam, "replace-header", H.p_replace_header,
         _t or _D + ("test_response_header_actions" if _side else "test_replace_header_and_value"))
    _reg(_fam, "replace-value", H.p_replace_header,
         _t or _D + ("test_response_header_actions" if _side else "test_replace_header_and_value"))
    _reg(_fam, "allow", H.p_allow, _D + ("test_after_response_actions" if _t else
                                         "test_response_deny" if _side else "test_allow_stops_the_rule_set"))
for _fam in ("http-response", "http-after-response"):
    _reg(_fam, "set-status", H.p_set_status,
         _D + ("test_after_response_actions" if _fam == "http-after-response" else "test_response_set_status"))
_reg("http-response", "deny", H.p_deny, _D + "test_response_deny")
_reg("http-response", "return", H.p_return, _D + "test_response_return_and_redirect")
_reg("http-response", "silent-drop", H.p_reject, _D + "test_response_silent_drop")
_reg("http-response", "redirect", H.p_redirect, _D + "test_response_return_and_redirect")

_RQ = "http-request"
_CT = "tests/integration/test_cache_vs_haproxy.py::test_cache_as_haproxy"
_reg(_RQ, "cache-use", C.p_cache_use, _CT)
_reg("http-response", "cache-store", C.p_cache_store, _CT)
for _a in ("set-path", "set-pathq", "set-query", "set-uri", "set-method"):
    _reg(_RQ, _a, H.p_set_line, _D + "test_set_request_line")
for _a in ("replace-path", "replace-pathq", "replace-uri"):
    _reg(_RQ, _a, H.p_replace_line, _D + "test_replace_request_line")
for _a in ("set-src", "set-src-port", "set-dst", "set-dst-port"):
    _reg(_RQ, _a, H.p_set_addr, _D + "test_set_addresses")
    _reg("tcp-request content", _a, H.p_set_addr, _D + "test_tcp_content_set_src_and_log_level")
for _fam in ("http-request", "http-response", "tcp-request content"):
    _reg(_fam, "set-log-level", H.p_set_log_level, _D + "test_set_log_level")
_reg(_RQ, "set-timeout", H.p_set_timeout, _D + "test_set_timeout")
_reg(_RQ, "early-hint", H.p_early_hint, _D + "test_early_hints")
_reg(_RQ, "deny", H.p_deny, _D + "test_deny_and_deny_status")
_reg(_RQ, "auth", H.p_auth, _D + "test_auth_challenge")
_reg(_RQ, "tarpit", H.p_deny, _D + "test_tarpit")
_reg(_RQ, "reject", H.p_reject, _D + "test_reject_closes_without_response")
_reg(_RQ, "silent-drop", H.p_reject, _I + "test_silent_drop_sends_nothing")
_reg(_RQ, "redirect", H.p_redirect, _D + "test_redirect_actions")
_reg(_RQ, "return", H.p_return, _D + "test_return_action")
for _fam in ("http-request", "http-response"):  # 2.6.12 refuses them in http-after-response
    for _a in ("set-map", "del-map", "add-acl", "del-acl"):
        _reg(_fam, _a, H.p_patref_edit,
             "tests/differential/test_http_features_vs_haproxy.py::test_map_and_acl_actions_as_haproxy")
_reg(_RQ, "normalize-uri", H.p_normalize_uri,
     "tests/differential/test_http_features_vs_haproxy.py::test_normalize_uri_as_haproxy")
_reg(_RQ, "capture", H.p_capture,
     "tests/differential/test_http_features_vs_haproxy.py::test_capture_actions_as_haproxy")
_reg("http-response", "capture", H.p_capture,
     "tests/differential/test_http_features_vs_haproxy.py::test_capture_actions_as_haproxy")
_reg(_RQ, "wait-for-body", H.p_wait_for_body,
     "tests/differential/test_http_features_vs_haproxy.py::test_wait_for_body_as_haproxy")
_reg("http-response", "wait-for-body", H.p_wait_for_body,
     "tests/differential/test_response_body_vs_haproxy.py::test_response_body_fetches_and_wait_as_haproxy")
for _fam in ("http-request", "tcp-request content"):
    _reg(_fam, "do-resolve", _R.p_do_resolve,
         "tests/integration/test_resolvers.py::test_do_resolve_as_haproxy")
_reg(_RQ, "use-service", H.p_use_service, "tests/clients/test_prometheus_exporter.py::test_builtin_exporter")

for _fam in ("http-request", "http-response", "http-after-response", "tcp-request content"):
    for _a in ("set-var", "set-var-fmt", "unset-var"):
        _reg(_fam, _a, H.p_set_var, _D + "test_set_and_unset_var")

for _fam in ("tcp-request connection", "tcp-request session"):
    for _a in ("set-var", "set-var-fmt", "unset-var"):
        _reg(_fam, _a, H.p_set_var, _D + "test_connection_rules_reach_the_session", FE)
    for _a in ("set-src", "set-src-port", "set-dst", "set-dst-port"):
        _reg(_fam, _a, H.p_set_addr, _D + "test_connection_rules_reach_the_session", FE)
    _reg(_fam, "accept", T.p_accept, _D + "test_tcp_request_connection_rules", FE)
    _reg(_fam, "reject", T.p_reject, _D + "test_tcp_request_connection_rules", FE)
for _fam in ("tcp-request connection", "tcp-request session", "tcp-request content"):
    _reg(_fam, "silent-drop", H.p_reject, _D + "test_tcp_silent_drop", FE if "content" not in _fam else FB)
_reg("tcp-request connection", "expect-proxy", T.p_expect_proxy,
     "tests/differential/test_proxy_protocol_vs_haproxy.py::test_expect_proxy_rule_as_haproxy", FE)
_reg("tcp-request content", "accept", T.p_accept, _D + "test_tcp_request_content_rules")
_TRS = "tests/differential/test_tcp_response_vs_haproxy.py::test_tcp_response_content_as_haproxy"
for _n, _pf in (("accept", T.p_accept), ("reject", T.p_reject), ("close", T.p_close)):
    _reg("tcp-response content", _n, _pf, _TRS, FB)
_reg("tcp-request content", "reject", T.p_reject, _D + "test_tcp_request_content_rules")
_TRR = "tests/integration/test_tcp_response_rules_vs_haproxy.py::test_tcp_response_actions_as_haproxy"
for _a in ("set-var", "set-var-fmt", "unset-var"):
    _reg("tcp-response content", _a, H.p_set_var, _TRR, BE)
_reg("tcp-response content", "set-log-level", H.p_set_log_level, _TRR, BE)
_reg("tcp-response content", "silent-drop", H.p_reject, _TRR, BE)
_reg("tcp-request content", "switch-mode", T.p_switch_mode,
     "tests/integration/test_switch_mode_vs_haproxy.py::test_switch_mode_as_haproxy")
# 2.6 refuses every tcp-request content use-service (no native TCP service): its messages
_reg("tcp-request content", "use-service", T.p_use_service,
     "tests/integration/test_switch_mode_vs_haproxy.py::test_tcp_use_service_as_haproxy")

from haproxy_py.actions import prio as _P  # noqa: E402

for _fam in ("http-request", "tcp-request content"):
    for _a in ("set-priority-class", "set-priority-offset"):
        _reg(_fam, _a, _P.p_set_priority,
             "tests/integration/test_priority_vs_haproxy.py::test_queue_order_as_haproxy")

# set-nice: 2.6 reorders its run queue; haproxy-py's loop has none (a no-effect name whose
# argument is still checked: NO_EFFECT_ARGS)
_NICE = ("2.6 moves the stream in its scheduler's run queue; haproxy-py's event loop (uvloop or asyncio) "
         "runs ready sessions in arrival order and has no priority to change, so what is served is the same")
for _fam in ("http-request", "http-response", "tcp-request content", "tcp-response content"):
    REGISTRIES[_fam].no_effect("set-nice", _NICE)
#: no-effect names whose arguments are checked as 2.6 checks them (the parser's Action is NO_OP)
NO_EFFECT_ARGS = {"set-nice": _P.p_set_nice}

_CAP = "tests/integration/test_capture_rules_vs_haproxy.py::"
_reg("tcp-request content", "capture", T.p_capture, _CAP + "test_tcp_content_capture_as_haproxy")
_reg("http-after-response", "capture", H.p_capture, _CAP + "test_after_response_capture_as_haproxy")

# names that cannot change anything in haproxy-py: accepted with a notice (registry.no_effect)
REGISTRIES["http-request"].no_effect(
    "wait-for-handshake", "haproxy-py completes a TLS handshake before it processes the connection's first "
    "request (with allow-0rtt too: the early data wait for the handshake's end), so no request is ever "
    "processed before the end of its handshake")
_reg(_RQ, "disable-l7-retry", H.p_disable_l7_retry,
     "tests/integration/test_retry_on_vs_haproxy.py::test_retry_on_generated_as_haproxy")

# stick counters (haproxy_py/actions/stick.py, run by haproxy_py/stick/track.py)
from haproxy_py.actions import stick as _S  # noqa: E402

_STK = "tests/differential/test_stick_vs_haproxy.py::"
_reg("http-request", "track-sc", _S.p_track, _STK + "test_rate_limit_denials_as_haproxy")
_reg("http-response", "track-sc", _S.p_track, _STK + "test_http_response_tracking_as_haproxy")
for _a in ("sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0"):
    _reg("http-response", _a, _S.p_inc_gpc if "inc" in _a else _S.p_set_gpt,
         _STK + "test_http_response_tracking_as_haproxy")
for _a in ("sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1"):
    _reg("http-request", _a, _S.p_inc_gpc, _STK + "test_gpc_gpt_actions_as_haproxy")
for _a in ("sc-set-gpt", "sc-set-gpt0"):
    _reg("http-request", _a, _S.p_set_gpt, _STK + "test_gpc_gpt_actions_as_haproxy")
for _a in ("sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0"):
    _reg("tcp-response content", _a, _S.p_inc_gpc if "inc" in _a else _S.p_set_gpt,
         "tests/integration/test_tcp_response_rules_vs_haproxy.py::test_tcp_response_stick_actions_as_haproxy", BE)
# session counters (tcp-request connection/session: kept for the connection) and tcp content ones
for _fam in ("tcp-request connection", "tcp-request session", "tcp-request content"):
    _caps = FB if _fam == "tcp-request content" else FE
    _reg(_fam, "track-sc", _S.p_track, _STK + "test_tcp_tracking_as_haproxy", _caps)
    for _a in ("sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0"):
        _reg(_fam, _a, _S.p_inc_gpc if "inc" in _a else _S.p_set_gpt, _STK + "test_tcp_tracking_as_haproxy",
             _caps)
    for _a in ("sc-inc-gpc", "sc-set-gpt"):
        _reg(_fam, _a, _S.p_inc_gpc if "inc" in _a else _S.p_set_gpt,
             _STK + "test_indexed_gpc_gpt_in_tcp_rules_as_haproxy", _caps)

# socket options of the client connection (haproxy_py/actions/sockopt.py)
from haproxy_py.actions import sockopt as _SO  # noqa: E402

for _fam in ("http-request", "http-response", "tcp-request connection", "tcp-request session",
             "tcp-request content", "tcp-response content"):
    for _a in ("set-mark", "set-tos"):
        _reg(_fam, _a, _SO.p_set_mark_tos,
             "tests/integration/test_sockopts_vs_haproxy.py::test_set_mark_and_tos_as_haproxy",
             FE if _fam in ("tcp-request connection", "tcp-request session") else
             BE if _fam == "tcp-response content" else FB)
_reg(_RQ, "strict-mode", H.p_strict_mode, "tests/integration/test_strict_mode_vs_haproxy.py::test_request_strict_mode_as_haproxy")
for _fam in ("http-response", "http-after-response"):
    _reg(_fam, "strict-mode", H.p_strict_mode,
         "tests/integration/test_strict_mode_vs_haproxy.py::test_response_strict_mode_as_haproxy")
