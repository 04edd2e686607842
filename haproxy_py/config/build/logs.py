"""Logging: 'log' targets (global and proxies), 'log-format', 'log-tag'."""

from __future__ import annotations

import dataclasses

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import POST, did_you_mean
from haproxy_py.config.grammar import AddressError, c_atoi_int, parse_address, read_uint
from haproxy_py.config.model import Address, LogTarget
from haproxy_py.config.tokenizer import Line, expand_address_env


class LogsMixin(BuilderBase):
    def kw_log_format(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) < 2:
            self.fail(ln, "'log-format' expects a string argument.", 0)
        if len(ln.words) > 2:
            self.fail(ln, "log-format expects only one argument, don't forget to escape spaces!", 2)
        if not p.is_defaults and not (p.caps & K.FE):
            self.warn(ln, f"{p.type_str} '{p.name}' : 'log-format' directive is ignored in backends.", 0)
            return
        p.f["log_format"] = ln.words[1]
        p.f["log_format_line"] = ln  # compiled for each frontend using it (check_log_format)
        p.f["log_style"] = "default"

    def check_log_format(self, p: ProxyState) -> None:
        """2.6 compiles a frontend's log-format once every section is read (a defaults' one in each
        frontend inheriting it), at the line that set it: an unknown variable, a malformed
        expression, or a fetch that cannot work at log time (req.hdr, path, ...) is fatal."""
        fmt = p.f.get("log_format")
        ln = p.f.get("log_format_line")
        if fmt is None or ln is None or p.is_defaults or not (p.caps & K.FE):
            return
        from haproxy_py.samples import log_format

        try:
            with self.expressions_read() as got:
                log_format(fmt)
            self.note_refs(ln, 1, p, got, "log-format string", step="log-format",
                           lineno=p.f.get("args_line", p.loc.line))
        except ValueError as e:  # log.format's LogFormatError, in 2.6's words
            msg = str(e)
            if not msg.endswith("."):
                msg += "."
            self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: failed to parse log-format : {msg}", ln.loc(1),
                         line=ln.raw, phase=POST)
            return
        if p.f.get("mode", "tcp") != "http":
            bad = http_only_var(fmt)
            if bad is not None:  # 2.6: even with a switch-mode http rule
                self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: failed to parse log-format : format variable "
                             f"'{bad}' is reserved for HTTP mode.", ln.loc(1), line=ln.raw, phase=POST)

    def kw_log_tag(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) < 2:
            self.fail(ln, "'log-tag' requires an argument.", 0)
        p.f["log_tag"] = ln.words[1]

    def parse_log(self, ln: Line, in_global: bool = False) -> LogTarget:
        """A ``log TARGET [len N] [format F] [sample R:S] FACILITY [LEVEL [MINLEVEL]]`` line, with
        2.6's order of checks and its words."""
        def log_sample(arg: str, i: int) -> tuple[tuple[tuple[int, int], ...], int]:
            """``sample RANGES:SIZE`` (``1-3,7:10``), read as 2.6 reads it: numbers as unsigned
            32-bit ones (wrapping), a range ``LO[-HI]`` with 0 < LO < HI followed by a comma or
            the end (a bad one is named with the rest of the ranges), each checked for overlap
            with the earlier ones as it is read (an earlier one strictly inside it is not seen),
            then the size."""
            ranges_text, colon, size_text = arg.partition(":")
            if not colon:
                self.fail(ln, "log : Missing sample size", i)
            ranges: list[tuple[int, int]] = []
            pos, end = 0, len(ranges_text)
            while pos != end:
                start = pos
                lo, pos = read_uint(ranges_text, pos)
                hi, ok = lo, pos > start and lo != 0
                if ok and pos < end and ranges_text[pos] == "-":
                    hi, pos = read_uint(ranges_text, pos + 1)
                    ok = hi > lo
                if not ok or (pos < end and ranges_text[pos] != ","):
                    self.fail(ln, f"log : wrong sample range '{ranges_text[start:]}'", i)
                pos += pos < end  # the comma
                if any(a <= lo <= b or a <= hi <= b for a, b in ranges):
                    self.fail(ln, "log : ranges are overlapping", i)
                ranges.append((lo, hi))
            if not ranges:
                self.fail(ln, "log : no sampling ranges given", i)
            size, pos = read_uint(size_text)
            if not size or pos != len(size_text):
                self.fail(ln, f"log : wrong sample size '{size_text}' for sample range '{ranges_text}'", i)
            top = max(hi for _, hi in ranges)
            if size < top:
                self.fail(ln, f"log : sample size {size} should be greater or equal to {top} the maximum of the "
                          "high ranges limits", i)
            return tuple(sorted(ranges)), size

        w = ln.words
        n = len(w)
        if in_global and n == 2 and w[1] == "global":
            self.fail(ln, "log : 'global' is not supported for a global syslog server", 1)
        if n < 3:
            self.fail(ln, "log : expects <address> and <facility> %s as arguments"
                      % ("" if in_global else "or global"), 0)
        target = w[1]
        length = 1024
        fmt = "rfc3164"
        sample: tuple[tuple[int, int], ...] = ()
        sample_size = 0

        def arg(k: int) -> str:
            return w[k] if k < n else ""

        # 2.6 reads the optional words in this order only, each at most once; a missing value is
        # the empty word (atoi("") is 0, an unknown format "")
        i = 2
        if arg(i) == "len":
            v = c_atoi_int(arg(i + 1))
            if not 80 <= v <= 65535:
                self.fail(ln, f"log : invalid log length '{arg(i + 1)}', must be between 80 and 65535",
                          min(i + 1, n - 1))
            length = v
            i += 2
        if arg(i) == "format":
            if arg(i + 1) not in K.LOG_FORMATS:
                self.fail(ln, f"log : unknown log format '{arg(i + 1)}'", min(i + 1, n - 1))
            fmt = arg(i + 1)
            i += 2
        if arg(i) == "sample":
            sample, sample_size = log_sample(arg(i + 1), min(i + 1, n - 1))
            i += 2
        fac = arg(i)
        if fac not in K.LOG_FACILITIES:
            self.fail(ln, f"log : unknown log facility '{fac}'", min(i, n - 1),
                      suggestion=did_you_mean(fac, K.LOG_FACILITIES) if fac else None)
        level = "debug"
        minlevel = "emerg"
        if arg(i + 1):
            level = w[i + 1]
            if level not in K.LOG_LEVELS:
                self.fail(ln, f"log : unknown optional log level '{level}'", i + 1)
        if arg(i + 2):
            minlevel = w[i + 2]
            if minlevel not in K.LOG_LEVELS:
                self.fail(ln, f"log : unknown optional minimum log level '{minlevel}'", i + 2)
        if arg(i + 3):
            self.fail(ln, f"log : cannot handle unexpected argument '{w[i + 3]}'", i + 3)
        if target in ("stdout", "stderr"):
            addr = Address(target, text=target)
        elif target.startswith("ring@"):
            addr = Address("ring", path=target[5:], text=target)
        else:
            try:
                addr, _ = parse_address(expand_address_env(target, self.env), need_port=False)
            except AddressError as e:
                self.fail(ln, f"log : {e.message}", 1)
            if addr.kind in ("ipv4", "ipv6") and not addr.port_lo:
                addr = dataclasses.replace(addr, port_lo=514, port_hi=514)
        return LogTarget(addr, fac, level, minlevel, length, fmt, ln.loc(0), sample, sample_size)

    def kw_log(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) == 2 and w[1] == "global":  # with more words, 'global' is read as an address (2.6)
            p.f["log_global"] = True
            p.logs.append(None)  # type: ignore[arg-type]  # expanded at freeze time
            return
        p.logs.append(self.parse_log(ln))

    def opt_httplog(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        # ('no option httplog' is refused before this, as 2.6)
        style = "httplog"
        if args:
            if args[0] not in ("clf", "json"):
                self.fail(ln, "keyword 'httplog' only supports option 'clf'.", i + 1)
            if args[0] == "json":  # haproxy-py's own (README, deliberate differences)
                self.d.notice(self._p(ln) + "'option httplog json': one JSON object per log line, a haproxy-py "
                              "extension (HAProxy 2.6 refuses it).", ln.loc(i + 1), line=ln.raw, ours=True)
            self.too_many_args(ln, 1, i)
            style = "httplog-" + args[0]
        p.f["log_style"] = style
        p.log_style_loc = ln.loc(0)
        p.f["httplog_line"] = ln
        if p.kind == "backend":
            self.warn(ln, f"{p.type_str} '{p.name}' : 'option httplog' directive is ignored in backends.", i)

    def opt_httpslog(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        # (2.6 takes no argument and ignores any; 'no option httpslog' is refused before this)
        if p.kind == "backend":
            self.warn(ln, f"{p.type_str} '{p.name}' : 'option httpslog' directive is ignored in backends.", i)
        p.f["log_style"] = "httpslog"
        p.log_style_loc = ln.loc(0)
        p.f["httplog_line"] = ln

    def opt_tcplog(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        style = "tcplog"
        if args and args[0] == "json" and not negate:  # haproxy-py's own (README, deliberate differences)
            self.d.notice(self._p(ln) + "'option tcplog json': one JSON object per log line, a haproxy-py "
                          "extension (HAProxy 2.6 refuses it).", ln.loc(i + 1), line=ln.raw, ours=True)
            style = "tcplog-json"
            self.too_many_args(ln, 1, i)
        else:
            self.too_many_args(ln, 0, i)
        p.f["log_style"] = "default" if negate else style
        p.log_style_loc = ln.loc(0)
        if p.kind == "backend":
            self.warn(ln, f"{p.type_str} '{p.name}' : 'option tcplog' directive is ignored in backends.", i)


#: the log-format variables 2.6 reserves for HTTP mode (refused in a TCP frontend's format)
HTTP_ONLY_VARS = frozenset({"CC", "CS", "HM", "HP", "HPO", "HQ", "HU", "HV", "r", "Tq", "TR", "Ti", "Ta", "Tr",
                            "tr", "trg", "trl"})


def http_only_var(fmt: str) -> str | None:
    """The first variable of a log-format string that 2.6 reserves for HTTP mode, or None."""
    i, n = 0, len(fmt)
    while i < n:
        c = fmt[i]
        if c == "\\":
            i += 2
            continue
        if c != "%":
            i += 1
            continue
        i += 1
        if i < n and fmt[i] == "%":
            i += 1
            continue
        if i < n and fmt[i] == "{":
            end = fmt.find("}", i)
            i = n if end < 0 else end + 1
        if i < n and fmt[i] == "[":
            end = fmt.find("]", i)
            i = n if end < 0 else end + 1
            continue
        j = i
        while j < n and fmt[j].isalpha():
            j += 1
        if fmt[i:j] in HTTP_ONLY_VARS:
            return fmt[i:j]
        i = j
    return None
