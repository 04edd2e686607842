"""Error pages: 'errorfile', 'errorloc', 'errorloc302', 'errorloc303', 'errorfiles' and the
'http-errors' sections they name.

A proxy's pages are a list of (status, source) in the order of its lines (a later line for a status
wins, the ones inherited from defaults first): the source is an errorfile's path, the page itself
(bytes) for errorloc*, or ``("errorfiles", section, statuses, line)`` resolved once every section is
read (as 2.6 resolves them after parsing, so a section may come after the proxy naming it).
"""

from __future__ import annotations

from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.grammar import parse_int
from haproxy_py.config.tokenizer import Line


def errorloc_page(code: int, url: str) -> bytes:
    """The page 2.6 builds for 'errorloc[302|303] <code> <url>'."""
    head = b"HTTP/1.1 303 See Other" if code == 303 else b"HTTP/1.1 302 Found"
    return (head + b"\r\nCache-Control: no-cache\r\nContent-length: 0\r\nLocation: " + url.encode("latin-1")
            + b"\r\n\r\n")


def _set(p: ProxyState, code: int, src: Any) -> None:
    p.errorfiles = [(c, f) for c, f in p.errorfiles if c != code] + [(code, src)]


class ErrorfilesMixin(BuilderBase):
    def _errorfile_path(self, ln: Line, what: str, code_i: int) -> tuple[int, str]:
        w = ln.words
        code = parse_int(w[code_i])
        if code is None or code not in K.ERRORFILE_CODES:
            self.fail(ln, f"{what} : status code '{w[code_i]}' not handled.", code_i)
        path = w[code_i + 1]
        try:
            with open(path, "rb") as fh:
                data = fh.read(65536)
        except OSError:
            self.fail(ln, f"{what} : error opening file '{path}'.", code_i + 1)
        if data and not data.startswith(b"HTTP/"):
            self.fail(ln, f"{what} : '{path}': unable to parse headers (error offset: 0)", code_i + 1)
        return code, path

    def kw_errorfile(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) < 3:
            self.fail(ln, "errorfile : <code> and <file> expected.", 0, ours=True)
        code, path = self._errorfile_path(ln, "errorfile", 1)
        _set(p, code, path)

    def _errorloc(self, ln: Line, p: ProxyState, redirect: int) -> None:
        w = ln.words
        if len(w) < 3:
            self.fail(ln, f"{w[0]} : expects <status_code> and <url> as arguments.", 0)
        code = parse_int(w[1])
        if code is None or code not in K.ERRORFILE_CODES:
            self.fail(ln, f"{w[0]} : status code '{w[1]}' not handled.", 1)
        _set(p, code, errorloc_page(redirect, w[2]))

    def kw_errorloc(self, ln: Line, p: ProxyState) -> None:
        self._errorloc(ln, p, 302)

    def kw_errorloc302(self, ln: Line, p: ProxyState) -> None:
        self._errorloc(ln, p, 302)

    def kw_errorloc303(self, ln: Line, p: ProxyState) -> None:
        self._errorloc(ln, p, 303)

    def kw_errorfiles(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "errorfiles : expects <name> as argument.", 0)
        codes = []
        for i in range(2, len(w)):
            c = parse_int(w[i])
            if c is None or c not in K.ERRORFILE_CODES:
                self.fail(ln, f"errorfiles : status code '{w[i]}' not handled.", i)
            codes.append(c)
        p.errorfiles = p.errorfiles + [(0, ("errorfiles", w[1], tuple(codes), ln))]

    # ------------------------------------------------------------------ http-errors sections
    def http_errors_section(self, ln: Line, name: str) -> bool:
        """A new 'http-errors NAME' section: False (after the alert) when it has no name."""
        if not name:
            self.alert(ln, "missing name for http-errors section.", 0)
            return False
        self.http_errors.setdefault(name, {})
        return True

    def http_errors_kw(self, ln: Line, name: str) -> None:
        w = ln.words
        if w[0] != "errorfile":
            self.alert(ln, f"unknown keyword '{w[0]}' in 'http-errors' section", 0)
            return
        if len(w) < 3:
            self.alert(ln, "errorfile: expects <status_code> and <file> as arguments.", 0)
            return
        try:
            code, path = self._errorfile_path(ln, "errorfile", 1)
        except _Skip:  # reported
            return
        sec = self.http_errors.setdefault(name, {})
        sec.pop(code, None)
        sec[code] = path

    def resolve_errorfiles(self, ps: ProxyState) -> tuple[tuple[int, Any], ...]:
        """The proxy's pages with its 'errorfiles' lines expanded, as 2.6 does after parsing."""
        out: list[tuple[int, Any]] = []
        for code, src in ps.errorfiles:
            if code:
                out = [(c, f) for c, f in out if c != code] + [(code, src)]
                continue
            _kind, sec_name, codes, ln = src
            sec = self.http_errors.get(sec_name)
            if sec is None and ps.is_defaults:
                continue  # reported for each proxy that inherits it
            if sec is None:
                self.d.alert(f"proxy '{ps.name}': unknown http-errors section '{sec_name}' (at "
                             f"{ln.file}:{ln.lineno}).", ln.loc(1), line=ln.raw, phase=POST)
                continue
            for c in codes or tuple(sec):
                if c not in sec:
                    if ps.is_defaults:
                        continue
                    self.d.warning(f"config: proxy '{ps.name}' : status '{c}' not declared in http-errors "
                                   f"section '{sec_name}' (at {ln.file}:{ln.lineno}).", ln.loc(1), line=ln.raw,
                                   phase=POST)
                    continue
                out = [(x, f) for x, f in out if x != c] + [(c, sec[c])]
        return tuple(out)
