"""tls/ticketkeys.py: 2.6's base64 decoder, key file reading, the ring and its rotation, the
runtime API's references (tests/integration/test_tls_ticket_keys_vs_haproxy.py compares them
with 2.6 live)."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest

from haproxy_py.tls import ticketkeys as tk


@pytest.mark.parametrize("size", range(0, 40))
def test_b64dec_agrees_with_the_standard_decoder_on_valid_text(size: int) -> None:
    data = random.Random(size).randbytes(size)
    assert tk.b64dec(base64.b64encode(data).decode()) == data


@pytest.mark.parametrize("text", ["abc", "A!AA", "====", "QQ=A", "Q=A=", "QUJD QQ==", "\u00e9AAA"])
def test_b64dec_refuses_what_2_6_refuses(text: str) -> None:
    assert tk.b64dec(text) is None


def test_b64dec_takes_padding_that_ends_each_group_and_a_limit() -> None:
    assert tk.b64dec("QQ==QQ==") == b"AA"  # 2.6 starts each group over
    assert tk.b64dec("X===") == b"" and tk.b64dec("QQ==Q===") == b"A"
    assert tk.b64dec("") == b""
    assert tk.b64dec("QUJD", 2) is None and tk.b64dec("QUI=", 2) == b"AB"


def _file(tmp_path: Path, keys: list[bytes], end: str = "\n") -> str:
    p = tmp_path / "k"
    p.write_bytes(end.join(base64.b64encode(k).decode() for k in keys).encode() + end.encode())
    return str(p)


def test_ring_encrypts_with_the_penultimate_and_rotates(tmp_path: Path) -> None:
    keys = [bytes([i]) * 48 for i in range(5)]
    ring = tk.load(_file(tmp_path, keys, "\r\n"))
    assert isinstance(ring, tk.TicketKeys) and ring.bits == 128
    assert ring.encrypting() == keys[3]
    assert ring.find(keys[2][:16]) == (keys[2], True) and ring.find(keys[3][:16]) == (keys[3], False)
    assert ring.find(keys[1][:16]) is None  # only the last three are kept
    assert not ring.update(b"x" * 80)
    assert ring.update(b"N" * 48)
    assert ring.encrypting() == keys[4] and ring.find(keys[2][:16]) is None
    ring.uid = 3
    lines = ring.dump().splitlines()
    assert lines[0] == f"# 3 ({ring.path})"
    assert [ln.split(" ")[1] for ln in lines[1:]] == [base64.b64encode(k).decode() for k in (keys[3], keys[4], b"N" * 48)]
    name, aes, hmac = ring.split(keys[4])
    assert (len(name), len(aes), len(hmac)) == (16, 16, 16)


def test_load_messages(tmp_path: Path) -> None:
    k48, k80 = b"a" * 48, b"b" * 80
    assert tk.load(str(tmp_path / "none")) == f"'{tmp_path / 'none'}' : unable to load ssl tickets keys file"
    assert str(tk.load(_file(tmp_path, [k48, k48]))).endswith("please supply at least 3 keys in the tls-tickets-file")
    assert str(tk.load(_file(tmp_path, [k80, k48, k80]))).endswith("wrong sized key on line 2")
    assert str(tk.load(_file(tmp_path, [k48] * 3, "\n\n"))).endswith("wrong sized key on line 2")
    p = tmp_path / "long"
    p.write_text("A" * 3000 + "\n")
    assert str(tk.load(str(p))).endswith("unable to decode base64 key on line 1")


def test_references_and_replies(tmp_path: Path) -> None:
    a = tk.TicketKeys("/a", [b"a" * 48] * 3)
    b = tk.TicketKeys("/b", [b"b" * 80] * 3)
    refs = tk.number([a, b])
    assert (b.uid, a.uid) == (0, 1)
    for ref, want in (("#1", a), ("#01", a), ("# 1", a), ("#+1", a), ("#", b), ("/b", b), ("#x", None),
                      ("#+", None), ("#1x", None), ("1", None), ("#-1", None)):
        assert tk.lookup(refs, ref) is want, ref
    assert tk.show(refs, []) == "# id (file)\n0 (/b)\n1 (/a)\n"
    assert tk.show(refs, ["*all"]).startswith("# id secret\n# 0 (/b)\n0.0 ")
    key = base64.b64encode(b"n" * 48).decode()
    assert tk.set_key(refs, ["#1"]).startswith("'set ssl tls-key' expects")
    assert tk.set_key(refs, ["#0", key]) == "'set ssl tls-key' received a key of wrong size.\n"
    assert tk.set_key(refs, ["#1", "abc"]) == "'set ssl tls-key' received invalid base64 encoded TLS key.\n"
    assert tk.set_key(refs, ["/a", key]) == "TLS ticket key updated!\n"
    assert a.encrypting() == b"a" * 48 and a.keys[(a.enc + 1) % 3] == b"n" * 48
