"""Load balancing: 'balance', 'hash-type', 'hash-balance-factor'."""

from __future__ import annotations

from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.grammar import parse_int
from haproxy_py.config.model import Balance, HashType
from haproxy_py.config.tokenizer import Line


class BalanceMixin(BuilderBase):
    def kw_hash_balance_factor(self, ln: Line, p: ProxyState) -> None:
        # 2.6 reads it in any proxy without a warning
        from haproxy_py.config.grammar import c_atoi

        if len(ln.words) < 2 or not ln.words[1]:
            self.fail(ln, "'hash-balance-factor' expects an integer argument.", 0)
        v = c_atoi(ln.words[1])  # atol, as 2.6
        if v != 0 and v <= 100:
            self.fail(ln, "'hash-balance-factor' must be 0 or greater than 100.", 1)
        p.f["hash_balance_factor"] = v

    def kw_balance(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, and still reads (and later checks) the line
        w = ln.words
        if len(w) < 2:
            p.f["balance"] = Balance()
            return
        algo = w[1]
        args = w[2:]
        b: dict[str, Any] = {}
        if algo in ("roundrobin", "static-rr", "leastconn", "first", "source"):
            b["algorithm"] = algo
        elif algo == "random" or algo.startswith("random("):
            b["algorithm"] = "random"
            if algo.startswith("random("):
                v = parse_int(algo[7:-1]) if algo.endswith(")") else None
                if v is None or v < 1:
                    self.fail(ln, "balance random: draws must be a positive integer.", 1, ours=True)
                b["draws"] = v
        elif algo == "uri":
            b["algorithm"] = "uri"
            j = 0
            while j < len(args):
                a = args[j]
                if a in ("len", "depth"):
                    v = parse_int(args[j + 1]) if j + 1 < len(args) else None
                    if v is None or v < 0:
                        self.fail(ln, f"balance uri: '{a}' expects a positive integer (got "
                                  f"'{args[j + 1] if j + 1 < len(args) else ''}').", j + 2)
                    b["uri_" + a] = v
                    j += 2
                elif a == "whole":
                    b["uri_whole"] = True
                    j += 1
                elif a == "path-only":
                    b["uri_path_only"] = True
                    j += 1
                else:
                    self.fail(ln, "balance uri only accepts parameters 'len', 'depth', 'path-only', and "
                              f"'whole' (got '{a}').", j + 2)
        elif algo == "url_param":
            b["algorithm"] = "url_param"
            if not args:
                self.fail(ln, "balance url_param requires an URL parameter name.", 1)
            b["param"] = args[0]
            j = 1
            while j < len(args):
                if args[j] == "check_post":
                    b["check_post"] = True
                    if j + 1 < len(args) and parse_int(args[j + 1]) is not None:
                        b["check_post_max"] = int(args[j + 1])
                        j += 1
                    j += 1
                else:
                    self.fail(ln, f"'balance url_param' only accepts check_post modifier (got '{args[j]}').",
                              j + 2)
        elif algo.startswith("hdr(") or algo == "hdr":
            name = algo[4:-1] if algo.endswith(")") else ""
            if not name:
                self.fail(ln, "balance hdr requires an http header field name.", 1)
            b["algorithm"] = "hdr"
            b["header"] = name
            if args:
                if args[0] == "use_domain_only":
                    b["use_domain_only"] = True
                else:
                    self.fail(ln, f"'balance hdr(name)' only accepts 'use_domain_only' modifier (got "
                              f"'{args[0]}').", 2)
        elif algo.startswith("rdp-cookie"):
            b["algorithm"] = "rdp-cookie"
            if algo.startswith("rdp-cookie(") and algo.endswith(")"):
                b["rdp_cookie"] = algo[11:-1] or "mstshash"
        elif algo == "hash":
            b["algorithm"] = "hash"
            if not args:
                self.fail(ln, "balance hash requires a sample expression.", 1)
            # 2.6 compiles the expression after parsing, for the proxies only (post.py)
            b["expression"] = " ".join(args)
        else:
            self.fail(ln, K.BALANCE_MSG, 1, suggestion=did_you_mean(
                algo, ["roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param",
                       "random", "hash"]))
        p.f["balance"] = Balance(**b)

    def kw_hash_type(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, then still reads the line
        w = ln.words
        method = w[1] if len(w) > 1 else ""
        if method not in ("map-based", "consistent"):
            self.fail(ln, "'hash-type' only supports 'consistent' and 'map-based'.", 1)
        func = "sdbm"
        avalanche = False
        if len(w) > 2:
            func = w[2]
            if func not in ("sdbm", "djb2", "crc32", "wt6", "none"):
                self.fail(ln, "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.", 2)
            if len(w) > 3:
                if w[3] != "avalanche":
                    self.fail(ln, "'hash-type' only supports 'avalanche' as a modifier for hash functions.", 3)
                avalanche = True
        else:
            # no function given: sdbm, with the implicit avalanche for consistent only (2.6)
            avalanche = method == "consistent"
        p.f["hash_type"] = HashType(method, func, avalanche)
