"""'server', 'server-template', 'default-server' and the server parameters."""

from __future__ import annotations

import dataclasses
from typing import Any, NoReturn

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config import tls as TLS
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import POST, did_you_mean
from haproxy_py.config.grammar import AddressError, parse_address, parse_int, parse_time
from haproxy_py.config.grammar import c_atoi as _atoi
from haproxy_py.config.model import ServerConf
from haproxy_py.config.tokenizer import Line, expand_address_env

#: what 'proxy-v2-options' accepts in 2.6
PP2_OPTIONS = ("ssl", "cert-cn", "ssl-cipher", "cert-sig", "cert-key", "authority", "crc32c", "unique-id")
_SERVER_FIELDS = tuple(f.name for f in dataclasses.fields(ServerConf))



#: the server keywords in the order 2.6 compares them for "did you mean" (the first of equally close
#: ones wins: its TLS keywords register ssl-min-ver before ssl-max-ver), then some values it offers
_SUGGESTED = sorted(K.SERVER_KEYWORDS, key=lambda k: (k.replace("ssl-min-ver", "ssl-max-ver"), k != "ssl-min-ver")) \
    + ["ipv4", "ipv6", "legacy", "octet-count", "fail-check", "sudden-death", "mark-down"]  # values it offers too
#: 2.6's words for a server parameter given without its value (the TLS ones: config/tls.py)
_MISSING = {
    "slowstart": "unexpected character '.",  # 2.6 prints the NUL it found, which ends its message
    "addr": "'addr' expects <ipv4|ipv6> as argument..", "agent-addr": "'agent-addr' expects an address as argument..",
    "agent-inter": "'agent-inter' expects a delay as argument..",
    "agent-port": "'agent-port' expects a port number as argument..",
    "agent-send": "'agent-send' expects a string as argument..", "check-proto": "'check-proto' : missing value.",
    "cookie": "'cookie' expects <value> as argument..", "downinter": "'downinter' expects a delay as argument..",
    "error-limit": "'error-limit' expects an integer argument..", "fall": "'fall' expects an integer argument..",
    "fastinter": "'fastinter' expects a delay as argument..", "id": "'id' : expects an integer argument.",
    "inter": "'inter' expects a delay as argument..",
    "log-proto": "'log-proto' expects one of 'legacy' or 'octet-count' but got ''.",
    "max-reuse": "'max-reuse' expects <value> as argument..", "namespace": "'namespace' : expects <name> as argument.",
    "observe": "'observe' expects <mode> as argument..",
    "on-error": "'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got ''.",
    "on-marked-down": "'on-marked-down' expects 'shutdown-sessions' but got ''.",
    "on-marked-up": "'on-marked-up' expects 'shutdown-backup-sessions' but got ''.",
    "pool-low-conn": "'pool-low-conn' expects <value> as argument..",
    "pool-max-conn": "'pool-max-conn' expects <value> as argument..",
    "pool-purge-delay": "'pool-purge-delay' expects <value> as argument..",
    "port": "'port' expects a port number as argument..", "proto": "'proto' : missing value.",
    "redir": "'redir' expects <prefix> as argument..", "resolve-net": "'resolve-net' expects a list of networks..",
    "resolve-prefer": "'resolve-prefer' expects either ipv4 or ipv6 as argument..",
    "rise": "'rise' expects an integer argument..", "socks4": "'socks4' expects <addr>:<port> as argument..",
    "source": "'source' expects <addr>[:<port>[-<port>]], and optionally 'usesrc' <addr>, and 'interface' <name> as "
              "argument..",
    "track": "'track' expects [<proxy>/]<server> as argument..",
    "usesrc": "'usesrc' only allowed after a 'source' statement..",
    "npn": "'npn' : missing the comma-delimited NPN protocol suite.", "tcp-ut": "'tcp-ut' : missing TCP User Timeout value.", "ws": "'ws' has to be 'auto', 'h1' or 'h2'.",
}
#: ... and those it reads as 0 or empty when their value is missing (haproxy-py refuses them)
_EMPTY_OK = ("weight", "maxconn", "minconn", "maxqueue", "init-addr", "resolve-opts")

