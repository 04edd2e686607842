"""Generated load-balancing scenarios through Debian's HAProxy 2.6 and haproxy-py side by side.

Each run draws ``LB_GEN_SCENARIOS`` (30) backends from a seeded generator (``LB_GEN_SEED``, printed
in every failure; ``LB_GEN_REQUESTS`` requests per phase): 2-8 servers with random weights 1-256
(all equal, sharing a factor so the map's gcd reduction matters, now and then a weight 0), sometimes
1-3 backup servers (with or without ``option allbackups``), servers with ``check`` or ``slowstart``,
the balance line in the backend or in its ``defaults`` section. Hash scenarios take every key kind
in turn (``source``, ``uri`` with ``whole``/``len N``/``depth N``, ``url_param``, ``hdr(host)`` with
or without ``use_domain_only``) and every form of the hash-type line in turn (none, the method alone,
method + function, method + function + ``avalanche``; mostly ``map-based``, some ``consistent``).
One scenario in ten is ``roundrobin`` or ``static-rr``, one in ten ``random``. The servers are
loopback HTTP backends that name themselves in ``X-Server``.

Every scenario runs three phases with fresh keys: all servers up; servers taken out on both
proxies through the stats socket (one server, or every active one when there are backups; by
``state maint``, ``state drain``, ``set weight 0`` or ``health down``, and for dynamic algorithms a
weight change on top); and the servers back. Each request must reach the same server through both
proxies, request for request. ``balance random`` cannot be compared request for request (2.6 draws
from its own PRNG): both proxies must spread its load as the consistent-hash ring it draws from
does, and keep away from the server that is out.

``hdr(host) use_domain_only``: 2.6 reads the byte just after the header value to find the last dot
(lb's keys.domain_only documents it); when Host is the last header that byte is stale buffer content
and 2.6's choice changes with earlier traffic, so the generated requests send one more header after
Host, as real clients do.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import HttpBackend, free_port, read_http_message, run_proxy, wait_files
from tests.integration.stats_client import stats_cli

pytestmark = [pytest.mark.timeout(180)]

SEED = int(os.environ.get("LB_GEN_SEED", "2606"))
N_SCENARIOS = int(os.environ.get("LB_GEN_SCENARIOS", "30"))
PER_PHASE = int(os.environ.get("LB_GEN_REQUESTS", "60"))
ACTIVE = tuple(f"s{i}" for i in range(1, 9))
BACKUP = ("b1", "b2", "b3")
FUNCTIONS = ("sdbm", "djb2", "wt6", "crc32")
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class Scenario:
    name: str
    balance: str                      # the balance line's argument
    hash_type: str                    # "" or the hash-type line's arguments
    weights: list[int]                # active servers s1..sN
    backups: list[int]                # weights of the backup servers b1..bM
    kind: str                         # which requests to generate
    param: str = ""                   # url_param name
    allbackups: bool = False
    extra: str = ""                   # parameters every server line carries (slowstart, check)
    in_defaults: bool = False         # balance and hash-type come from a defaults section
    down: str = ""                    # phase 2's CLI commands, joined by ";"
    up: str = ""                      # phase 3's CLI commands

    def config_lines(self, ports: dict[str, int], fe_port: int) -> list[str]:
        """Its own defaults section (which carries the balance when ``in_defaults``), its frontend
        and its backend."""
        lb = [f"    balance {self.balance}"] + ([f"    hash-type {self.hash_type}"] if self.hash_type else [])
        out = [f"defaults d_{self.name}", "    mode http", "    timeout connect 2s", "    timeout client 10s",
               "    timeout server 10s", "    timeout http-keep-alive 10s"]
        out += (lb if self.in_defaults else []) + [""]
        out += [f"frontend fe_{self.name}", f"    bind 127.0.0.1:{fe_port}", f"    default_backend {self.name}", ""]
        out += [f"backend {self.name}"] + ([] if self.in_defaults else lb)
        if self.allbackups:
            out.append("    option allbackups")
        for i, w in enumerate(self.weights):
            out.append(f"    server s{i + 1} 127.0.0.1:{ports[f's{i + 1}']} weight {w} {self.extra}".rstrip())
        for i, w in enumerate(self.backups):
            out.append(f"    server b{i + 1} 127.0.0.1:{ports[f'b{i + 1}']} backup weight {w} {self.extra}".rstrip())
        return out

    def describe(self) -> str:
        return (f"{self.name}: balance {self.balance} | hash-type {self.hash_type or '-'} | weights "
                f"{self.weights} backups {self.backups}{' allbackups' if self.allbackups else ''} "
                f"| {self.extra or '-'} | down [{self.down}] up [{self.up}]")


def _weights(rng: random.Random, lo: int = 2, hi: int = 8) -> list[int]:
    n = rng.randint(lo, hi)
    r = rng.random()
    if r < 0.15:
        return [rng.randint(1, 256)] * n  # all equal
    if r < 0.35:
        f = rng.choice((2, 3, 4, 8, 16))  # a common factor: the map is gcd-reduced
        ws = [f * rng.randint(1, 256 // f) for _ in range(n)]
    else:
        ws = [rng.randint(1, 256) for _ in range(n)]
        if rng.random() < 0.4:
            ws[rng.randrange(n)] = ws[rng.randrange(n)]  # some equal pair
    if n > 2 and rng.random() < 0.1:
        ws[rng.randrange(n)] = 0  # a weight-0 server: never in the table, skipped by the gcd
    return ws


def _hash_type(rng: random.Random, form: int, consistent_share: float = 0.15) -> str:
    """A hash-type line's arguments, in one of four forms taken in turn: no line at all (2.6's
    default), the method alone (``map-based``: sdbm; ``consistent``: sdbm with avalanche), the method
    and a function, the method, a function and ``avalanche``."""
    if form % 4 == 0:
        return ""
    method = "consistent" if rng.random() < consistent_share else "map-based"
    if form % 4 == 1:
        return method
    words = [method, rng.choice(FUNCTIONS)]
    if form % 4 == 3:
        words.append("avalanche")
    return " ".join(words)


HASH_KINDS = ("source", "uri", "uri whole", "uri len", "uri depth", "uri len depth", "url_param",
              "hdr(host)", "hdr(host) use_domain_only")


def _backups(rng: random.Random, sc: Scenario) -> None:
    if rng.random() < 0.3:
        sc.backups = _weights(rng, 1, len(BACKUP))
        sc.allbackups = rng.random() < 0.4


def _down_up(rng: random.Random, sc: Scenario, static: bool, turn: int) -> None:
    """Phase 2 and 3 commands; the way a server is taken out goes round with ``turn``."""
    n = len(sc.weights)
    how = ("maint", "drain", "weight", "health", "maint")[turn % 5]
    if how == "health" or rng.random() < 0.1:
        # health checks that never run within the test (the state changes come from the CLI)
        sc.extra = "check inter 1h"
    elif static and rng.random() < 0.2:
        sc.extra = "slowstart 1h"  # a static map ignores the ramp: full weight on the way up
    if sc.backups and rng.random() < 0.6:
        victims = [f"{sc.name}/s{i + 1}" for i in range(n)]  # every active server out: backups serve
    else:
        victims = [f"{sc.name}/s{rng.randint(1, n)}"]
    down, up = [], []
    for v in victims:
        if how == "weight":
            down.append(f"set weight {v} 0")
            up.append(f"set weight {v} 100%")
        elif how == "health":
            down.append(f"set server {v} health down")
            up.append(f"set server {v} health up")
        else:
            down.append(f"set server {v} state {how}")
            up.append(f"set server {v} state ready")
    if not static and rng.random() < 0.3:
        # dynamic algorithms also take any new weight: change a server's weight while one is out
        down.append(f"set weight {sc.name}/s{rng.randint(1, n)} {rng.randint(1, 256)}")
    sc.down, sc.up = ";".join(down), ";".join(up)


def scenarios(seed: int = SEED, n: int = N_SCENARIOS) -> list[Scenario]:
    rng = random.Random(seed)
    out: list[Scenario] = []
    # every key kind in turn, in a shuffled order
    kinds = [k for _ in range(n // len(HASH_KINDS) + 1) for k in rng.sample(HASH_KINDS, len(HASH_KINDS))]
    for i in range(n):
        if i % 10 == 7:
            algo = rng.choice(("roundrobin", "static-rr"))
            sc = Scenario(f"g{i}_{algo.replace('-', '_')}", algo, "", _weights(rng), [], "plain")
            _backups(rng, sc)
            _down_up(rng, sc, algo == "static-rr", i)
        elif i % 10 == 9:
            sc = Scenario(f"g{i}_random", "random", "", [w or 1 for w in _weights(rng)], [], "plain")
            victim = f"{sc.name}/s{rng.randint(1, len(sc.weights))}"
            how = rng.choice(("maint", "drain", "weight"))
            sc.down = f"set weight {victim} 0" if how == "weight" else f"set server {victim} state {how}"
            sc.up = f"set weight {victim} 100%" if how == "weight" else f"set server {victim} state ready"
        else:
            kind = kinds.pop()
            bal = kind
            if "len" in kind or "depth" in kind:
                bal = "uri"
                if "len" in kind:
                    bal += f" len {rng.randint(1, 24)}"
                if "depth" in kind:
                    bal += f" depth {rng.randint(1, 4)}"
            param = ""
            if kind == "url_param":
                param = rng.choice(("user", "id", "k" + "".join(rng.choice(ALNUM) for _ in range(3))))
                bal = f"url_param {param}"
            sc = Scenario(f"g{i}_{kind.split()[0].replace('(', '_').replace(')', '')}", bal, _hash_type(rng, i),
                          _weights(rng), [], kind, param)
            sc.in_defaults = rng.random() < 0.2
            _backups(rng, sc)
            _down_up(rng, sc, "consistent" not in sc.hash_type, i)
        out.append(sc)
    return out


# ------------------------------------------------------------------------------ request generation
Req = tuple[str, dict[str, str], str]  # path, extra headers, source address


def _word(rng: random.Random, lo: int = 1, hi: int = 8) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(rng.randint(lo, hi)))


def _path(rng: random.Random) -> str:
    path = "/" + "/".join(_word(rng, 0, 7) for _ in range(rng.randint(1, 5)))
    if rng.random() < 0.3:
        path += "/"
    if rng.random() < 0.4:
        path += "?" + "&".join(f"{_word(rng, 1, 4)}={_word(rng, 0, 6)}" for _ in range(rng.randint(1, 3)))
    return path


def make_request(rng: random.Random, sc: Scenario, i: int) -> Req:
    kind = sc.kind
    if kind == "source":
        return f"/s{i}", {}, f"127.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind.startswith("uri"):
        return _path(rng), {}, "127.0.0.1"
    if kind == "url_param":
        r = rng.random()
        p = sc.param
        if r < 0.1:
            return f"/p?other={_word(rng)}", {}, "127.0.0.1"  # key absent: round-robin fallback
        if r < 0.15:
            return f"/p?{p}=", {}, "127.0.0.1"
        if r < 0.25:
            return f"/p?{p}x={_word(rng)}&{p}={_word(rng)}", {}, "127.0.0.1"
        pre = f"{_word(rng, 1, 3)}=1&" if rng.random() < 0.3 else ""
        return f"/{_word(rng)}?{pre}{p}={_word(rng, 1, 12)}", {}, "127.0.0.1"
    if kind.startswith("hdr"):
        labels = [_word(rng, 1, 9) for _ in range(rng.randint(1, 4))]
        host = ".".join(labels)
        if rng.random() < 0.15:
            host += f":{rng.randint(1, 65535)}"
        # a header after Host: 2.6 reads the byte that follows the value (see the module doc)
        return "/h", {"Host": host, "X-After": "1"}, "127.0.0.1"
    return f"/r{i}", {}, "127.0.0.1"


# ------------------------------------------------------------------------------ the two proxies
def _config(scs: list[Scenario], ports: dict[str, int], fe: dict[str, int]) -> str:
    out = ["global", "    nbthread 1", "    stats socket @DIR@/admin.sock level admin", ""]
    for sc in scs:
        out += sc.config_lines(ports, fe[sc.name]) + [""]
    return "\n".join(out) + "\n"


@dataclass
class Side:
    fe: dict[str, int]
    sock: str


@dataclass
class Lab:
    scenarios: list[Scenario]
    haproxy: Side
    ours: Side
    log: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_haproxy_bin()
    scs = scenarios()
    bes = [HttpBackend(n).start() for n in ACTIVE + BACKUP]
    ports = {b.name: b.port for b in bes}
    taken = set(ports.values())
    fe_h: dict[str, int] = {}
    fe_o: dict[str, int] = {}
    for d in (fe_h, fe_o):
        for sc in scs:
            p = free_port()
            while p in taken:  # haproxy binds with SO_REUSEPORT: a shared port would split traffic
                p = free_port()
            taken.add(p)
            d[sc.name] = p
    last = scs[-1].name
    try:
        with contextlib.ExitStack() as st:
            ph = st.enter_context(run_proxy(_config(scs, ports, fe_h), wait_ports=[fe_h[last]], which="haproxy"))
            po = st.enter_context(run_proxy(_config(scs, ports, fe_o), wait_ports=[fe_o[last]], which="ours"))
            socks = [str(ph.workdir / "admin.sock"), str(po.workdir / "admin.sock")]
            wait_files(socks, detail=lambda: ph.stderr_text() + po.stderr_text())
            yield Lab(scs, Side(fe_h, socks[0]), Side(fe_o, socks[1]))
    finally:
        for b in bes:
            b.stop()


class Client:
    """Kept-alive connections to one frontend, one per client source address."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: dict[str, tuple[socket.socket, object]] = {}

    def get(self, path: str, headers: dict[str, str], src: str) -> str:
        h = {"Host": "test"}
        h.update(headers)
        raw = (f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n").encode()
        for attempt in (0, 1):
            c = self.conns.get(src)
            if c is None:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5, source_address=(src, 0))
                c = self.conns[src] = (s, s.makefile("rb"))
            try:
                c[0].sendall(raw)
                start, hdrs, _ = read_http_message(c[1], response=True)
            except (EOFError, OSError):
                self._close(src)
                if attempt:
                    raise
                continue
            if src != "127.0.0.1":
                self._close(src)  # one request per generated source: keep the fd count small
            if not start.startswith(b"HTTP/1.1 200"):
                return start.decode("latin-1")
            return next((v for k, v in hdrs if k.lower() == "x-server"), "?")
        raise AssertionError("unreachable")

    def _close(self, src: str) -> None:
        c = self.conns.pop(src, None)
        if c is not None:
            c[0].close()

    def close(self) -> None:
        for src in list(self.conns):
            self._close(src)


