"""Peers with several workers (``nbthread 2``): haproxy-py's first worker speaks the peers protocol
for the process (engine/tableshare.py ``join_peers``), sending every worker's data merged and
handing what a peer wrote to the other workers. Against Debian's HAProxy 2.6 on loopback:

* traffic through ``track-sc0 src`` + ``sc-inc-gpc0`` on haproxy-py, spread by the kernel over both
  workers (seeded random request counts per source), appears on 2.6 within a second with the
  counts of both workers summed (``show table`` line for line equal);
* traffic and CLI writes on 2.6 appear on haproxy-py, and every worker reads them (a fetch of the
  learned ``gpc0`` answered by worker 0 and by worker 1);
* a reload of haproxy-py (``-sf``, and a master-worker reload) keeps the full table, both workers'
  shares included: the old process teaches the new one through the local peer.

Every process is started by the test and stopped by its PID; every wait polls with a deadline.
"""

from __future__ import annotations

import contextlib
import random
import re
import signal
import socket
import time
from collections.abc import Iterator

from tests.conftest import free_port
from tests.differential.test_peers_vs_haproxy import _cfg, _lines, _wait_entry
from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli


def _workers_cfg(me: str, ports: dict[str, int], http: int, read: int, nbthread: int = 2) -> str:
    """The peers test's configuration, with ``nbthread`` workers, the worker that answered in
    ``x-w``, and a frontend reading the table without tracking (``x-g``: the source's gpc0)."""
    out = _cfg(me, ports, http)
    out = out.replace("global\n", f"global\n    nbthread {nbthread}\n", 1)
    out = out.replace("    http-request return status 200 content-type text/plain string ok\n",
                      "    http-request return status 200 content-type text/plain string ok\n"
                      "    http-after-response set-header x-w %[thread]\n", 1)
    out += (f"frontend rd\n    bind 127.0.0.1:{read}\n"
            "    http-request return status 200 content-type text/plain string ok hdr x-g %[src,table_gpc0(st)]\n"
            "    http-after-response set-header x-w %[thread]\n")
    return out


def _get(port: int, src: str) -> dict[str, str]:
    """One request from ``src``: the response's headers (lower-cased names)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(src, 0)) as c:
        c.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        data = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            data += d
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head)}


def _warm(port: int, src: str = "127.0.0.2") -> None:
    """Until both workers answered (a worker may still be starting when the master's listener
    already takes connections)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 15
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(_get(port, src)["x-w"])
        time.sleep(0.01)
    assert len(seen) == 2, seen


@contextlib.contextmanager
def _pair(nbthread: int = 2) -> Iterator[tuple[str, str, dict[str, int]]]:
    """2.6 ("hap") and haproxy-py with ``nbthread`` workers ("py") peered, once a first write
    crossed both ways; (2.6's socket, haproxy-py's master socket, ports)."""
    require_haproxy("haproxy")
    ports = {"hap": free_port(), "py": free_port()}
    hp = {"hap": free_port(), "py": free_port(), "rd_hap": free_port(), "rd_py": free_port()}
    with run_proxy(_workers_cfg("hap", ports, hp["hap"], hp["rd_hap"], 1), which="haproxy",
                   extra_args=["-L", "hap"]) as a, \
            run_proxy(_workers_cfg("py", ports, hp["py"], hp["rd_py"], nbthread), extra_args=["-L", "py"],
                      wait_ports=[hp["py"]]) as b:
        sa = admin_socket(a, detail=a.stderr_text)
        sb = admin_socket(b, detail=b.stderr_text)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            stats_cli(sb, "set table mypeers/t2 key probe-py data.gpc0 1")
            stats_cli(sa, "set table mypeers/t2 key probe-hap data.gpc0 1")
            if "probe-py" in stats_cli(sa, "show table mypeers/t2") and \
                    "probe-hap" in stats_cli(sb, "show table mypeers/t2"):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"peers never connected:\n{a.stderr_text()}\n{b.stderr_text()}")
        # both resyncs over (a teach from a peer still resyncing would replace what the test
        # counts meanwhile with what that peer knew then, in 2.6 as here)
        while time.monotonic() < deadline + 15:
            if all(int(m.group(1), 16) & 0x2 for m in (re.search(r"flags=0x([0-9a-f]+)", stats_cli(x, "show peers"))
                                                        for x in (sa, sb)) if m is not None):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(stats_cli(sb, "show peers"))
        if nbthread > 1:
            _warm(hp["py"])
            _warm(hp["rd_py"])
        yield sa, sb, hp


