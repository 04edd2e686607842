"""Session ticket keys of ``bind ... tls-ticket-keys FILE``, kept as HAProxy 2.6 keeps them. Pure.

A key file holds one base64 key per line, every one of the same size: 48 bytes (a 16-byte key
name, an AES-128 key and a 16-byte HMAC-SHA256 key) or 80 bytes (name, AES-256 key, 32-byte HMAC
key). A file of three keys or more gives a ring of its last three: the penultimate encrypts new
tickets, all three decrypt (a ticket of another key than the encrypting one is renewed). ``set ssl
tls-key`` overwrites the oldest key of the ring with a new one, which becomes the newest: the
previous newest encrypts from then on. Bind lines naming the same file share one ring; each ring
has an id, the last file read getting 0 (``show tls-keys``).

tls/context.py installs the OpenSSL callback that encrypts and decrypts with a ring.
"""

from __future__ import annotations

import base64
import re
from typing import Any

#: how many keys a ring holds (2.6's TLS_TICKETS_NO build setting, 3 in Debian's build)
TICKETS_NO = 3
#: a key's size in bytes -> the AES key size in bits
SIZES = {48: 128, 80: 256}
_LINESIZE = 2048  # 2.6 reads the file in lines of at most LINESIZE - 1 bytes

_REV = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_PAD = 64
_REV["="] = _PAD


def b64dec(text: str, limit: int = 1 << 30) -> bytes | None:
    """2.6's base64 decoder: groups of four characters, '=' only closing a group (as "XX==",
    "XXX=" or even "X==="), after which the next group starts over; None where it refuses, and
    when the result would take more than ``limit`` bytes."""
    n = len(text)
    if n % 4:
        return None
    if n and limit < n // 4 * 3 - (text[-1] == "=") - (n > 1 and text[-2] == "="):
        return None
    out = bytearray()
    for i in range(0, n, 4):
        group = [_REV.get(c, -1) for c in text[i:i + 4]]
        pad = 0
        for j, v in enumerate(group):
            if v < 0 or (pad and (v != _PAD or j < 2)):
                return None
            if v == _PAD:
                pad += 1
        a, b, c, d = (v & 63 for v in group)
        out += bytes(((a << 2 | b >> 4) & 255, (b << 4 | c >> 2) & 255, (c << 6 | d) & 255))[:3 - pad]
    return bytes(out)


class TicketKeys:
    """One key file's ring (2.6's tls_keys_ref): ``keys`` in ring slots, ``enc`` the slot of
    the encrypting key."""

    __slots__ = ("path", "uid", "size", "keys", "enc")

    def __init__(self, path: str, keys: list[bytes]) -> None:
        self.path = path
        self.uid = -1
        self.size = len(keys[0])
        self.keys: list[bytes] = [b""] * TICKETS_NO
        for i, k in enumerate(keys):
            self.keys[i % TICKETS_NO] = k
        self.enc = max(len(keys) - 2, 0) % TICKETS_NO

    @property
    def bits(self) -> int:
        return SIZES[self.size]

    def update(self, key: bytes) -> bool:
        """``set ssl tls-key``: ``key`` replaces the oldest one and is the newest; the previous
        newest encrypts. False for a key of another size than the file's."""
        if len(key) != self.size:
            return False
        self.keys[(self.enc + 2) % TICKETS_NO] = key
        self.enc = (self.enc + 1) % TICKETS_NO
        return True

    def encrypting(self) -> bytes:
        return self.keys[self.enc]

    def find(self, name: bytes) -> tuple[bytes, bool] | None:
        """The key named ``name`` (a ticket's first 16 bytes) and whether it is not the encrypting
        one (the ticket is then renewed); None when no key of the ring has that name."""
        for i in range(TICKETS_NO):
            k = self.keys[(self.enc + i) % TICKETS_NO]
            if k[:16] == name:
                return k, i > 0
        return None

    def split(self, key: bytes) -> tuple[bytes, bytes, bytes]:
        """A key's name, AES key and HMAC key."""
        half = (self.size - 16) // 2
        return key[:16], key[16:16 + half], key[16 + half:]

    def dump(self) -> str:
        """The ring as ``show tls-keys`` prints it: oldest first, the encrypting key second."""
        out = [f"# {self.uid} ({self.path})\n"]
        for j in range(TICKETS_NO):
            k = self.keys[(self.enc + 2 + j) % TICKETS_NO]
            out.append(f"{self.uid}.{j} {base64.b64encode(k).decode('ascii')}\n")
        return "".join(out)