def _both(lab: Lab, sc: Scenario, reqs: list[Req], ch: Client, co: Client) -> tuple[list[str], list[str]]:
    """The same requests through both proxies, the two sequences sent concurrently (2 threads)."""
    got: dict[str, list[str]] = {}

    def run(key: str, cl: Client) -> None:
        got[key] = [cl.get(p, h, s) for p, h, s in reqs]

    t = threading.Thread(target=run, args=("h", ch))
    t.start()
    run("o", co)
    t.join(60)
    assert not t.is_alive(), f"{sc.name}: haproxy side did not finish"
    return got["h"], got["o"]


def _cli_both(lab: Lab, cmds: str) -> None:
    for cmd in filter(None, cmds.split(";")):
        rh = stats_cli(lab.haproxy.sock, cmd, encoding="latin-1")
        ro = stats_cli(lab.ours.sock, cmd, encoding="latin-1")
        assert ro == rh, f"{cmd!r}: haproxy {rh!r} ours {ro!r}"


def _mismatch(sc: Scenario, phase: str, reqs: list[Req], want: list[str], got: list[str]) -> str:
    bad = [i for i, (a, b) in enumerate(zip(want, got, strict=True)) if a != b]
    i = bad[0]
    return (f"seed {SEED} {sc.describe()}\n  phase {phase}: {len(bad)}/{len(want)} requests reached another "
            f"server; first #{i} {reqs[i]}: haproxy {want[i]} ours {got[i]}")


