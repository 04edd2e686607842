"""``use_backend`` with a name made per request (``%[...]``), differential: the same seeded-random
requests through Debian's HAProxy 2.6 and haproxy-py, each backend answering its own name; the
backend chosen must be the same for every request. The first rule whose condition holds decides:
a name that is no backend means the default backend, the rules after it are not tried (2.6's
process_switching_rules). haproxy-py used to compare the literal text ``%[...]`` with the backend
names, so every such rule was skipped."""

from __future__ import annotations

import random

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import free_port, get, run_proxy

pytestmark = [pytest.mark.needs_haproxy]

BACKENDS = ("api", "web", "be_a", "be_b", "img", "def")
CFG = """\
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    use_backend be_%[req.hdr(x-tenant),lower] if {{ req.hdr(x-tenant) -m found }}
    use_backend %[path,field(2,/)] if {{ path_reg ^/[a-z] }}
    use_backend %[req.hdr(host),field(1,.)]
    default_backend def
""" + "".join(f"""backend {b}
    http-request return status 200 content-type text/plain string "{b}"
""" for b in BACKENDS)

WORDS = ("api", "web", "img", "def", "API", "nope", "", "a", "b", "be_a")


def requests(seed: int, n: int) -> list[tuple[str, dict[str, str]]]:
    r = random.Random(seed)
    out = []
    for _ in range(n):
        path = "/" + "/".join(r.choice(WORDS) for _ in range(r.randint(0, 3)))
        h = {"Host": f"{r.choice(WORDS) or 'x'}.example.org"}
        if r.random() < 0.3:
            h["X-Tenant"] = r.choice(("A", "b", "c", ""))
        out.append((path, h))
    return out


def run(which: str, reqs: list[tuple[str, dict[str, str]]]) -> list[tuple[int, bytes]]:
    fe = free_port()
    with run_proxy(CFG.format(fe=fe), wait_ports=[fe], which=which):
        return [get(fe, path, h)[::2] for path, h in reqs]  # (status, body)


@pytest.mark.parametrize("seed", [1, 2])
def test_dynamic_use_backend_as_haproxy(seed: int) -> None:
    require_haproxy_bin()
    reqs = requests(seed, 60)
    theirs = run("haproxy", reqs)
    ours = run("ours", reqs)
    assert [b for _, b in theirs if b != b"def"], "the generated requests reach no dynamic rule"
    diff = [(reqs[i], theirs[i], ours[i]) for i in range(len(reqs)) if theirs[i] != ours[i]]
    assert not diff, diff[:5]
