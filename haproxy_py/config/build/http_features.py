"""Proxy keywords of HTTP features, as HAProxy 2.6 parses them: ``monitor-uri``, ``monitor fail``,
``unique-id-format``, ``unique-id-header`` and ``option originalto``.

A mixin of the configuration builder (``config/build/``): each ``kw_NAME`` method is found by the
builder's keyword dispatch, ``opt_originalto`` by its option dispatch. Values go to ``ProxyState.f`` (so a ``defaults`` section
passes them on) and become ``Proxy`` fields when the section is frozen. The runtime is
``haproxy_py/http/features.py`` (compiled once per frontend) and ``engine/http.py``.
"""

from __future__ import annotations

from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.grammar import parse_int
from haproxy_py.config.model import OriginalTo
from haproxy_py.config.tokenizer import Line


class HttpFeaturesMixin(BuilderBase):
    """``kw_*`` handlers of the HTTP feature keywords (mixed into ``Builder``)."""

    def kw_monitor_uri(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if not p.is_defaults:
            self.capwarn(ln, p, K.FE)  # 2.6 warns, then still reads the line
        if len(w) < 2 or not w[1]:
            self.fail(ln, "'monitor-uri' expects an URI.", 0)
        self.too_many_args(ln, 1)
        p.f["monitor_uri"] = w[1]

    def kw_monitor(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if not p.is_defaults:
            self.capwarn(ln, p, K.FE)  # 2.6 warns, then still reads the line
        if len(w) < 2 or w[1] != "fail":
            self.fail(ln, "'monitor' only supports 'fail'.", min(1, len(w) - 1))
        if len(w) < 3 or w[2] not in ("if", "unless"):
            self.fail(ln, "'monitor fail' requires either 'if' or 'unless' followed by a condition.",
              min(2, len(w) - 1))
        cond = self.condition(ln, p, 2, "a 'monitor fail' condition")
        if cond is not None:
            p.f["monitor_fail"] = (*p.f.get("monitor_fail", ()), cond)

    def kw_unique_id_format(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "unique-id-format expects an argument.", 0)
        if len(w) > 2:
            self.fail(ln, "unique-id-format expects only one argument, don't forget to escape spaces!", 2)
        # 2.6 reads it in any proxy without a warning
        p.f["unique_id_format"] = w[1]
        p.f["unique_id_line"] = ln  # compiled after parsing, as 2.6 does (check_unique_id)

    def check_unique_id(self, p: ProxyState) -> None:
        """2.6 compiles unique-id-format once every section is read, for the frontends."""
        fmt, ln = p.f.get("unique_id_format"), p.f.get("unique_id_line")
        if fmt is None or ln is None or p.is_defaults or not (p.caps & K.FE):
            return
        from haproxy_py.samples import SampleError, compile_format

        try:
            with self.expressions_read() as got:
                compile_format(fmt)
            self.note_refs(ln, 1, p, got, "unique-id-format string", step="unique-id-format")
        except SampleError as e:
            self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: failed to parse unique-id : {e.message}.",
                         ln.loc(1), line=ln.raw, phase=POST)
            p.f["unique_id_format"] = None

    def kw_unique_id_header(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "unique-id-header expects an argument.", 0)
        # 2.6 reads it in any proxy without a warning
        p.f["unique_id_header"] = w[1]  # 2.6 ignores any further word

    def kw_rate_limit(self, ln: Line, p: ProxyState) -> None:
        """'rate-limit sessions N': new sessions accepted per second (engine/loop.py)."""
        w = ln.words
        if len(w) < 2 or w[1] != "sessions":
            self.fail(ln, f"'rate-limit' only supports 'sessions' (got '{w[1] if len(w) > 1 else ''}')", 1)
        if len(w) < 3:
            self.fail(ln, "'rate-limit sessions' expects expects an integer value (in sessions/second)", 1)
        v = w[2]
        bad = next((c for c in v if not c.isdigit()), None)
        if bad is not None or not v:
            self.fail(ln, f"'rate-limit sessions' : unexpected character '{bad}' in integer value '{v}'", 2)
        if not p.is_defaults and self.capwarn(ln, p, K.FE):
            return
        p.f["rate_limit_sessions"] = int(v)

    def kw_declare(self, ln: Line, p: ProxyState) -> None:
        """'declare capture request|response len N': a capture slot for capture rules."""
        from haproxy_py.config.model import Capture

        w = ln.words
        if not (p.caps & K.FE) and not p.is_defaults:
            self.fail(ln, "'declare' only available in frontend or listen section", 0)
        if len(w) < 2 or w[1] != "capture":
            self.fail(ln, f"unknown declaration type '{w[1] if len(w) > 1 else ''}' (supports 'capture')", 1)
        if len(w) < 3 or w[2] not in ("request", "response"):
            self.fail(ln, "'declare capture' requires a direction ('request' or 'response')", 2)
        if len(w) < 5 or w[3] != "len":
            self.fail(ln, "'declare capture' requires a capture length ('len')", 3)
        n = parse_int(w[4])
        if n is None or n <= 0:
            self.fail(ln, "'declare capture': cannot parse the length 'len'.", 4)
        if self.capwarn(ln, p, K.FE):
            return
        p.captures.append(Capture(f"{w[2]} slot", "", n))

    def check_capture_ids(self, ps: ProxyState) -> None:
        """2.6's post-parse check of 'capture ... id N' in a frontend: the slot must exist."""
        if not (ps.caps & K.FE) or ps.is_defaults:
            return
        for side, slot, ln in ps.f.get("capture_ids", ()):
            have = sum(1 for c in ps.captures if c.kind.startswith(side))
            if slot >= have:
                rule = "http-request" if side == "request" else "http-response"
                self.d.alert(f"Proxy '{ps.name}': unable to find capture id '{slot}' referenced by {rule} "
                             "capture rule.", ln.loc(0), line=ln.raw, phase=POST)
        if not any(r.kind == "tcp-request" and r.action == "inspect-delay" for r in ps.http_rules):
            for ln in ps.f.get("tcp_content_caps", ()):
                self.d.warning(f"{ps.type_str} '{ps.name}' : a 'tcp-request capture' rule explicitly depending on "
                               "request contents without any 'tcp-request inspect-delay' setting. This means that "
                               "this rule will randomly find its contents. This can be fixed by setting the "
                               "tcp-request inspect-delay.", ln.loc(0), line=ln.raw, phase=POST)

    def opt_originalto(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        """``option originalto [except NET] [header NAME]`` (2.6 refuses ``no option originalto``)."""
        if negate:
            p.f.pop("originalto", None)
            return
        kw: dict[str, Any] = {}
        j = 0
        while j < len(args):
            a = args[j]
            if a == "except":
                if j + 1 >= len(args) or not _is_net(args[j + 1]):
                    self.fail(ln, "'option originalto except' expects <address>[/mask] as argument.", i + 1 + j)
                kw["except_net"] = args[j + 1]
                j += 2
            elif a == "header":
                if j + 1 >= len(args):
                    self.fail(ln, "'option originalto header' expects <header_name> as argument.", i + 1 + j)
                kw["header"] = args[j + 1]
                j += 2
            else:
                self.fail(ln, "'option originalto' only supports optional values: 'except' and 'header'.",
                          i + 1 + j)
        p.f["originalto"] = OriginalTo(**kw)


def _is_net(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