def _phases(sc: Scenario) -> list[tuple[str, str]]:
    return [("all up", ""), ("down", sc.down), ("back up", sc.up)]


def _run_deterministic(lab: Lab, sc: Scenario) -> list[str]:
    rng = random.Random(f"{SEED}-{sc.name}")
    ch, co = Client(lab.haproxy.fe[sc.name]), Client(lab.ours.fe[sc.name])
    errors: list[str] = []
    try:
        for phase, cmds in _phases(sc):
            _cli_both(lab, cmds)
            # round robin sequences are cheap and long: a phase covers more of a cycle
            reqs = [make_request(rng, sc, i) for i in range(PER_PHASE * (4 if sc.kind == "plain" else 1))]
            want, got = _both(lab, sc, reqs, ch, co)
            assert all(w.startswith(("s", "b")) and w != "?" for w in want), f"{sc.name}: haproxy answered {want}"
            if got != want:
                errors.append(_mismatch(sc, phase, reqs, want, got))
    finally:
        ch.close()
        co.close()
    return errors


def _random_expectation(sc: Scenario, uweights: dict[str, int]) -> dict[str, float]:
    """Share of the 32-bit hash space each server owns on the consistent-hash ring ``balance random``
    draws from, measured exactly on the ring our pure ConsistentHash builds (the chash differential
    tests hold that ring to 2.6's): a hash between two points goes to the closer one, the earlier
    one on a tie."""
    from haproxy_py.lb.hash_consistent import ConsistentHash

    class S:
        def __init__(self, name: str, puid: int, w: int) -> None:
            self.name, self.puid, self.uweight, self.backup = name, puid, w, False
            self.is_up, self.in_drain, self.maxconn, self.served = True, False, 0, 0
            self.eweight = 0

    srvs = [S(f"s{i + 1}", i + 1, uweights[f"s{i + 1}"]) for i in range(len(sc.weights))]
    ring = ConsistentHash()
    ring.init(srvs)
    keys = [k >> 32 for k in ring.act.keys]
    owners = [o.name for o in ring.act.owners]
    share: Counter[str] = Counter()
    for i, k in enumerate(keys):
        gap = (k - keys[i - 1]) % (1 << 32) if len(keys) > 1 else 1 << 32
        share[owners[i - 1]] += gap // 2
        share[owners[i]] += gap - gap // 2
    return {k: v / (1 << 32) for k, v in share.items()}


