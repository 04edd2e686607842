"""Error pages: 'errorfile'."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.grammar import parse_int
from haproxy_py.config.tokenizer import Line


class ErrorfilesMixin(BuilderBase):
    def kw_errorfile(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 3:
            self.fail(ln, "errorfile : <code> and <file> expected.", 0, ours=True)
        code = parse_int(w[1])
        if code is None or code not in K.ERRORFILE_CODES:
            self.fail(ln, f"errorfile : status code '{w[1]}' not handled.", 1)
        path = w[2]
        try:
            with open(path, "rb") as fh:
                data = fh.read(65536)
        except OSError:
            self.fail(ln, f"errorfile : error opening file '{path}'.", 2)
        if data and not data.startswith(b"HTTP/"):
            self.fail(ln, f"errorfile : '{path}': unable to parse headers (error offset: 0)", 2)
        p.errorfiles = [(c, f) for c, f in p.errorfiles if c != code] + [(code, path)]
