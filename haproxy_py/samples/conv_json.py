"""The JSON and JWT converters of HAProxy 2.6: ``json_query``, ``jwt_header_query``,
``jwt_payload_query`` and ``jwt_verify``. Pure.

``jwt_verify`` checks HS256/HS384/HS512 signatures (the standard library's hmac) and ``none``.
The RS*, ES* and PS* algorithms need a public-key library haproxy-py does not carry: written as
a constant they are refused at load time; met at run time through a variable they answer -5,
"unknown certificate", which is what 2.6 answers for a key file it has not loaded (and with them
refused, no certificate is ever loaded here). PS* is not managed by 2.6.12 either: refused at load
time with its message, -2 at run time, as there.
"""

from __future__ import annotations

import hmac
from typing import Any

from .converters import arg_or_var, arg_value, c_ub64dec
from .core import converter
from .jsonpath import query
from .txn import Txn
from .types import Sample

D = "tests/differential/test_samples_vs_haproxy.py::test_json_jwt_converters_vs_haproxy"

#: jwt_verify's answers (2.6's enum jwt_vrfy_status)
VRFY_KO, VRFY_OK, UNKNOWN_ALG, UNMANAGED_ALG, INVALID_TOKEN, UNKNOWN_CERT = 0, 1, -1, -2, -3, -5

_HMAC = {b"HS256": "sha256", b"HS384": "sha384", b"HS512": "sha512"}
_ALGS = frozenset((*_HMAC, b"none", b"RS256", b"RS384", b"RS512", b"ES256", b"ES384", b"ES512",
                   b"PS256", b"PS384", b"PS512"))


def _prep_query(a: tuple, *, required: bool) -> tuple:
    path = a[0] if a else ""
    if required and not path:
        raise ValueError("json_path must not be empty.")
    kind = a[1] if len(a) > 1 else ""
    if kind and kind != "int":
        raise ValueError('output_type only supports "int" as argument.')
    return (path.encode("latin1") if a else None, kind == "int")


def _sample(r: tuple[str, Any] | None) -> Sample | None:
    return None if r is None else Sample(r[0], r[1])


@converter("json_query", test=D, prepare=lambda a: _prep_query(a, required=True))
def c_json_query(v: bytes, a: tuple, t: Txn) -> Sample | None:
    return _sample(query(v, a[0], a[1]))


def jwt_items(v: bytes, count: int) -> list[bytes] | None:
    """The first ``count`` dot-separated parts of a token, as 2.6's tokenizer gives them; None
    when there are fewer."""
    parts = v.split(b".", count)
    if len(parts) < count:
        return None
    return parts[:count]


def _member(index: int):
    def conv(v: bytes, a: tuple, t: Txn) -> Sample | None:
        items = jwt_items(v, index + 1)
        if items is None:
            return None
        decoded = c_ub64dec(items[index], (), t)
        if decoded is None or a[0] is None:
            # 2.6.12 gives no sample without a path (its code returns 0 there), not the JSON text
            return None
        return _sample(query(decoded, a[0], a[1]))
    return conv


converter("jwt_header_query", test=D, prepare=lambda a: _prep_query(a, required=False))(_member(0))
converter("jwt_payload_query", test=D, prepare=lambda a: _prep_query(a, required=False))(_member(1))


def _prep_verify(a: tuple) -> tuple:
    alg = arg_or_var(a[0])
    key = arg_or_var(a[1])
    if alg[1] is None:
        name = alg[0]
        if name not in _ALGS:
            raise ValueError(f"unknown JWT algorithm: {name.decode('latin1')}.")
        if name[:2] == b"PS":
            raise ValueError("RSASSA-PSS JWS signing not managed yet.")
        if name not in _HMAC and name != b"none":
            raise ValueError(f"jwt_verify's algorithm {name.decode('latin1')} is not implemented by haproxy-py "
                             "(HAProxy 2.6 supports it); HS256, HS384, HS512 and none are")
    return (alg, key)


def verify(token: bytes, alg: bytes, key: bytes) -> int:
    """2.6's jwt_verify on ``token`` (header.payload.signature) with algorithm ``alg``."""
    if alg not in _ALGS:
        return UNKNOWN_ALG
    parts = token.split(b".")
    if len(parts) > 3:
        return INVALID_TOKEN
    if len(parts) != 3 and (alg != b"none" or len(parts) != 2):
        return INVALID_TOKEN
    sig = parts[2] if len(parts) == 3 else b""
    if alg == b"none":
        return VRFY_OK if not sig else VRFY_KO
    raw = c_ub64dec(sig, (), None) if sig else None
    if not raw:
        return INVALID_TOKEN
    digest = _HMAC.get(alg)
    if digest is None:  # 2.6.12 does not manage PS*; RS*/ES* need a certificate never loaded here
        return UNMANAGED_ALG if alg[:2] == b"PS" else UNKNOWN_CERT
    mac = hmac.new(key, parts[0] + b"." + parts[1], digest).digest()
    return VRFY_OK if hmac.compare_digest(mac, raw) else VRFY_KO


@converter("jwt_verify", test=D, prepare=_prep_verify)
def c_jwt_verify(v: bytes, a: tuple, t: Txn) -> int | None:
    alg = arg_value(a[0], t)
    key = arg_value(a[1], t)
    if alg is None or key is None:
        return None
    return verify(v, alg, key)
