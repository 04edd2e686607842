"""'bind' and its parameters."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config import tls as TLS
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.grammar import AddressError, parse_address, parse_int
from haproxy_py.config.model import Bind
from haproxy_py.config.tokenizer import Line, expand_address_env


class BindMixin(BuilderBase):
    def kw_bind(self, ln: Line, p: ProxyState) -> None:
        if self.capwarn(ln, p, K.FE):
            return
        self.do_bind(ln, p)

    def do_bind(self, ln: Line, p: ProxyState, offset: int = 0) -> None:
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.", 0)
        addrs = []
        for part in w[1].split(","):
            try:
                addr, _ = parse_address(expand_address_env(part, self.env), need_port=True, allow_range=True)
            except AddressError as e:
                self.fail(ln, f"'bind' : {e.message}", 1)
            addrs.append(addr)
        params: list[tuple[str, object]] = []
        j = 2
        while j < len(w):
            k = w[j]
            nargs = K.BIND_KEYWORDS.get(k)
            if nargs is None:
                sug = did_you_mean(k, list(K.BIND_KEYWORDS))
                msg = f"'bind {w[1]}' in section '{p.kind}': unknown keyword '{k}'"
                msg += f"; did you mean '{sug}' maybe ?" if sug else "."
                self.alert(ln, msg, j, suggestion=sug)
                raise _Skip
            if not self.supported(S.BIND, ln, k, j):
                j += 1 + nargs
                continue
            if nargs:
                if j + 1 >= len(w):
                    if k in TLS.MISSING:
                        self.fail(ln, f"'bind {w[1]}' in section '{p.kind}' : {TLS.MISSING[k]}", j)
                    self.fail(ln, f"'bind {w[1]}' : '{k}' : missing value.", j, ours=True)
                val: object = w[j + 1]
                if k in ("maxconn", "backlog", "id", "nice", "uid", "gid", "mss"):
                    iv = parse_int(w[j + 1])
                    if iv is None:
                        self.fail(ln, f"'bind {w[1]}' : '{k}' expects an integer argument.", j + 1)
                    val = iv
                elif k == "mode":
                    try:
                        val = int(w[j + 1], 8)
                    except ValueError:
                        self.fail(ln, f"'bind {w[1]}' : '{k}' : invalid mode '{w[j + 1]}'.", j + 1)
                params.append((k, val))
                j += 2
            else:
                params.append((k, True))
                j += 1
        tls = TLS.bind_tls(self, ln, p, params) if any(k in TLS.BIND_PARAMS for k, _ in params) else None
        p.binds.append(Bind(tuple(addrs), tuple(params), ln.loc(0), tls))