def _check_random(lab: Lab, sc: Scenario) -> list[str]:
    ch, co = Client(lab.haproxy.fe[sc.name]), Client(lab.ours.fe[sc.name])
    errors: list[str] = []
    n = 4 * PER_PHASE
    weights = {f"s{i + 1}": w for i, w in enumerate(sc.weights)}
    victim = sc.down.split()[2].split("/")[1]  # "set server be/sN state X" or "set weight be/sN 0"
    try:
        for phase, cmds in _phases(sc):
            _cli_both(lab, cmds)
            ew = dict(weights)
            if phase == "down":
                ew[victim] = 0
            expect = _random_expectation(sc, ew)
            reqs: list[Req] = [(f"/r{i}", {}, "127.0.0.1") for i in range(n)]
            want, got = _both(lab, sc, reqs, ch, co)
            for who, seq in (("haproxy", want), ("ours", got)):
                c = Counter(seq)
                for name in weights:
                    p = expect.get(name, 0.0)
                    sigma = (n * p * (1 - p)) ** 0.5
                    if abs(c[name] - n * p) > 5 * sigma + 2:
                        errors.append(f"seed {SEED} {sc.describe()}\n  phase {phase}: {who} sent {c[name]}/{n} "
                                      f"to {name}, the ring gives {p:.3f} ({dict(c)})")
    finally:
        ch.close()
        co.close()
    return errors


