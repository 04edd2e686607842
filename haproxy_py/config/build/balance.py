"""Load balancing: 'balance', 'hash-type', 'hash-balance-factor'."""

from __future__ import annotations

import re
from typing import Any, NoReturn

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import did_you_mean
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
        """2.6's reading: the algorithm is matched on its first letters for 'random' and
        'rdp-cookie', 'hdr(' needs its ')' (anything may follow it), numbers are read as atoi
        (len/depth) or strtol (random's draws), and the words after what an algorithm takes are
        ignored, except after 'hash' and after 'url_param NAME'/'hdr(NAME)', which take one."""
        from haproxy_py.config.grammar import c_atoi

        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, and still reads (and later checks) the line
        w = ln.words
        if len(w) < 2 or not w[1]:
            p.f["balance"] = Balance()
            return
        algo = w[1]
        args = w[2:]
        b: dict[str, Any] = {}

        def bad(msg: str, i: int = 1) -> NoReturn:
            self.fail(ln, f"balance {msg}", i)

        if algo in ("roundrobin", "static-rr", "first", "leastconn"):
            b["algorithm"] = algo
        elif algo.startswith("random"):
            b["algorithm"] = "random"
            b["draws"] = 2
            if algo[6:7] == "(" and algo[7:8] != ")":
                v, rest = _strtol(algo[7:])
                if not rest.startswith(")"):
                    bad("random : missing closing parenthesis." if not rest
                        else f"random : unexpected character '{rest[0]}' after argument.")
                v = (v + 2**31) % 2**32 - 2**31  # stored in an int
                if v < 1:
                    bad("random : number of draws must be at least 1.")
                b["draws"] = v
        elif algo == "source":
            b["algorithm"] = "source"
        elif algo == "uri":
            b["algorithm"] = "uri"
            j = 0
            while j < len(args) and args[j]:
                a = args[j]
                if a in ("len", "depth"):
                    val = args[j + 1] if j + 1 < len(args) else ""
                    if not val or c_atoi(val) <= 0:
                        bad(f"uri : '{a}' expects a positive integer (got '{val}').", j + 2)
                    b["uri_" + a] = c_atoi(val)
                    j += 2
                elif a == "whole":
                    b["uri_whole"] = True
                    j += 1
                elif a == "path-only":
                    b["uri_path_only"] = True
                    j += 1
                else:
                    bad(f"uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '{a}').", j + 2)
        elif algo == "url_param":
            if not args or not args[0]:
                bad("url_param requires an URL parameter name.")
            b["algorithm"] = "url_param"
            b["param"] = args[0]
            if len(args) > 1 and args[1]:
                if args[1] != "check_post":
                    bad(f"url_param only accepts 'check_post' modifier (got '{args[1]}').", 3)
                b["check_post"] = True
        elif algo.startswith("hdr("):
            name = algo[4:].split(")", 1)[0] if ")" in algo[4:] else ""
            if not name:
                bad("hdr requires an http header field name.")
            b["algorithm"] = "hdr"
            b["header"] = name
            if args and args[0]:
                if args[0] != "use_domain_only":
                    bad(f"{algo} only accepts 'use_domain_only' modifier (got '{args[0]}').", 2)
                b["use_domain_only"] = True
        elif algo.startswith("rdp-cookie"):
            b["algorithm"] = "rdp-cookie"
            if algo[10:11] == "(":
                name = algo[11:].split(")", 1)[0] if ")" in algo[11:] else ""
                if not name:
                    bad("rdp-cookie : missing cookie name.")
                b["rdp_cookie"] = name
            elif algo[10:]:
                bad("rdp-cookie : missing cookie name.")
        elif algo == "hash":
            if not args or not args[0]:
                bad("hash requires a sample expression.")
            if len(args) > 1 and args[1]:
                bad(f"hash takes no other argument (got '{args[1]}').", 3)
            b["algorithm"] = "hash"
            # 2.6 compiles the expression after parsing, for the proxies only (post.py)
            b["expression"] = args[0]
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
        if method == "avalanche":
            self.fail(ln, "experimental feature 'hash-type avalanche' is not supported anymore, please use "
                      "'hash-type map-based sdbm avalanche' instead.", 1)
        if method not in ("map-based", "consistent"):
            self.fail(ln, "'hash-type' only supports 'consistent' and 'map-based'.", 1)
        func = "sdbm"
        avalanche = False
        if len(w) > 2:
            func = w[2]
            if func not in ("sdbm", "djb2", "crc32", "wt6"):  # ('none' came with 2.7)
                self.fail(ln, "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.", 2)
            if len(w) > 3:
                if w[3] != "avalanche":
                    self.fail(ln, "'hash-type' only supports 'avalanche' as a modifier for hash functions.", 3)
                avalanche = True
        else:
            # no function given: sdbm, with the implicit avalanche for consistent only (2.6)
            avalanche = method == "consistent"
        p.f["hash_type"] = HashType(method, func, avalanche)


def _strtol(text: str) -> tuple[int, str]:
    """C's strtol(text, &end, 0): the value and what follows it (the whole text when no number
    starts it)."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if m is None:
        return 0, text
    digits = m.group(2)
    v = int(digits, 16) if digits[:2].lower() == "0x" else int(digits, 8) if digits.startswith("0") else int(digits)
    v = -v if m.group(1) == "-" else v
    return max(min(v, 2**63 - 1), -2**63), text[m.end():]