def _data(sock: str) -> dict[str, str]:
    return {k: v[0] for k, v in _lines(stats_cli(sock, "show table st")).items()}


def test_traffic_on_every_worker_reaches_haproxy_and_back() -> None:
    rnd = random.Random(17)
    with _pair() as (sa, sb, hp):
        # generated traffic on haproxy-py: sources with random request counts, interleaved; the
        # kernel spreads the connections over both workers
        want = {f"127.0.1.{i}": rnd.randint(1, 9) for i in range(1, 9)}
        todo = [src for src, n in want.items() for _ in range(n)]
        rnd.shuffle(todo)
        workers: dict[str, set[str]] = {}
        for src in todo:
            workers.setdefault(src, set()).add(_get(hp["py"], src)["x-w"])
        assert set().union(*workers.values()) == {"0", "1"}, workers
        t0 = time.monotonic()
        for src, n in want.items():
            line = f" server_id=0 gpc0={n} http_req_cnt={n} http_req_rate(10000)={n}"
            try:
                _wait_entry(sa, "st", src, line, timeout=5)
            except AssertionError:
                raise AssertionError((workers, stats_cli(sb, "show table st"), stats_cli(sb, "show peers"))) from None
        assert time.monotonic() - t0 < 2.0  # each was there within about a second
        # the same entries, line for line, on both sides
        ours, theirs = _data(sb), _data(sa)
        assert {k: ours[k] for k in want} == {k: theirs[k] for k in want}
        # a source whose requests both workers answered: summed, not each worker's share
        assert any(len(w) == 2 for w in workers.values()), workers
        # the other way: traffic and a CLI write on 2.6; every haproxy-py worker reads them
        for _ in range(4):
            _get(hp["hap"], "127.0.2.1")
        stats_cli(sa, "set table st key 127.0.2.2 data.gpc0 42")
        _wait_entry(sb, "st", "127.0.2.1", " server_id=0 gpc0=4 http_req_cnt=4 http_req_rate(10000)=4")
        _wait_entry(sb, "st", "127.0.2.2")
        for src, g in (("127.0.2.1", "4"), ("127.0.2.2", "42")):
            seen: dict[str, str] = {}
            deadline = time.monotonic() + 10
            while len(seen) < 2 and time.monotonic() < deadline:
                h = _get(hp["rd_py"], src)
                seen[h["x-w"]] = h["x-g"]
            assert seen == {"0": g, "1": g}, (src, seen)
        # a learned entry counted on by haproxy-py's workers: the peer's value plus ours
        for _ in range(3):
            _get(hp["py"], "127.0.2.1")
        _wait_entry(sa, "st", "127.0.2.1", " server_id=0 gpc0=7 http_req_cnt=7 http_req_rate(10000)=7")
        _wait_entry(sb, "st", "127.0.2.1", " server_id=0 gpc0=7 http_req_cnt=7 http_req_rate(10000)=7")
        # show peers on the master's socket: the first worker's sessions (its one with 2.6 up)
        out = stats_cli(sb, "show peers")
        assert re.search(r"id=hap\(remote,\w+\).*last_status=ESTA", out), out
        # a CLI write through the master (worker 0) reaches 2.6
        stats_cli(sb, "set table st key 10.7.7.7 data.gpc0 5 data.server_id 2")
        _wait_entry(sa, "st", "10.7.7.7", " server_id=2 gpc0=5 http_req_cnt=0 http_req_rate(10000)=0", timeout=2)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _reload_keeps(nbthread: int) -> None:
    """A master-worker reload (SIGUSR2): the new workers have every entry with the counts
    of every old worker (2.6 keeps running as the remote peer; it is not asked: the old
    process teaches first, and the new one checks its table equals what was there)."""
    rnd = random.Random(nbthread)
    ports = {"py": free_port(), "other": free_port()}  # the other peer never runs
    http, rd = free_port(), free_port()
    with run_proxy(_workers_cfg("py", ports, http, rd, nbthread), extra_args=["-W", "-L", "py"],
                   wait_ports=[http]) as pp:
        sock = admin_socket(pp, detail=pp.stderr_text)
        deadline = time.monotonic() + 15
        while len(_children(pp.pid)) != nbthread:
            assert time.monotonic() < deadline, "no workers"
            time.sleep(0.05)
        first = _children(pp.pid)
        if nbthread > 1:
            _warm(http)
        want = {f"127.0.3.{i}": rnd.randint(1, 6) for i in range(1, 7)}
        for src, n in want.items():
            for _ in range(n):
                _get(http, src)
        for i in range(10):
            stats_cli(sock, f"set table st key 10.8.0.{i} data.gpc0 {i} data.server_id {i % 3}")
        deadline = time.monotonic() + 5
        while True:
            before = _data(sock)
            if all(f" gpc0={n} http_req_cnt={n} " in before.get(src, "") + " " for src, n in want.items()):
                break
            assert time.monotonic() < deadline, before
            time.sleep(0.05)
        assert len(before) == 6 + 10 + (nbthread > 1)  # and _warm's source
        pp.proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 20
        while len(kids := _children(pp.pid)) < nbthread or set(kids) & set(first):
            assert time.monotonic() < deadline, ("old workers still there", kids, first, pp.stderr_text())
            time.sleep(0.05)
        got: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                got = _data(sock)
            except OSError:
                got = {}
            if {k: re.sub(r"http_req_rate\(10000\)=\d+", "", v) for k, v in got.items()} == \
                    {k: re.sub(r"http_req_rate\(10000\)=\d+", "", v) for k, v in before.items()}:
                break
            time.sleep(0.1)
        strip = re.compile(r"http_req_rate\(10000\)=\d+")
        assert {k: strip.sub("", v) for k, v in got.items()} == {k: strip.sub("", v) for k, v in before.items()}, \
            pp.stderr_text()
        if nbthread > 1:  # every new worker has them: a new request counts on from the old count
            src, n = next(iter(want.items()))
            seen: dict[str, str] = {}
            while len(seen) < 2 and time.monotonic() < deadline:
                h = _get(rd, src)
                seen[h["x-w"]] = h["x-g"]
            assert seen == {"0": str(n), "1": str(n)}, seen


