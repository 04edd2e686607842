"""The MQTT converters, differential: ``mqtt_is_valid`` and ``mqtt_field_value`` (every field 2.6
accepts for CONNECT and CONNACK) over generated MQTT 3.1.1 and 5.0 packets, valid and malformed
(cut, trailing bytes, wrong remaining lengths, reserved flags, duplicated, unknown and out-of-range
properties, bad protocol names and levels, other packet types), seeded. Each packet travels
base64-encoded in a header; Debian's HAProxy 2.6 computes ``b64dec,mqtt_...`` with ``http-request
return lf-string``, haproxy-py the same format over the same request bytes. A tcp-mode case checks
the converters where they are meant to be used, on ``req.payload(0,0)`` with inspect-delay."""

from __future__ import annotations

import base64
import random
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require_haproxy_bin
from tests.differential.test_samples_vs_haproxy import _ask_haproxy, _ours

pytestmark = [pytest.mark.timeout(120), pytest.mark.needs_haproxy]

CONNECT_FIELDS = ("protocol_name", "protocol_version", "flags", "keepalive", "client_identifier", "will_topic",
                  "will_payload", "username", "password", "17", "33", "39", "34", "25", "23", "21", "22", "24",
                  "1", "2", "3", "8", "9", "38")
CONNACK_FIELDS = ("flags", "protocol_version", "reason_code", "17", "33", "36", "37", "39", "18", "34", "31", "40",
                  "41", "42", "19", "26", "28", "21", "22", "38")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 127
        n >>= 7
        if n:
            out.append(b | 128)
        else:
            out.append(b)
            return bytes(out)


def _s(rng: random.Random, maxlen: int = 6) -> bytes:
    return bytes(rng.choice(b"abcXYZ09-/") for _ in range(rng.choice((0, 1, 3, maxlen))))


def _mstr(b: bytes) -> bytes:
    return len(b).to_bytes(2, "big") + b


def _prop(rng: random.Random, pid: int, kind: str) -> bytes:
    if kind == "1":
        return bytes((pid, rng.choice((0, 1, 1, 2))))
    if kind == "2":
        return bytes((pid,)) + rng.choice((0, 1, 10, 65535)).to_bytes(2, "big")
    if kind == "4":
        return bytes((pid,)) + rng.choice((0, 1, 3600, 2 ** 32 - 1)).to_bytes(4, "big")
    if kind == "u":
        return bytes((pid,)) + _mstr(_s(rng)) + _mstr(_s(rng))
    return bytes((pid,)) + _mstr(_s(rng))


_CONNECT_P = ((0x11, "4"), (0x21, "2"), (0x27, "4"), (0x22, "2"), (0x19, "1"), (0x17, "1"), (0x15, "s"),
              (0x16, "s"), (0x26, "u"))
_WILL_P = ((0x18, "4"), (0x01, "1"), (0x02, "4"), (0x03, "s"), (0x08, "s"), (0x09, "s"), (0x26, "u"))
_CONNACK_P = ((0x11, "4"), (0x21, "2"), (0x24, "1"), (0x25, "1"), (0x27, "4"), (0x12, "s"), (0x22, "2"),
              (0x1F, "s"), (0x28, "1"), (0x29, "1"), (0x2A, "1"), (0x13, "2"), (0x1A, "s"), (0x1C, "s"),
              (0x15, "s"), (0x16, "s"), (0x26, "u"))


def _props(rng: random.Random, table: tuple[tuple[int, str], ...]) -> bytes:
    chosen = rng.sample(table, rng.randint(0, min(4, len(table))))
    out = b"".join(_prop(rng, pid, kind) for pid, kind in chosen)
    k = rng.random()
    if k < 0.05 and chosen:
        out += _prop(rng, *chosen[0])  # a duplicate
    elif k < 0.1:
        out += bytes((rng.choice((0x04, 0x2B, 0x7F, 0x23)), 1, 2))  # unknown
    return _varint(len(out)) + out