def test_generated_scenarios_same_server(lab: Lab) -> None:
    errors: list[str] = []
    kinds: Counter[str] = Counter()
    for sc in lab.scenarios:
        kinds[sc.kind if sc.balance != "random" else "random"] += 1
        if sc.balance == "random":
            errors += _check_random(lab, sc)
        else:
            errors += _run_deterministic(lab, sc)
    # the generator really covered what it claims (a fixed seed could drift into a narrow corner)
    assert len(kinds) >= min(len(HASH_KINDS) + 1, len(lab.scenarios) // 3), kinds
    assert not errors, f"{len(errors)} phase(s) diverged:\n" + "\n".join(errors)


def test_generator_covers_the_space() -> None:
    """The scenarios exercise map-based hashing with unequal and equal weights, a
    gcd-reducible weight set, a backup, and every kind of taking a server out."""
    scs = scenarios()
    maps = [s for s in scs if s.balance not in ("roundrobin", "static-rr", "random")
            and "consistent" not in s.hash_type]
    assert len(maps) >= 12
    forms = Counter(len(s.hash_type.split()) for s in maps)
    assert all(forms[k] >= 2 for k in range(4)), forms  # none, method alone, +function, +avalanche
    assert any(len(set(s.weights)) == 1 for s in scs)
    assert any(len(set(s.weights)) == len(s.weights) and max(s.weights) > 64 for s in maps)
    assert any(s.backups for s in maps)
    downs = " ".join(s.down for s in scs)
    for word in ("state maint", "state drain", "weight", "health down"):
        assert word in downs, word