def _lines(data: bytes) -> list[bytes]:
    """The file's lines as 2.6's fgets loop sees them: at most LINESIZE - 1 bytes each, one
    LF then one CR stripped from the end, cut at a NUL."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos, pos + _LINESIZE - 1)
        chunk = data[pos:end + 1] if end >= 0 else data[pos:pos + _LINESIZE - 1]
        pos += len(chunk)
        if chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
        out.append(chunk.split(b"\0", 1)[0])
    return out


def load(path: str) -> TicketKeys | str:
    """A key file's ring, or 2.6's message for the file ("'FILE' : ...")."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return f"'{path}' : unable to load ssl tickets keys file"
    keys: list[bytes] = []
    for line in _lines(data):
        key = b64dec(line.decode("latin-1"), 80)
        if key is None:
            return f"'{path}' : unable to decode base64 key on line {len(keys) + 1}"
        if len(key) not in SIZES or (keys and len(key) != len(keys[0])):
            return f"'{path}' : wrong sized key on line {len(keys) + 1}"
        keys.append(key)
    if len(keys) < TICKETS_NO:
        return f"'{path}' : please supply at least {TICKETS_NO} keys in the tls-tickets-file"
    return TicketKeys(path, keys)


def number(refs: list[TicketKeys]) -> tuple[TicketKeys, ...]:
    """The rings of a configuration, read in this order, numbered as 2.6 numbers them (the last
    one read is 0), in the order of their ids."""
    out = tuple(reversed(refs))
    for i, r in enumerate(out):
        r.uid = i
    return out


def lookup(refs: tuple[TicketKeys, ...], ref: str) -> TicketKeys | None:
    """``#ID`` (a decimal number, as strtol reads it) or a file name as the bind line gave it."""
    if ref.startswith("#"):
        text = ref[1:]
        if text and not re.fullmatch(r"[ \t\n\v\f\r]*[+-]?[0-9]+", text):
            return None  # strtol stopped before the end
        uid = int(text) if text else 0
        return next((r for r in refs if r.uid == uid), None)
    return next((r for r in refs if r.path == ref), None)


def show(refs: tuple[TicketKeys, ...], args: list[str]) -> str:
    """``show tls-keys [id|*]``: 2.6's replies."""
    if not args or not args[0]:
        return "# id (file)\n" + "".join(f"{r.uid} ({r.path})\n" for r in refs)
    if args[0].startswith("*"):
        return "# id secret\n" + "".join(r.dump() for r in refs)
    r = lookup(refs, args[0])
    if r is None:
        return "'show tls-keys' unable to locate referenced filename\n"
    return "# id secret\n" + r.dump()


def set_key(refs: tuple[TicketKeys, ...], args: list[str]) -> str:
    """``set ssl tls-key <id|file> <base64 key>``: 2.6's replies."""
    if len(args) < 2 or not args[0] or not args[1]:
        return "'set ssl tls-key' expects a filename and the new TLS key in base64 encoding.\n"
    r = lookup(refs, args[0])
    if r is None:
        return "'set ssl tls-key' unable to locate referenced filename\n"
    key = b64dec(args[1], 16384)  # 2.6 decodes into a buffer (tune.bufsize)
    if key is None:
        return "'set ssl tls-key' received invalid base64 encoded TLS key.\n"
    if not r.update(key):
        return "'set ssl tls-key' received a key of wrong size.\n"
    return "TLS ticket key updated!\n"


def rings(config: Any) -> tuple[TicketKeys, ...]:
    """The configuration's rings, in the order of their ids."""
    return tuple(getattr(config, "tls_keys", ()))
