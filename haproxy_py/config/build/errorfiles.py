"""Error pages: 'errorfile', 'errorloc', 'errorloc302', 'errorloc303', 'errorfiles' and the
'http-errors' sections they name.

A proxy's pages are a list of (status, source) in the order of its lines (a later line for a status
wins, the ones inherited from defaults first): the source is an errorfile's path, the page itself
(bytes) for errorloc*, or ``("errorfiles", section, statuses, line)`` resolved once every section is
read (as 2.6 resolves them after parsing, so a section may come after the proxy naming it).
"""

from __future__ import annotations

from typing import Any

from haproxy_py.actions.base import ActionError
from haproxy_py.actions.lf import Fmt, LfPage, compile_lf, const, const_value
from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.grammar import parse_int
from haproxy_py.config.tokenizer import Line


def errorloc_page(code: int, url: str) -> bytes:
    """The page 2.6 sends for 'errorloc[302|303] <code> <url>' (its names in lower case once parsed)."""
    head = b"HTTP/1.1 303 See Other" if code == 303 else b"HTTP/1.1 302 Found"
    return (head + b"\r\ncache-control: no-cache\r\ncontent-length: 0\r\nlocation: " + url.encode("latin-1")
            + b"\r\n\r\n")


def _set(p: ProxyState, code: int, src: Any) -> None:
    p.errorfiles = [(c, f) for c, f in p.errorfiles if c != code] + [(code, src)]


