"""CRL files as the runtime API sees them (pure): ``show/new/set/commit/abort/del ssl crl-file``.

The store holds the CRL files of the configuration: the listeners' ``crl-file`` (on the bind line
or a crt-list line), used by their certificates, and the servers' ``crl-file``, used when the
server presents a client certificate (``crt``), as 2.6 links them; plus those 'new ssl crl-file'
made, less those 'del ssl crl-file' removed. One transaction at a time ('set ssl crl-file').
A CRL is shown as 2.6 shows it: version, signature algorithm (OpenSSL's long name), issuer
(one line), last and next update (ASN1_TIME_print) and each revoked serial with its date.
"""

from __future__ import annotations

from typing import Any

from haproxy_py.tls.certs import _oid, _tlv

_BEGIN = "-----BEGIN X509 CRL-----"
_END = "-----END X509 CRL-----"


def pem_crls(text: str) -> list[str]:
    """The PEM blocks of the CRLs in ``text``, in order."""
    out: list[str] = []
    pos = 0
    while True:
        i = text.find(_BEGIN, pos)
        if i < 0:
            return out
        j = text.find(_END, i)
        if j < 0:
            return out
        blk = text[i:j + len(_END)] + "\n"
        try:
            _parse(_der(blk))
        except (IndexError, ValueError):
            return out  # 2.6 stops at a block it cannot read
        out.append(blk)
        pos = j + len(_END)


def _der(blk: str) -> bytes:
    import base64

    body = blk.split(_BEGIN, 1)[1].split(_END, 1)[0]
    return base64.b64decode("".join(body.split()), validate=True)


def crl_paths(config: Any) -> dict[str, bool]:
    """The CRL files of the configuration by name, and whether a certificate instance uses them."""
    out: dict[str, bool] = {}
    for p in config.proxies:
        for b in p.binds:
            t = b.tls
            if t is None:
                continue
            if t.crl_file:
                out[t.crl_file] = True
            for e in t.entries:
                f = dict(e.conf).get("crl_file")
                if f:
                    out[f] = True
        for s in p.servers:
            t = s.tls
            if t is not None and t.crl_file:
                out[t.crl_file] = out.get(t.crl_file, False) or t.crt is not None
    return out


def _file_crls(name: str) -> list[str]:
    try:
        with open(name, encoding="latin-1") as f:
            return pem_crls(f.read())
    except OSError:
        return []


class CrlStore:
    """The configuration's CRL files (``crl_paths``), those 'new ssl crl-file' added (``new``:
    name -> PEM blocks; a committed file is there too) less those 'del ssl crl-file' removed."""

    def __init__(self, config: Any, new: dict[str, list[str]], deleted: set[str]) -> None:
        self.config = config
        self.used = {n: u for n, u in crl_paths(config).items() if n not in deleted}
        self.new = new
        for n in new:
            self.used.setdefault(n, False)

    def crls(self, name: str) -> list[str]:
        return self.new[name] if name in self.new else _file_crls(name)

    def instances(self, name: str) -> int:
        """How many certificate instances use CRL file ``name`` (2.6 prints a dot for each one it
        rebuilds on commit)."""
        n = 0
        for p in self.config.proxies:
            for b in p.binds:
                t = b.tls
                if t is None:
                    continue
                if t.entries:
                    n += sum(1 for e in t.entries if dict(e.conf).get("crl_file", t.crl_file) == name)
                elif t.crl_file == name:
                    n += len(t.certs)
            for s in p.servers:
                t = s.tls
                if t is not None and t.crl_file == name and t.crt is not None:
                    n += 1
        return n


# --------------------------------------------------------------------------- showing a CRL
#: signature algorithms by OpenSSL's long names (what X509_signature_print writes)
_SIG_LONG = {
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption", "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss", "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption", "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption", "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224", "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384", "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "ED25519", "1.3.101.113": "ED448",
}
#: attribute types by OpenSSL's short names (X509_NAME_oneline)
_ATTR = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber", "2.5.4.4": "SN", "2.5.4.42": "GN", "2.5.4.12": "title", "2.5.4.9": "street",
    "2.5.4.17": "postalCode", "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _name(der: bytes, s: int, e: int) -> str:
    out = []
    i = s
    while i < e:
        _, rs, re_ = _tlv(der, i)           # RDN: SET OF AttributeTypeAndValue
        j = rs
        while j < re_:
            _, as_, ae = _tlv(der, j)
            _, os_, oe = _tlv(der, as_)
            tag, vs, ve = _tlv(der, oe)
            oid = _oid(der[os_:oe])
            raw = der[vs:ve]
            val = raw.decode("utf-16-be", "replace") if tag == 0x1E else raw.decode("latin-1")
            out.append(f"/{_ATTR.get(oid, oid)}={val}")
            j = ae
        i = re_
    return "".join(out)


def _time(der: bytes, tag: int, s: int, e: int) -> str:
    t = der[s:e].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDhhmmssZ
        yy = int(t[:2])
        t = ("19" if yy >= 50 else "20") + t
    y, mo, d, hh, mm, ss = int(t[:4]), int(t[4:6]), int(t[6:8]), t[8:10], t[10:12], t[12:14]
    return f"{_MONTHS[mo - 1]} {d:2d} {hh}:{mm}:{ss} {y} GMT"


def _serial(b: bytes) -> str:
    if b and b[0] & 0x80:
        return "-" + (-int.from_bytes(b, "big", signed=True)).to_bytes(len(b), "big").lstrip(b"\0").hex().upper()
    v = b.lstrip(b"\0")
    return v.hex().upper() if v else "00"