class ServersMixin(BuilderBase):
    def kw_server(self, ln: Line, p: ProxyState) -> None:
        if not (p.caps & K.BE):
            self.d.alert(f"[{ln.file}:{ln.lineno}] : parsing [{ln.file}:{ln.lineno}] : 'server' not allowed "
                         f"because {p.type_str} '{p.name}' has no backend capability.", ln.loc(0), line=ln.raw)
            raise _Skip
        self.server_line(ln, p, default=False)

    def kw_server_template(self, ln: Line, p: ProxyState) -> None:
        """``server-template PREFIX N[-M] FQDN[:PORT] [params]``: servers PREFIXN..PREFIXM sharing one
        name (A/AAAA records, or SRV records when it starts with '_'), filled in by resolvers."""
        from haproxy_py.config.resolvers import template_range

        w = ln.words
        if not (p.caps & K.BE):
            self.d.alert(f"[{ln.file}:{ln.lineno}] : parsing [{ln.file}:{ln.lineno}] : 'server-template' not "
                         f"allowed because {p.type_str} '{p.name}' has no backend capability.", ln.loc(0), line=ln.raw)
            raise _Skip
        if len(w) < 4:
            self.alert(ln, "'server-template' expects <prefix> <nb_servers> <fqdn>[:<port>] as arguments.", 0)
            raise _Skip
        rng = template_range(w[2])
        if isinstance(rng, str):
            self.alert(ln, f"'server-template {w[1]}' : {rng}", 2)
            raise _Skip
        lo, hi = rng
        for i in range(lo, hi + 1):
            sub = Line(["server", f"{w[1]}{i}", *w[3:]], [ln.cols[0], ln.cols[1], *ln.cols[3:]], ln.file,
                       ln.lineno, ln.raw)
            before = len(p.servers)
            self.server_line(sub, p, default=False)
            if len(p.servers) > before:
                sc = p.servers[-1]
                p.servers[-1] = dataclasses.replace(sc, extra=(*sc.extra, ("server-template", f"{w[1]}@{w[3]}")))

    def kw_default_server(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and not (p.caps & K.BE):
            self.d.alert(f"[{ln.file}:{ln.lineno}] : parsing [{ln.file}:{ln.lineno}] : 'default-server' not "
                         f"allowed because {p.type_str} '{p.name}' has no backend capability.", ln.loc(0),
                         line=ln.raw)
            raise _Skip
        self.server_line(ln, p, default=True)

    def server_line(self, ln: Line, p: ProxyState, default: bool) -> None:
        w = ln.words
        pre = f"[{ln.file}:{ln.lineno}] : "

        def sfail(msg: str, i: int, **kw: Any) -> NoReturn:
            self.d.alert(pre + msg, ln.loc(i), line=ln.raw, **kw)
            raise _Skip

        base = p.default_server
        if default:
            s = {f: getattr(base, f) for f in _SERVER_FIELDS}
            j = 1
            label = "'default-server'"
        else:
            if len(w) < 3:
                sfail("'server' expects <name> and <addr>[:<port>] as arguments.", 0)
            name = w[1]
            s = {f: getattr(base, f) for f in _SERVER_FIELDS}
            s["name"] = name
            s["loc"] = ln.loc(1)
            label = f"'server {p.name}/{name}'"
            try:
                addr, off = parse_address(expand_address_env(w[2], self.env), need_port=False,
                                          allow_offset=True)
            except AddressError as e:  # 2.6 ends this one with a new line on a server line
                sfail(f"{label} : {e.message}" + ("\n" if e.message.startswith("invalid character") else ""), 2)
            s["address"] = addr
            s["port_offset"] = off
            j = 3
        extra = list(s["extra"])
        own = len(extra)
        nm = s.get("name", "")
        while j < len(w):
            k = w[j]
            nargs = K.SERVER_KEYWORDS.get(k)
            if nargs is None:
                sug = did_you_mean(k, _SUGGESTED)
                msg = f"{label} : unknown keyword '{k}'"
                msg += f"; did you mean '{sug}' maybe ?" if sug else "."
                sfail(msg, j, suggestion=sug)
            if nargs and j + 1 >= len(w):
                if k == "resolvers":  # 2.6 takes the empty name, then finds no such section after parsing
                    extra.append((k, ""))
                    j += 1
                    continue
                if k in TLS.SERVER_MISSING:
                    sfail(f"{label} : {TLS.SERVER_MISSING[k]}", j)
                if k == "proxy-v2-options":
                    sfail(f"{label} : '' : proxy v2 option not implemented.", j)
                if k in _MISSING:
                    sfail(f"{label} : {_MISSING[k]}", j)
                if k in _EMPTY_OK:  # 2.6 takes the missing value as 0 or empty
                    sfail(f"{label} : '{k}' expects an argument; HAProxy 2.6 takes it as empty or 0 silently, "
                          "haproxy-py refuses it.", j, ours=True)
                sfail(f"{label} : '{k}' expects an argument.", j)
            arg = w[j + 1] if nargs else ""
            if not self.supported(S.SERVER, ln, k, j):
                j += 1 + nargs
                continue
            if k == "init-addr":
                from haproxy_py.config.resolvers import check_init_addr

                err = check_init_addr(arg)
                if err is not None:
                    sfail(f"{label} : {err}", j + 1)
            if k == "resolve-opts":
                from haproxy_py.config.resolvers import check_resolve_opts

                err = check_resolve_opts(arg)
                if err is not None:
                    sfail(f"{label} : {err}", j + 1)
            if k == "resolve-net":
                from haproxy_py.config.resolvers import check_resolve_net

                err = check_resolve_net(arg)
                if err is not None:
                    sfail(f"{label} : {err}", j + 1)
            if k == "resolve-prefer" and arg not in ("ipv4", "ipv6"):
                sfail(f"{label} : '{k}' expects either ipv4 or ipv6 as argument..", j + 1)
            if k == "weight":
                v = parse_int(arg)
                if v is None:
                    sfail(f"{label} : weight of server {nm} is not an integer ('{arg}'); HAProxy 2.6 takes it "
                          "as 0 silently, haproxy-py refuses it.", j + 1, ours=True)
                if not 0 <= v <= 256:  # 2.6 shows the value as its int holds it
                    sfail(f"{label} : weight of server {nm} is not within 0 and 256 "
                          f"({(v + 2**31) % 2**32 - 2**31})..", j + 1)
                s["weight"] = v
            elif k in ("inter", "fastinter", "downinter", "slowstart", "agent-inter"):
                tv = parse_time(arg)
                # 2.6 names 'agent-inter' in this message for all four check intervals, and ends it
                # with two dots; its overflow message says "timer overflow" except for slowstart
                named = "slowstart" if k == "slowstart" else "agent-inter"
                if tv.error == "junk" or tv.error == "empty":
                    sfail(f"{label} : unexpected character '{tv.char}' in '{named}' argument of server {nm}..",
                          j + 1)
                if tv.error == "overflow":
                    sfail(f"{label} : {'' if k == 'slowstart' else 'timer '}overflow in argument <{arg}> to <{k}> "
                          f"of server {nm}, maximum value is 2147483647 ms (~24.8 days)..", j + 1)
                if tv.value == 0 and k != "slowstart":
                    sfail(f"{label} : invalid value 0 for argument '{k}' of server {nm}..", j + 1)
                s[k.replace("-", "_")] = tv.value
            elif k == "pool-purge-delay":
                tv = parse_time(arg)
                if tv.error == "junk" or tv.error == "empty":
                    sfail(f"{label} : unexpected character '{tv.char}' in argument to <{k}>..", j + 1)
                if tv.error == "overflow":
                    sfail(f"{label} : timer overflow in argument '{arg}' to '{k}' (maximum value is 2147483647 ms "
                          "or ~24.8 days).", j + 1)
                s["pool_purge_delay"] = tv.value
            elif k == "pool-low-conn":
                v = parse_int(arg)
                if v is None or v < 0:
                    sfail(f"{label} : '{k}' expects a positive integer (got '{arg}'); HAProxy 2.6 takes junk as "
                          "0 and a negative number as a huge one silently, haproxy-py refuses it.", j + 1, ours=True)
                s["pool_low_conn"] = v
            elif k in ("rise", "fall"):
                v = parse_int(arg)
                if v is None and _atoi(arg) > 0:
                    sfail(f"{label} : '{k}' expects an integer (got '{arg}'); haproxy-py refuses junk that "
                          "HAProxy 2.6 takes as 0.", j + 1, ours=True)
                if v is None or v <= 0:
                    sfail(f"{label} : '{k}' has to be > 0..", j + 1)
                s[k] = v
            elif k in ("maxconn", "maxqueue", "minconn", "error-limit"):
                if k == "error-limit" and _atoi(arg) <= 0:
                    sfail(f"{label} : error-limit has to be > 0..", j + 1)
                v = parse_int(arg)
                if v is None or v < 0:
                    sfail(f"{label} : '{k}' expects a positive integer (got '{arg}'); HAProxy 2.6 takes junk as "
                          "0 silently, haproxy-py refuses it.", j + 1, ours=True)
                s[k.replace("-", "_")] = v
            elif k == "pool-max-conn":
                v = parse_int(arg)
                if v is None:
                    sfail(f"{label} : '{k}' expects an integer (got '{arg}'); HAProxy 2.6 takes junk as 0 "
                          "silently, haproxy-py refuses it.", j + 1, ours=True)
                if v < -1:
                    sfail(f"{label} : '{k}' must be >= -1.", j + 1)
                s["pool_max_conn"] = v
            elif k in ("port", "agent-port"):
                v = parse_int(arg)
                if v is None or not 0 <= v <= 65535:  # 2.6 reads any text as a number (0: no port)
                    sfail(f"{label} : '{k}' expects a port number (got '{arg}'); HAProxy 2.6 takes junk "
                          "silently, haproxy-py refuses it.", j + 1, ours=True)
                s["check_port" if k == "port" else "agent_port"] = v or None
            elif k == "addr":
                s["check_addr"] = expand_address_env(arg, self.env)
            elif k in ("agent-addr", "agent-send"):
                from haproxy_py.addresses import libc_resolve
                from haproxy_py.config.agent import parse_server_param

                def resolve(host: str) -> str | None:
                    r = libc_resolve(host, 0)
                    return r[1] if r else None

                err, value = parse_server_param(k, arg, resolve)
                if err:
                    sfail(f"{label} : {err}", j + 1)
                s[k.replace("-", "_")] = value
            elif k == "id":
                v = parse_int(arg)
                if v is None and _atoi(arg) > 0:
                    sfail(f"{label} : 'id' : custom id has to be an integer (got '{arg}'); HAProxy 2.6 reads "
                          "its leading digits, haproxy-py refuses it.", j + 1, ours=True)
                if v is None or v <= 0:
                    sfail(f"{label} : 'id' : custom id has to be > 0.", j + 1)
                if not default:
                    prev = p.server_ids.get(v)
                    if prev is not None:
                        sfail(f"{label} : 'id' : custom id {v} already used at {prev[0].file}:{prev[0].line} "
                              f"('server {prev[1]}').", j + 1)
                s["id"] = v
            elif k == "cookie":
                s["cookie"] = arg
            elif k == "observe":
                if arg not in ("layer4", "layer7", "none"):
                    sfail(f"{label} : 'observe' expects one of 'none', 'layer4', 'layer7' but got '{arg}'.", j + 1)
                s["observe"] = None if arg == "none" else arg
            elif k == "on-error":
                if arg not in ("fastinter", "fail-check", "sudden-death", "mark-down"):
                    sfail(f"{label} : 'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or "
                          f"'mark-down' but got '{arg}'.", j + 1)
                s["on_error"] = arg
            elif k == "on-marked-down":
                if arg != "shutdown-sessions":
                    sfail(f"{label} : 'on-marked-down' expects 'shutdown-sessions' but got '{arg}'.", j + 1)
                s["on_marked_down"] = arg
            elif k == "on-marked-up":
                if arg != "shutdown-backup-sessions":
                    sfail(f"{label} : 'on-marked-up' expects 'shutdown-backup-sessions' but got '{arg}'.", j + 1)
                s["on_marked_up"] = arg
            elif k == "track":
                s["track"] = arg
            elif k == "socks4":
                import ipaddress

                host, sep, sport = arg.rpartition(":")
                if not sep:
                    sfail(f"{label} : 'socks4 {arg}' : missing port specification in '{arg}'.", j + 1)
                try:
                    ipaddress.IPv4Address(host)
                    sp = int(sport)
                    if not 0 < sp < 65536:
                        raise ValueError
                except ValueError:
                    sfail(f"{label} : \n  'socks4 {arg}' : invalid address: '{host}' in '{arg}'", j + 1)
                s["socks4"] = (host, sp)
            elif k == "check-via-socks4":
                s["check_via_socks4"] = True
            elif k in ("tfo", "no-tfo"):
                s["tfo"] = k == "tfo"
            elif k == "check-proto":
                from haproxy_py.config.tcpcheck import MUX_MODES

                if arg not in MUX_MODES:
                    sfail(f"{label} : 'check-proto' :  unknown MUX protocol '{arg}'.", j + 1)
                s["check_proto"] = arg
            elif k == "proto":
                if arg not in ("h1", "h2", "fcgi"):
                    sfail(f"{label} : 'proto' :  unknown MUX protocol '{arg}'.", j + 1)
                if arg == "h2":
                    from haproxy_py.registry import not_implemented

                    sfail(f"{label} : " + not_implemented("'proto h2'", "HTTP/1.1 to servers"), j + 1)
                s["proto"] = None if arg == "h1" else arg
            elif k == "redir":
                s["redir"] = arg
            elif k in ("backup", "check", "disabled", "send-proxy", "send-proxy-v2", "check-send-proxy",
                       "agent-check"):
                s[k.replace("-", "_")] = True
            elif k in ("no-backup", "no-check", "no-send-proxy", "no-send-proxy-v2", "no-agent-check",
                       "no-check-send-proxy"):
                s[k[3:].replace("-", "_")] = False
            elif k in ("send-proxy-v2-ssl", "send-proxy-v2-ssl-cn"):
                # 2.6: v2 with the SSL TLV (and its CN sub-TLV)
                s["send_proxy_v2"] = True
                s["pp_opts"] = tuple(sorted(set(s["pp_opts"]) | ({"ssl", "cert-cn"} if k.endswith("cn") else {"ssl"})))
            elif k in ("no-send-proxy-v2-ssl", "no-send-proxy-v2-ssl-cn"):
                s["send_proxy_v2"] = False
                s["pp_opts"] = tuple(o for o in s["pp_opts"]
                                     if o not in (("ssl", "cert-cn") if k.endswith("cn") else ("ssl",)))
            elif k == "proxy-v2-options":
                opts = set(s["pp_opts"])
                for o in arg.split(","):
                    if o not in PP2_OPTIONS:
                        sfail(f"{label} : '{o}' : proxy v2 option not implemented.", j + 1)
                    opts.add(o)
                    if o in ("cert-cn", "cert-key", "cert-sig", "ssl-cipher"):  # they imply ssl
                        opts.add("ssl")
                s["pp_opts"] = tuple(sorted(opts))
            elif k == "enabled":
                s["disabled"] = False
            else:
                extra.append((k, arg if nargs else True))
            j += 1 + nargs
        s["extra"] = tuple(extra)
        if not default and s["agent_check"] and not s["agent_port"]:
            sfail(f"{label} : server {nm} does not have agent port. Agent check has been disabled.", 1)
        s["tls"] = TLS.server_tls(self, ln, p, label, extra, own, default)
        if default:
            s["name"] = ""
            s["address"] = None
            p.default_server = ServerConf(**s)
            return
        name = s["name"]
        prev_line = p.server_names.get(name)
        if prev_line is not None:
            # HAProxy detects this after parsing: no "Error(s) found in configuration file" line
            self.d.alert(self._p(ln) + f"{p.type_str} '{p.name}', another server named '{name}' was already "
                         f"defined at line {prev_line}, please use distinct names.", ln.loc(1), line=ln.raw,
                         phase=POST)
            raise _Skip
        p.server_names[name] = ln.lineno
        if s["id"] is not None:
            p.server_ids[s["id"]] = (ln.loc(0), name)
        p.servers.append(ServerConf(**s))
        self._server_lines[(p.name, name)] = ln
