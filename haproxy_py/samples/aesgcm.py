"""AES-GCM decryption for the ``aes_gcm_dec`` converter, in pure Python (FIPS 197 and NIST SP
800-38D; the standard library has no AES). Slow, and only used where a configuration asks. Pure.
"""

from __future__ import annotations


def _xtime(a: int) -> int:
    a <<= 1
    return (a ^ 0x11B) & 0xFF if a & 0x100 else a


def _gmul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = _xtime(a)
        b >>= 1
    return r


def _sbox() -> bytes:
    inv = [0] * 256
    for a in range(1, 256):
        for b in range(1, 256):
            if _gmul(a, b) == 1:
                inv[a] = b
                break
    box = bytearray(256)
    for x in range(256):
        b = inv[x]
        s = b
        for k in range(1, 5):
            s ^= ((b << k) | (b >> (8 - k))) & 0xFF
        box[x] = s ^ 0x63
    return bytes(box)


_SBOX: bytes = b""
_MUL2: bytes = b""
_MUL3: bytes = b""


def _tables() -> None:
    global _SBOX, _MUL2, _MUL3
    if not _SBOX:
        _SBOX = _sbox()
        _MUL2 = bytes(_xtime(x) for x in range(256))
        _MUL3 = bytes(_xtime(x) ^ x for x in range(256))


def _expand(key: bytes) -> list[bytes]:
    nk = len(key) // 4
    rounds = nk + 6
    words = [key[4 * i:4 * i + 4] for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (rounds + 1)):
        t = words[i - 1]
        if i % nk == 0:
            t = bytes((_SBOX[t[1]] ^ rcon, _SBOX[t[2]], _SBOX[t[3]], _SBOX[t[0]]))
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            t = bytes(_SBOX[b] for b in t)
        words.append(bytes(x ^ y for x, y in zip(words[i - nk], t, strict=True)))
    return [b"".join(words[4 * r:4 * r + 4]) for r in range(rounds + 1)]


def _encrypt_block(rk: list[bytes], block: bytes) -> bytes:
    s = bytearray(x ^ y for x, y in zip(block, rk[0], strict=True))
    last = len(rk) - 1
    for r in range(1, last + 1):
        s = bytearray(_SBOX[b] for b in s)
        s = bytearray(s[(i + 4 * (i % 4)) % 16] for i in range(16))  # ShiftRows (column-major state)
        if r != last:
            m = bytearray(16)
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c:4 * c + 4]
                m[4 * c] = _MUL2[a0] ^ _MUL3[a1] ^ a2 ^ a3
                m[4 * c + 1] = a0 ^ _MUL2[a1] ^ _MUL3[a2] ^ a3
                m[4 * c + 2] = a0 ^ a1 ^ _MUL2[a2] ^ _MUL3[a3]
                m[4 * c + 3] = _MUL3[a0] ^ a1 ^ a2 ^ _MUL2[a3]
            s = m
        s = bytearray(x ^ y for x, y in zip(s, rk[r], strict=True))
    return bytes(s)


_R = 0xE1 << 120


def _gf_mul(x: int, y: int) -> int:
    z = 0
    v = y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def _ghash(h: int, data: bytes) -> int:
    y = 0
    for i in range(0, len(data), 16):
        y = _gf_mul(y ^ int.from_bytes(data[i:i + 16].ljust(16, b"\0"), "big"), h)
    return y


def decrypt(key: bytes, nonce: bytes, data: bytes, tag: bytes) -> bytes | None:
    """The plaintext of ``data`` (no additional data), None when the tag does not verify or the
    key is not 16, 24 or 32 bytes long."""
    if len(key) not in (16, 24, 32) or not nonce or not 1 <= len(tag) <= 16:
        return None
    _tables()
    rk = _expand(key)
    h = int.from_bytes(_encrypt_block(rk, b"\0" * 16), "big")
    if len(nonce) == 12:
        j0 = nonce + b"\0\0\0\1"
    else:
        pad = (-len(nonce)) % 16
        j0 = _ghash(h, nonce + b"\0" * pad + (len(nonce) * 8).to_bytes(16, "big")).to_bytes(16, "big")
    pad = (-len(data)) % 16
    s = _ghash(h, data + b"\0" * pad + (0).to_bytes(8, "big") + (len(data) * 8).to_bytes(8, "big"))
    full = bytes(x ^ y for x, y in zip(_encrypt_block(rk, j0), s.to_bytes(16, "big"), strict=True))
    if full[:len(tag)] != tag:
        return None
    out = bytearray()
    ctr = int.from_bytes(j0[12:], "big")
    prefix = j0[:12]
    for i in range(0, len(data), 16):
        ctr = (ctr + 1) & 0xFFFFFFFF
        ks = _encrypt_block(rk, prefix + ctr.to_bytes(4, "big"))
        out += bytes(x ^ y for x, y in zip(data[i:i + 16], ks, strict=False))
    return bytes(out)


def encrypt(key: bytes, nonce: bytes, data: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, 16-byte tag): for tests (2.6 decrypting it is the check)."""
    _tables()
    rk = _expand(key)
    h = int.from_bytes(_encrypt_block(rk, b"\0" * 16), "big")
    if len(nonce) == 12:
        j0 = nonce + b"\0\0\0\1"
    else:
        pad = (-len(nonce)) % 16
        j0 = _ghash(h, nonce + b"\0" * pad + (len(nonce) * 8).to_bytes(16, "big")).to_bytes(16, "big")
    out = bytearray()
    ctr = int.from_bytes(j0[12:], "big")
    for i in range(0, len(data), 16):
        ctr = (ctr + 1) & 0xFFFFFFFF
        ks = _encrypt_block(rk, j0[:12] + ctr.to_bytes(4, "big"))
        out += bytes(x ^ y for x, y in zip(data[i:i + 16], ks, strict=False))
    pad = (-len(out)) % 16
    s = _ghash(h, bytes(out) + b"\0" * pad + (0).to_bytes(8, "big") + (len(out) * 8).to_bytes(8, "big"))
    tag = bytes(x ^ y for x, y in zip(_encrypt_block(rk, j0), s.to_bytes(16, "big"), strict=True))
    return bytes(out), tag
