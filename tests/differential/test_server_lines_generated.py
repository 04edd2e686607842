"""Generated ``server``, ``bind`` and ``cookie`` lines, both programs: the ``-c`` verdict and messages.

Two generators: random server lines (addresses good and bad - port 0, ranges, offsets, names that
do not resolve, unix paths - and runs of parameters with good and bad values), and every
parameter of a list with each of a set of values (empty, junk, 0, negative, trailing junk, huge).
The classes of difference this was written for: port 0 in a server address (2.6: no port, the
client's destination port is used), the words of 2.6 for bad intervals ('agent-inter' named for
all four, two final dots), rise/fall/id/error-limit at or below 0, resolve-net networks,
agent-addr forms (inet_aton's, names resolved), a port range in an address.

Where 2.6 reads junk as a number and haproxy-py refuses it (README's differences), our message
says so ("haproxy-py refuses"): those cases may differ and are counted. Not generated here: the
"did you mean" of an unknown server keyword (2.6's choice among equally close keywords follows its
registration order, which we do not reproduce exactly), and a bad `addr` name together with a later
error on the same line (2.6 resolves it while parsing the line, we after the parse); likewise a
bind address name that does not resolve together with a bad bind parameter.

Bind lines: addresses (ports with junk, ranges, offsets, lists, unix/abns/ipv6) and parameters with
good and bad values; the classes found: 2.6's words for a port that is not a number, offsets
refused on binds, 'process' sets (their deprecation warnings, the range hint only for numbers out
of range) and 'thread' sets with a thread group, 'nice' checked against -1024..1024. Not generated:
two 'thread' words on one line (2.6 combines them into groups) and thread sets naming no thread
that exists (2.6's post-parse check against its thread count).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import compare

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))

PARAMS = ("check", "inter 2s", "inter abc", "inter", "fall 3", "fall 0", "fall", "rise 2", "rise -1", "weight 10",
          "weight 257", "weight 0", "maxconn 10", "maxqueue 5", "backup", "disabled", "cookie a", "port 80",
          "port 0", "addr 127.0.0.2", "slowstart 10s", "slowstart x", "on-error mark-down", "on-error foo",
          "on-marked-down shutdown-sessions", "error-limit 5", "error-limit 0", "observe layer7", "observe foo",
          "agent-check", "agent-port 9", "agent-inter 1s", "id 5", "id 0", "id x", "send-proxy", "send-proxy-v2",
          "init-addr last,libc,none", "init-addr foo", "resolve-prefer ipv4", "resolve-prefer x", "redir http://x",
          "track be2/s", "track nosuch", "minconn 3", "fastinter 1s", "downinter 1s", "check-send-proxy",
          "non-stick", "source 127.0.0.1", "enabled", "bogus", "pool-max-conn 5", "max-reuse 3", "ws h1", "ws bad",
          "proto h2", "proto foo", "resolve-net 10.0.0.0/8", "resolve-net 10", "agent-addr 127.1",
          "agent-addr nohost.invalid", "resolvers")
ADDRS = ("127.0.0.1:2", "127.0.0.1", "127.0.0.1:0", "localhost:80", "127.0.0.1:+1", "127.0.0.1:1-5",
         "nohost.invalid:80", "127.0.0.1:70000", "unix@/tmp/x.sock", "/tmp/x.sock", "ipv6@::1:80")
ONE = ("inter", "fastinter", "downinter", "agent-inter", "slowstart", "fall", "rise", "weight", "id", "error-limit",
       "resolve-net", "agent-addr", "observe", "on-error", "track", "cookie", "init-addr", "resolve-prefer")
VALUES = ("", "abc", "0", "-1", "1x", "99999999999", "10", "1s", "256", "10.0.0.0/33", "localhost")


def generated_case(r: random.Random, n: int) -> str:
    if r.random() < 0.5:
        ps = " ".join(r.choice(PARAMS) for _ in range(r.randrange(4)))
        line = f"server s{n} {r.choice(ADDRS)} {ps}".rstrip()
    else:
        line = f"server s{n} 127.0.0.1:2 {r.choice(ONE)} {r.choice(VALUES)}".rstrip()
    out = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s",
           "frontend f", f"    bind 127.0.0.1:{24000 + n}", "    default_backend be",
           "backend be2", "    server s 127.0.0.1:9 check", "backend be", "# generated", "    " + line]
    return "\n".join(out) + "\n"


COOKIE_OPTS = ("insert", "rewrite", "prefix", "indirect", "nocache", "postonly", "preserve", "httponly", "secure",
               "domain .x.com", "domain x.com", "domain x", "domain a_b.c", "domain x!y", "domain", "maxidle 1h",
               "maxidle x", "maxidle", "maxlife 1d", "maxlife -1", "maxlife", "dynamic", "attr SameSite=None",
               "attr a;b", "attr", "bogus", "insert rewrite", "prefix indirect", "rewrite indirect")


def cookie_case(r: random.Random, n: int) -> str:
    opts = " ".join(r.choice(COOKIE_OPTS) for _ in range(r.randrange(4)))
    line = f"cookie {r.choice(('SRV', 'SRV', 'a b', ''))} {opts}".replace("  ", " ").rstrip()
    where = r.choice(("backend", "listen", "defaults", "frontend"))
    out = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s"]
    gen = ["# generated", "    " + line]
    out += gen if where == "defaults" else []
    out += ["frontend f", f"    bind 127.0.0.1:{28000 + n}", "    default_backend be"] + (gen if where == "frontend" else [])
    out += ["backend be", "    server s 127.0.0.1:2 cookie a"] + (gen if where == "backend" else [])
    if where == "listen":
        out += ["listen l", f"    bind 127.0.0.1:{29000 + n}", "    server s 127.0.0.1:3"] + gen
    return "\n".join(out) + "\n"


BIND_PARAMS = ("accept-proxy", "backlog 10", "maxconn 10", "name x", "id 5", "id 0", "id x", "nice 10",
               "nice 2000", "nice -1025", "transparent", "defer-accept", "tfo", "v4v6", "v6only", "interface lo",
               "mss 1400", "mss abc", "tcp-ut 1s", "tcp-ut x", "process 1", "process all", "process x",
               "process 1/2", "process 1-", "process 5", "thread 1", "thread x", "thread 1/1", "thread 2/1",
               "thread /1", "thread 1-65", "thread 1,2", "thread 1/", "user root", "mode 600",
               "mode x", "level admin", "level x", "severity-output none", "severity-output x",
               "expose-fd listeners", "expose-fd x", "alpn http/1.1", "proto x", "bogus", "label x")
BIND_ADDRS = ("127.0.0.1:{p}", "127.0.0.1", "127.0.0.1:0", "*:{p}", ":{p}", "127.0.0.1:{p}-{q}",
              "127.0.0.1:{p},127.0.0.1:{q}", "unix@/tmp/hpy-gen{p}.sock", "ipv6@::1:{p}", "abns@hpy{p}",
              "127.0.0.1:99999", "127.0.0.1:x", "127.0.0.1:-5", "127.0.0.1:+5", "127.0.0.1:{p}-", "127.0.0.1:")


def bind_case(r: random.Random, n: int) -> str:
    addr = r.choice(BIND_ADDRS).format(p=26000 + n, q=26002 + n)
    ps = " ".join(r.choice(BIND_PARAMS) for _ in range(r.randrange(4)))
    line = f"bind {addr} {ps}".rstrip()
    out = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s",
           "frontend f", "# generated", "    " + line, "    default_backend be", "backend be",
           "    server s 127.0.0.1:2"]
    return "\n".join(out) + "\n"


def test_generator_is_seeded_and_varied() -> None:
    r1, r2 = random.Random(SEED), random.Random(SEED)
    a = [generated_case(r1, n) for n in range(100)]
    assert a == [generated_case(r2, n) for n in range(100)]
    assert len(set(a)) > 90 and any(":0 " in c or c.endswith(":0\n") for c in a)


@pytest.mark.needs_haproxy
def test_server_line_messages_same_as_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 13)
    o = compare(haproxy_bin, tmp_path, capsys, [generated_case(r, n) for n in range(260)])
    assert not o.diffs, o.report()
    assert o.alerts > 80 and o.valid > 40 and o.stricter < 60  # both verdicts reached; few deliberate refusals


@pytest.mark.needs_haproxy
def test_bind_line_messages_same_as_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 17)
    o = compare(haproxy_bin, tmp_path, capsys, [bind_case(r, n) for n in range(220)])
    assert not o.diffs, o.report()
    assert o.alerts > 60 and o.valid > 30 and o.stricter < 40


@pytest.mark.needs_haproxy
def test_cookie_line_messages_same_as_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``cookie`` lines in every kind of section: 2.6 still reads (and refuses) the options in a
    frontend after its warning, combines mode words and refuses incompatible ones, and words its
    domain/attr/maxidle messages its own way."""
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 19)
    o = compare(haproxy_bin, tmp_path, capsys, [cookie_case(r, n) for n in range(200)])
    assert not o.diffs, o.report()
    assert o.alerts > 60 and o.valid > 30