def test_master_worker_reload_keeps_every_workers_entries() -> None:
    _reload_keeps(2)


def test_master_worker_reload_keeps_the_entries_one_worker() -> None:
    _reload_keeps(1)


def test_sf_reload_keeps_every_workers_entries() -> None:
    """-sf with two workers: the old process's first worker teaches the new one every entry,
    the other worker's counts included, with the expiry each had left."""
    import tempfile
    from pathlib import Path

    from tests.differential.test_peers_vs_haproxy import _answered_by, _start, _stop

    d = Path(tempfile.mkdtemp(prefix="hpy-peersw-"))
    ports = {"py": free_port(), "other": free_port()}
    http, rd = free_port(), free_port()
    cfg = d / "haproxy.cfg"
    cfg.write_text(_workers_cfg("py", ports, http, rd).replace("@DIR@", str(d)))
    sock = str(d / "admin.sock")
    procs = []
    try:
        old = _start(cfg)
        procs.append(old)
        _answered_by(Path(sock), old.pid)
        _warm(http)
        # rounds of one request per source until a source was answered by both workers (which
        # worker accepts is the kernel's choice: on a loaded machine one may take many in a row)
        workers: dict[str, set[str]] = {}
        rounds = 0
        while rounds < 6 or (not any(len(w) == 2 for w in workers.values()) and rounds < 40):
            rounds += 1
            for k in range(1, 6):
                src = f"127.0.4.{k}"
                workers.setdefault(src, set()).add(_get(http, src)["x-w"])
        assert any(len(w) == 2 for w in workers.values()), workers
        time.sleep(0.5)
        before = _lines(stats_cli(sock, "show table st"))
        want = f" gpc0={rounds} http_req_cnt={rounds} "
        assert all(want in before[f"127.0.4.{k}"][0] + " " for k in range(1, 6)), (want, before)
        new = _start(cfg, "-sf", str(old.pid))
        procs.append(new)
        _answered_by(Path(sock), new.pid)
        assert old.wait(timeout=15) == 0
        deadline = time.monotonic() + 10
        strip = re.compile(r"http_req_rate\(10000\)=\d+")
        while True:
            after = _lines(stats_cli(sock, "show table st"))
            if {k: strip.sub("", v[0]) for k, v in after.items()} == {k: strip.sub("", v[0]) for k, v in before.items()}:
                break
            assert time.monotonic() < deadline, (before, after)
            time.sleep(0.1)
        assert all(v[1] <= before[k][1] for k, v in after.items())  # the expiry left came along
    finally:
        for p in procs:
            _stop(p)
