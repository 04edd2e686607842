"""The peers protocol codec (haproxy_py/stick/peers.py) against Debian's HAProxy 2.6 itself: the
test plays the remote peer over loopback, with the codec only (no peers section in haproxy-py
yet). 2.6 -> codec: what 2.6 pushes after ``set table`` is decoded into tables that ``show
table`` then prints as 2.6 prints its own. codec -> 2.6: definitions and updates the codec
encodes appear in 2.6's ``show table``."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator

from haproxy_py.stick import cli as stk_cli
from haproxy_py.stick import peers as P
from haproxy_py.stick.config import parse_stick_table
from haproxy_py.stick.table import StickTable
from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

TABLES = {
    "t": "stick-table type ip size 10 expire 30s store gpc0,http_req_rate(10s),server_id,conn_cnt",
    "s": "stick-table type string len 8 size 10 store conn_cnt,bytes_out_cnt,gpt0",
    "n": "stick-table type integer size 10 store http_req_cnt,sess_rate(5s)",
}


def _cfg(hap: int, py: int) -> str:
    out = ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n"
           "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
           f"peers mypeers\n    peer hap 127.0.0.1:{hap}\n    peer py 127.0.0.1:{py}\n")
    for name, line in TABLES.items():
        out += f"backend {name}\n    {line} peers mypeers\n"
    return out


def _local() -> dict[str, StickTable]:
    return {name: StickTable(parse_stick_table(line.split(), name)[0]) for name, line in TABLES.items()}


def _mask(text: str) -> str:
    return re.sub(r" exp=\d+", " exp=E", re.sub(r"0x[0-9a-f]+:", "0xADDR:", text))


def _now() -> int:
    return int(time.monotonic() * 1000)


SETS = ["set table t key 10.1.2.3 data.gpc0 7 data.http_req_rate 5 data.server_id 3 data.conn_cnt 300",
        "set table t key 10.1.2.4 data.conn_cnt 100000",
        "set table s key abcdef data.conn_cnt 2 data.bytes_out_cnt 5000000000 data.gpt0 9",
        "set table n key 4000000000 data.http_req_cnt 12 data.sess_rate 3"]


@contextlib.contextmanager
def _haproxy(hap: int, py: int) -> Iterator[str]:
    require_haproxy("haproxy")
    with run_proxy(_cfg(hap, py), wait_ports=[hap], which="haproxy", extra_args=["-L", "hap"]) as pp:
        yield admin_socket(pp, detail=pp.stderr_text)


def _read_line(c: socket.socket, buf: bytearray) -> bytes:
    while b"\n" not in buf:
        d = c.recv(4096)
        assert d, "peer closed"
        buf += d
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return line


def test_codec_decodes_what_haproxy_pushes() -> None:
    hap, py = free_port(), free_port()
    srv = socket.create_server(("127.0.0.1", py))
    srv.settimeout(8)
    with srv, _haproxy(hap, py) as sock:
        c, _ = srv.accept()
        with c:
            c.settimeout(5)
            buf = bytearray()
            lines = [_read_line(c, buf) for _ in range(3)]
            assert lines[0] == b"HAProxyS 2.1" and lines[1] == b"py" and lines[2].startswith(b"hap ")
            c.sendall(b"200\n" + P.msg(P.CTRL, P.RESYNC_FINISHED))
            for cmd in SETS:
                assert stats_cli(sock, cmd) == "\n", cmd
            local = _local()
            defs: dict[int, P.TableDef] = {}
            current: P.TableDef | None = None
            last = 0
            seen = 0
            data = bytes(buf)
            deadline = time.monotonic() + 5
            while seen < len(SETS) and time.monotonic() < deadline:
                msgs, data = P.parse_messages(data)
                for m in msgs:
                    if m.cls == P.STKT and m.type == P.DEFINE:
                        current = defs[m.payload[0]] = P.decode_definition(m.payload)
                    elif m.cls == P.STKT and m.type == P.SWITCH:
                        current = defs[P.decode_int(m.payload, 0)[0]]
                    elif m.cls == P.STKT and m.type in (P.UPDATE, P.INCUPDATE, P.UPDATE_TIMED, P.INCUPDATE_TIMED):
                        assert current is not None
                        last = P.apply_update(local[current.name], current, m, last, _now())
                        seen += 1
                if seen < len(SETS):
                    try:
                        data += c.recv(65536)
                    except TimeoutError:
                        break
            assert seen == len(SETS)
            assert {d.name: (d.key_type, d.expire) for d in defs.values()} == {
                "t": ("ip", 30000), "s": ("string", 0), "n": ("integer", 0)}
            for name in TABLES:
                ours = _mask(stk_cli.show_table(local, [name], _now()) + "\n")
                theirs = _mask(stats_cli(sock, f"show table {name}"))
                assert ours == theirs, name


def test_haproxy_applies_what_the_codec_pushes() -> None:
    hap, py = free_port(), free_port()
    with _haproxy(hap, py) as sock:
        local = _local()
        now = _now()
        for cmd in SETS:
            w = cmd.split()[2:]
            assert stk_cli.set_table(local, w, now, True) == ""
        with socket.create_connection(("127.0.0.1", hap), timeout=5) as c:
            c.sendall(P.hello("hap", "py", 4242))
            buf = bytearray()
            assert _read_line(c, buf) == b"200"
            out = b""
            uid = 0
            for tid, t in enumerate(local.values(), 1):
                out += P.encode_definition(t, tid)
                for e in t.sorted_entries(now):
                    uid += 1
                    out += P.encode_update(t, e, uid, _now())
            c.sendall(out + P.msg(P.CTRL, P.RESYNC_FINISHED))
            # 2.6 applies the updates when its peer applet runs (later on a loaded machine): poll
            # until every table prints as the codec's own (the expected text taken at each poll,
            # as of that moment), 20 s at most; the last reading is what is compared
            deadline = time.monotonic() + 20
            got: dict[str, str] = {}
            want: dict[str, str] = {}
            while True:
                got = {n: _mask(stats_cli(sock, f"show table {n}")) for n in TABLES}
                want = {n: _mask(stk_cli.show_table(local, [n], _now()) + "\n") for n in TABLES}
                if got == want or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            peers = stats_cli(sock, "show peers") if got != want else ""
        for name in TABLES:
            assert got[name] == want[name], f"{name}\n2.6's show peers:\n{peers}"


def test_integer_encoding_round_trips() -> None:
    for i in (0, 1, 239, 240, 2287, 2288, 264431, 264432, 33818863, 33818864, 2**32 - 1, 2**40 + 5):
        enc = P.encode_int(i)
        assert P.decode_int(enc + b"x", 0) == (i, len(enc))
    assert len(P.encode_int(239)) == 1 and len(P.encode_int(240)) == 2 and len(P.encode_int(2288)) == 3
