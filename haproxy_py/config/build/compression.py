"""``compression algo|type|offload`` (http/compression.py runs it), with 2.6's messages."""

from __future__ import annotations

from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.tokenizer import Line


class CompressionMixin(BuilderBase):
    def kw_compression(self, ln: Line, p: ProxyState) -> None:
        from haproxy_py.config.model import CompConf

        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        cur = p.f.get("compression") or CompConf()
        if sub == "algo":
            if len(w) < 3:
                self.fail(ln, self._p(ln) + "'compression' expects <algorithm>.", 1)
            algos = list(cur.algos)
            for i, a in enumerate(w[2:], 2):
                if a not in ("identity", "deflate", "raw-deflate", "gzip"):
                    self.fail(ln, f"'compression' : '{a}' is not a supported algorithm.", i)
                algos.insert(0, a)  # 2.6 puts each one at the head of its list
            cur = CompConf(tuple(algos), cur.types, cur.offload)
        elif sub == "type":
            if len(w) < 3:
                self.fail(ln, "'compression' expects <type>.", 1)
            types = tuple(t.encode("latin-1").lower() for t in reversed(w[2:])) + cur.types
            cur = CompConf(cur.algos, types, cur.offload)
        elif sub == "offload":
            if p.is_defaults:
                self.warn(ln, "'compression' : 'offload' ignored in 'defaults' section.", 1)
                return
            cur = CompConf(cur.algos, cur.types, True)
        else:
            self.fail(ln, "'compression' expects 'algo', 'type' or 'offload'", 1)
        p.f["compression"] = cur