def _lower_names(data: bytes) -> bytes | None:
    """An errorfile as 2.6 sends it once parsed (http-error errorfile): header names in lower
    case, the rest as written; None when it does not start with a status line and a head."""
    end = data.find(b"\r\n\r\n")
    sep = b"\r\n"
    if end < 0:
        end = data.find(b"\n\n")
        sep = b"\n"
    if not data.startswith(b"HTTP/") or end < 0:
        return None
    lines = data[:end].split(sep)
    out = [lines[0].rstrip(b"\r")]
    for ln in lines[1:]:
        name, colon, value = ln.rstrip(b"\r").partition(b":")
        if not colon:
            return None
        out.append(name.strip().lower() + b": " + value.strip())
    return b"\r\n".join(out) + b"\r\n\r\n" + data[end + 2 * len(sep):]


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

    def kw_http_error(self, ln: Line, p: ProxyState) -> None:
        """``http-error status <code> [content-type <type>] [default-errorfiles | errorfile <file> |
        file <file> | string <str> | lf-file <file> | lf-string <fmt>] [hdr <name> <fmt>]*``: the
        page the proxy answers with for that status (its own errors, deny without a reply of its
        own), as an errorfile line would set it (a later line for the status wins). The reply is
        serialised as 2.6 does: lower-case names, the 'hdr' ones, content-length, content-type;
        once when it is constant, per reply (http/errors.py LfPage) with log-format parts."""
        from haproxy_py.actions.http import reason

        w = ln.words
        pre = "http-error : "
        if len(w) < 2 or w[1] != "status":
            self.fail(ln, pre + "expects at least a <status> as arguments.", 0)
        status = 0
        ctype: str | None = None
        body_kw = ""
        body: Fmt | None = None
        page: bytes | None = None
        section = ""
        hdrs: list[tuple[bytes, Fmt]] = []
        i = 1
        while i < len(w):
            a = w[i]
            if a == "hdr":
                if i + 2 >= len(w):
                    self.fail(ln, pre + "'hdr' expects <name> and <value> as arguments", i)
                name = w[i + 1].lower()
                if name in ("content-length", "transfer-encoding", "content-type"):
                    self.warn(ln, f"header '{w[i + 1]}' always ignored by the http reply.", i + 1)
                else:
                    hdrs.append((name.encode("latin-1"), self._http_error_lf(ln, w[i + 2], i + 2)))
                i += 3
                continue
            if a not in ("status", "content-type", "default-errorfiles", "errorfile", "errorfiles", "file",
                         "lf-file", "string", "lf-string"):
                self.fail(ln, pre + f"unknown keyword '{a}'.", i)
            if a in ("default-errorfiles", "errorfile", "errorfiles", "file", "lf-file", "string", "lf-string"):
                if body_kw:
                    self.fail(ln, pre + f"unexpected '{a}' argument, '{body_kw}' already defined", i)
                body_kw = a
            if a == "default-errorfiles":
                i += 1
                continue
            if i + 1 >= len(w) or not w[i + 1]:
                arg = {"status": "<status_code>", "content-type": "<ctype>", "string": "<str>",
                       "lf-string": "<fmt>", "errorfiles": "<name>"}.get(a, "<file>")
                self.fail(ln, pre + f"'{a}' expects {arg} as argument", i)
            v = w[i + 1]
            if a == "status":
                code = parse_int(v)
                if code is None or not 200 <= code <= 599:
                    self.fail(ln, pre + f"Unexpected status code '{v}'", i + 1)
                status = code
            elif a == "content-type":
                ctype = v
            elif a == "string":
                body = const(v.encode("latin-1"))
            elif a == "lf-string":
                body = self._http_error_lf(ln, v, i + 1)
            elif a == "lf-file":
                try:
                    with open(v, "rb") as fh:
                        text = fh.read().decode("latin-1")
                except OSError:
                    self.fail(ln, pre + f"error opening file '{v}'", i + 1)
                body = self._http_error_lf(ln, text, i + 1)
            elif a == "file":
                try:
                    with open(v, "rb") as fh:
                        body = const(fh.read())
                except OSError:
                    self.fail(ln, pre + f"error opening file '{v}'", i + 1)
            elif a == "errorfile":
                try:
                    with open(v, "rb") as fh:
                        data = fh.read()
                except OSError:
                    self.fail(ln, pre + f"error opening file '{v}'.", i + 1)
                page = _lower_names(data)
                if page is None:
                    self.fail(ln, pre + f"'{v}': unable to parse headers (error offset: 0)", i + 1)
            else:  # errorfiles
                section = v
            i += 2
        if body_kw in ("errorfile", "errorfiles", "default-errorfiles"):
            if ctype is not None:
                self.warn(ln, f"content-type '{ctype}' ignored by the http reply when used with an erorrfile.", 0)
            if hdrs:
                self.warn(ln, "hdr parameters ignored by the http reply when used with an erorrfile.", 0)
        elif body is None and ctype is not None:
            self.warn(ln, f"content-type '{ctype}' ignored by the http reply because neither errorfile nor "
                      "payload defined.", 0)
            ctype = None
        elif body is not None and ctype is None:
            self.fail(ln, pre + ("a content type must be defined with a log-format payload" if body_kw.startswith("lf-")
                                 else "a content type must be defined when non-empty payload is configured"), 0)
        if status not in K.ERRORFILE_CODES:
            self.fail(ln, f"http-error: status code '{status}' not handled.", 2)
        if body_kw == "errorfiles":  # as 'errorfiles <name> <code>', the page parsed as 2.6 sends it
            p.errorfiles = p.errorfiles + [(0, ("errorfiles", section, (status,), ln, True))]
            return
        if body_kw == "default-errorfiles":
            _set(p, status, None)  # no page of its own (http/errors.py ErrorPages)
            return
        if page is None:
            lf = LfPage(b"HTTP/1.1 %d %s" % (status, reason(status)), hdrs,
                        ctype.encode("latin-1") if ctype is not None else None, body)
            consts = [const_value(f) for _n, f in hdrs] + [const_value(body) if body is not None else b""]
            # without a log-format part the page is built once
            _set(p, status, lf(None) if all(c is not None for c in consts) else lf)
            return
        _set(p, status, page)

    def _http_error_lf(self, ln: Line, text: str, i: int) -> Fmt:
        """An http-error log-format argument (lf-string, lf-file, a hdr value), compiled once."""
        try:
            return compile_lf(text, i)
        except ActionError as e:
            self.fail(ln, "http-error : " + e.message.removesuffix("."), i)
            raise  # pragma: no cover - fail() raises

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
            _kind, sec_name, codes, ln, *parsed = src
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
                page: Any = sec[c]
                if parsed:  # http-error ... errorfiles: names in lower case, as 2.6 sends them
                    try:
                        with open(page, "rb") as fh:
                            page = _lower_names(fh.read()) or page
                    except OSError:
                        pass  # the section's line read it; load_errorfile reports it at start
                out = [(x, f) for x, f in out if x != c] + [(c, page)]
        return tuple(out)