def _connect(rng: random.Random) -> bytes:
    ver = rng.choice((4, 5, 5, 3, 6)) if rng.random() < 0.1 else rng.choice((4, 5))
    flags = rng.choice((0x02, 0x00, 0xC2, 0xC6, 0x0E, 0x16, 0x2E, 0x36, 0x80, 0x40, 0x18, 0x01, 0xE6, 0x1A))
    name = rng.choice((b"MQTT",) * 8 + (b"mqtt", b"MQIsdp", b""))
    body = _mstr(name) + bytes((ver, flags)) + rng.choice((0, 60, 65535)).to_bytes(2, "big")
    if ver == 5:
        body += _props(rng, _CONNECT_P)
    body += _mstr(_s(rng, 12))
    if ver == 5 and flags & 0x04:
        body += _props(rng, _WILL_P)
    if flags & 0x04:
        body += _mstr(_s(rng)) + _mstr(_s(rng))
    if flags & 0x80:
        body += _mstr(_s(rng))
    if flags & 0x40:
        body += _mstr(_s(rng))
    return body


def _connack(rng: random.Random) -> bytes:
    body = bytes((rng.choice((0, 0, 1, 1, 2)), rng.choice((0, 0x80, 5, 0x87))))
    if rng.random() < 0.6:
        body += _props(rng, _CONNACK_P)
    return body


def _packet(rng: random.Random) -> bytes:
    k = rng.random()
    if k < 0.5:
        first, body = 0x10, _connect(rng)
    elif k < 0.9:
        first, body = 0x20, _connack(rng)
    else:
        first, body = rng.choice(((0x30, b"\x00\x01a"), (0xC0, b""), (0x82, b"\x00\x01\x00\x01a\x00"), (0x00, b""),
                                  (0x11, _connect(rng)), (0x21, b"\x00\x00")))
    rlen = len(body)
    m = rng.random()
    if m < 0.05:
        rlen += 1
    elif m < 0.1:
        rlen = max(0, rlen - 1)
    pkt = bytes((first,)) + _varint(rlen) + body
    m = rng.random()
    if m < 0.08:
        pkt = pkt[:rng.randint(0, len(pkt))]  # cut: more data needed
    elif m < 0.14:
        pkt += rng.choice((b"\x00", b"\xe0\x00", b"xyz"))  # the next packet's first bytes
    elif m < 0.16:
        pkt = bytes((first,)) + b"\xff\xff\xff\xff\x01" + body  # a 5-byte remaining length
    return pkt


EXPRS = (["req.hdr(x-m),b64dec,mqtt_is_valid"]
         + [f"req.hdr(x-m),b64dec,mqtt_field_value(connect,{f})" for f in CONNECT_FIELDS]
         + [f"req.hdr(x-m),b64dec,mqtt_field_value(CONNACK,{f})" for f in CONNACK_FIELDS]
         + ["req.hdr(x-m),b64dec,mqtt_field_value(1,client_identifier),hex",
            "req.hdr(x-m),b64dec,mqtt_field_value(2,REASON_CODE)"])


def test_mqtt_converters_vs_haproxy(tmp_path: Path) -> None:
    rng = random.Random(1883)
    pkts = [_packet(rng) for _ in range(400)]
    exprs = EXPRS
    reqs = [b"GET / HTTP/1.1\r\nHost: h\r\nX-M: " + base64.b64encode(p) + b"\r\n\r\n" for p in pkts]
    theirs = _ask_haproxy(tmp_path, exprs, reqs)
    ours = _ours(exprs, reqs)
    diffs = [f"{exprs[i]}: 2.6 {lt!r} ours {lo!r} for {p!r}"
             for p, t, o in zip(pkts, theirs, ours, strict=True)
             for i, (lt, lo) in enumerate(zip(t.split(b"\n"), o.split(b"\n"), strict=True)) if lt != lo]
    assert not diffs, "\n".join(diffs[:20]) + f"\n({len(diffs)} differences)"
    valid = [t.split(b"\n")[0] for t in theirs]
    # the generator reaches every verdict, often
    assert valid.count(b"0=1") > 60 and valid.count(b"0=0") > 60 and valid.count(b"0=") > 15, valid
    values = {ln for t in theirs for ln in t.split(b"\n")[1:] if not ln.endswith(b"=")}
    assert len(values) > 150, len(values)