def _parse(der: bytes) -> dict[str, Any]:
    """The fields of a DER CertificateList 2.6 shows."""
    _, s, _ = _tlv(der, 0)                   # CertificateList
    tag, t, tend = _tlv(der, s)              # TBSCertList
    if tag != 0x30:
        raise ValueError("not a CRL")
    i = t
    version = 1
    tag, vs, ve = _tlv(der, i)
    if tag == 0x02:
        version = int.from_bytes(der[vs:ve], "big") + 1
        i = ve
    _, as_, ae = _tlv(der, i)                # signature AlgorithmIdentifier
    _, os_, oe = _tlv(der, as_)
    sig = _oid(der[os_:oe])
    i = ae
    _, ns, ne = _tlv(der, i)
    issuer = _name(der, ns, ne)
    i = ne
    tag, vs, ve = _tlv(der, i)
    last = _time(der, tag, vs, ve)
    i = ve
    nxt = None
    revoked: list[tuple[str, str]] = []
    if i < tend:
        tag, vs, ve = _tlv(der, i)
        if tag in (0x17, 0x18):
            nxt = _time(der, tag, vs, ve)
            i = ve
    if i < tend:
        tag, vs, ve = _tlv(der, i)
        if tag == 0x30:
            j = vs
            while j < ve:
                _, es, ee = _tlv(der, j)
                _, ss, se = _tlv(der, es)
                ttag, ts, te = _tlv(der, se)
                revoked.append((_serial(der[ss:se]), _time(der, ttag, ts, te)))
                j = ee
    return {"version": version, "sig": _SIG_LONG.get(sig, sig), "issuer": issuer, "last": last,
            "next": nxt, "revoked": revoked}


def _detail(i: int, blk: str) -> list[str]:
    d = _parse(_der(blk))
    out = [" ", f"Certificate Revocation List #{i}:", f"Version {d['version']}", f"Signature Algorithm: {d['sig']}",
           f"Issuer: {d['issuer']}", f"Last Update: {d['last']}", f"Next Update: {d['next'] or 'NONE'}"]
    if d["revoked"]:
        out.append("Revoked Certificates:")
        for serial, date in d["revoked"]:
            out += [f"    Serial Number: {serial}", f"        Revocation Date: {date}"]
    else:
        out.append("No Revoked Certificates.")
    return out


# --------------------------------------------------------------------------- the commands
def show_crl_list(store: CrlStore, tx: tuple[str, list[str]] | None) -> str:
    """``show ssl crl-file``: the ongoing transaction, then each CRL file's name."""
    head = f"# transaction\n*{tx[0]}\n" if tx else ""
    return head + "# filename\n" + "".join(f"{n}\n" for n in sorted(store.used))


def show_crl_file(arg: str, store: CrlStore, tx: tuple[str, list[str]] | None) -> str:
    """``show ssl crl-file NAME[:INDEX]`` (``*NAME``: the transaction's); a reply without the
    final empty line when the index is not a positive number, as 2.6."""
    name, colon, idx = arg.partition(":")
    index = 0
    if colon:
        if not idx.isdigit() or int(idx) == 0:
            return f"wrong CRL index after colons in '{arg}'!"
        index = int(idx)
    if name.startswith("*"):
        if tx is None or tx[0] != name[1:]:
            return "Can't display the CRL file : Not found!\n"
        blocks, status = tx[1], "Unused"
    elif name not in store.used:
        return "Can't display the CRL file : Not found!\n"
    else:
        blocks, status = store.crls(name), ("Used" if store.used[name] else "Unused")
    if not blocks:
        status = "Empty"
    out = [f"Filename: {name}", f"Status: {status}"]
    for i, blk in enumerate(blocks, 1):
        if not index or i == index:
            out += _detail(i, blk)
    return "\n".join(out) + "\n"


def new_crl_file(store: CrlStore, name: str, new: dict[str, list[str]], deleted: set[str]) -> str:
    if name in store.used:
        return f"CRL file '{name}' already exists!\n"
    new[name] = []
    deleted.discard(name)
    return f"New CRL file created '{name}'!\n"


def del_crl_file(config: Any, store: CrlStore, name: str, new: dict[str, list[str]], deleted: set[str]) -> str:
    if name not in store.used:
        return f"Can't remove the CRL file: CRL file '{name}' doesn't exist!\n\n"
    if store.used[name]:
        return f"Can't remove the CRL file: CRL file '{name}' in use, can't be deleted!\n\n"
    new.pop(name, None)
    if name in crl_paths(config):
        deleted.add(name)
    return f"CRL file '{name}' deleted!\n"


def set_crl_file(store: CrlStore, name: str, payload: str, tx: tuple[str, list[str]] | None
                 ) -> tuple[str, tuple[str, list[str]] | None]:
    """``set ssl crl-file NAME <<`` + PEM CRLs: (reply, the transaction now)."""
    if tx is not None and tx[0] != name:
        return f"The ongoing transaction is about '{tx[0]}' but you are trying to set '{name}'\nCan't update {name}!\n", tx
    if name not in store.used:
        return f"Can't replace a CRL file which is not referenced by the configuration!\nCan't update {name}!\n", tx
    blocks = pem_crls(payload)
    if not blocks:
        return f"Invalid payload\nCan't update {name}!\n", tx
    return f"transaction {'updated' if tx is not None else 'created'} for CRL {name}!\n", (name, blocks)