def test_mqtt_field_names_checked_as_haproxy(tmp_path: Path) -> None:
    """The configuration check of the converter's arguments: the same verdicts and messages."""
    from haproxy_py.samples import compile_expr

    binary = require_haproxy_bin()
    cases = ["connect,client_identifier", "1x,flags", "16,flags", "0,flags", "publish,flags", "connect,user_property",
             " connect,flags", "connack,", "2,5", "connect,2", "01,flags", "Auth,21", "connack,return_code",
             "14,reason_code", "connect,38", "PINGREQ,flags"]
    for a in cases:
        cfg = tmp_path / "m.cfg"
        cfg.write_text("defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
                       "frontend f\n bind 127.0.0.1:9\n"
                       f' http-request return content-type text/plain lf-string "%[req.body,mqtt_field_value({a})]"\n')
        r = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        theirs = None
        if r.returncode:
            theirs = r.stderr.split("invalid args in converter 'mqtt_field_value' : ")[1].split(".\n")[0]
        try:
            compile_expr(f"req.body,mqtt_field_value({a})")
            ours = None
        except Exception as e:  # noqa: BLE001 - the message is what is compared
            ours = str(e)
        assert (theirs is None) == (ours is None), (a, theirs, ours)
        if theirs is not None:
            assert ours is not None and theirs in ours, (a, theirs, ours)


def _connect_pkt(client_id: bytes, ver: int = 4) -> bytes:
    body = _mstr(b"MQTT") + bytes((ver, 0x02)) + b"\x00\x3c" + (b"\x00" if ver == 5 else b"") + _mstr(client_id)
    return b"\x10" + _varint(len(body)) + body


def test_mqtt_in_tcp_rules_as_haproxy() -> None:
    """mode tcp, ``tcp-request inspect-delay``: ``req.payload(0,0),mqtt_is_valid`` rejects what is
    not MQTT, a CONNECT sent in two parts waits for its end (its first part needs more data), and
    ``mqtt_field_value(connect,client_identifier)`` picks the backend, as with 2.6."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from typing import Any

    from tests.integration.harness import free_port, run_proxy

    servers = []
    for name in ("a", "b", "none"):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        s.settimeout(0.2)
        servers.append((name, s))
    stop = threading.Event()

    def serve(name: str, s: socket.socket) -> None:
        while not stop.is_set():
            try:
                c, _ = s.accept()
            except OSError:
                continue
            try:
                c.sendall(name.encode())
                c.shutdown(socket.SHUT_WR)
                c.settimeout(1)
                while c.recv(65536):
                    pass
            except OSError:
                pass
            c.close()

    threads = [threading.Thread(target=serve, args=ns, daemon=True) for ns in servers]
    for t in threads:
        t.start()
    cfg = ("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
           "frontend fe\n    bind 127.0.0.1:{p}\n    tcp-request inspect-delay 3s\n"
           "    tcp-request content reject unless { req.payload(0,0),mqtt_is_valid }\n"
           "    use_backend b_a if { req.payload(0,0),mqtt_field_value(connect,client_identifier) -m str a }\n"
           "    use_backend b_b if { req.payload(0,0),mqtt_field_value(connect,client_identifier) -m beg b }\n"
           "    default_backend b_none\n"
           + "".join(f"backend b_{n}\n    server s 127.0.0.1:{s.getsockname()[1]}\n" for n, s in servers))
    cases: list[list[bytes]] = [
        [_connect_pkt(b"a")], [_connect_pkt(b"bcd", 5)], [_connect_pkt(b"zz")],
        [_connect_pkt(b"a")[:5], _connect_pkt(b"a")[5:]],  # in two parts
        [_connect_pkt(b"bx")[:1], _connect_pkt(b"bx")[1:]],
        [b"GET / HTTP/1.1\r\n\r\n"], [b"\x10\x02\x00\x04"],  # not MQTT; a CONNECT that is cut short
        [b"\x20\x02\x00\x00"],  # a CONNACK from the client: valid, no client identifier
    ]

    def send(port: int, parts: list[bytes]) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            for i, part in enumerate(parts):
                if i:
                    time.sleep(0.3)
                c.sendall(part)
            got = b""
            try:
                while d := c.recv(100):
                    got += d
            except OSError:
                pass
            return got

    out: list[Any] = []
    try:
        for which in ("haproxy", "ours"):
            port = free_port()
            with run_proxy(cfg.replace("{p}", str(port)), wait_ports=[port], which=which):
                with ThreadPoolExecutor(len(cases)) as pool:
                    out.append(list(pool.map(send, [port] * len(cases), cases)))
    finally:
        stop.set()
        for t in threads:
            t.join(2)
        for _, s in servers:
            s.close()
    theirs, ours = out
    assert ours == theirs
    assert theirs == [b"a", b"b", b"none", b"a", b"b", b"", b"", b"none"], theirs
