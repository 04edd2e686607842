"""crt-list files as HAProxy 2.6 reads them, and their runtime view (pure).

A line is ``CERTFILE [[ssl options]] [[!]sni filter ...]``; empty lines and ``#`` comments are
skipped. Without filters the certificate is chosen by its own names (DNS subjectAltNames and
commonNames); with filters by them only: ``*.example.com`` covers one label, ``!name`` keeps a
wildcard from covering ``name`` (a line with negative filters only is never chosen by name).
The options between brackets are those of a bind line that a certificate's context can have.
A ``crt DIR`` is a crt-list too (its files, line 0), as the runtime API shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the options a crt-list line may have: how many values each takes
LINE_OPTIONS = {"alpn": 1, "ca-file": 1, "ca-verify-file": 1, "ciphers": 1, "ciphersuites": 1, "crl-file": 1,
                "curves": 1, "ecdhe": 1, "no-ca-names": 0, "npn": 1, "ssl-min-ver": 1, "ssl-max-ver": 1,
                "verify": 1, "allow-0rtt": 0}
#: the order 2.6's 'show ssl crt-list' prints a line's options in (ca-verify-file is not printed)
_DUMP_ORDER = ("npn", "alpn", "verify", "no-ca-names", "allow-0rtt", "ca-file", "crl-file", "ciphers",
               "ciphersuites", "curves", "ecdhe", "ssl-min-ver", "ssl-max-ver")


class CrtListError(Exception):
    """A line 2.6 refuses; the message is 2.6's text after ``parsing [FILE:LINE]: ``."""


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One crt-list line as written: the certificate path, its options, its filters."""

    cert: str
    options: tuple[tuple[str, str | None], ...] = ()
    filters: tuple[str, ...] = ()
    lineno: int = 0


def parse_line(text: str) -> LineSpec | None:
    """One line (None for an empty or comment line); :class:`CrtListError` with 2.6's words."""
    words = text.split("#", 1)[0].split()
    if not words:
        return None
    if words[0].startswith("["):
        raise CrtListError("file must start with a cert")
    cert = words[0]
    rest = words[1:]
    opts: list[str] = []
    filters: list[str] = []
    i = 0
    if rest and rest[0].startswith("["):
        first = rest[0][1:]
        inner = [first] if first else []
        i = 1
        closed = False
        if inner and inner[-1].endswith("]"):
            inner[-1] = inner[-1][:-1]
            closed = True
        while not closed and i < len(rest):
            w = rest[i]
            i += 1
            if w.endswith("]"):
                w = w[:-1]
                closed = True
            inner.append(w)
        opts = [w for w in inner if w]
    for w in rest[i:]:
        if "]" in w or "[" in w:
            raise CrtListError("missing '['")
        filters.append(w)
    options: list[tuple[str, str | None]] = []
    j = 0
    while j < len(opts):
        k = opts[j]
        n = LINE_OPTIONS.get(k)
        if n is None:
            raise CrtListError(f"unknown ssl keyword {k}")
        if n:
            if j + 1 >= len(opts):
                raise CrtListError(f"ssl args out of '[]' for {k}")
            options.append((k, opts[j + 1]))
            j += 2
        else:
            options.append((k, None))
            j += 1
    return LineSpec(cert, tuple(options), tuple(filters))


def dump_line(path: str, options: tuple[tuple[str, str | None], ...], filters: tuple[str, ...],
              lineno: int | None) -> str:
    """A line as 'show ssl crt-list [-n]' prints it (``lineno`` None: without the number). The
    ALPN and NPN lists end with a NUL byte, as 2.6 prints its wire-format copy."""
    out = path + (f":{lineno}" if lineno is not None else "")
    last = dict(options)
    shown = []
    for k in _DUMP_ORDER:
        if k not in last:
            continue
        v = last[k]
        if v is None:
            shown.append(k)
        elif k in ("alpn", "npn"):
            shown.append(f"{k} {','.join(x for x in v.split(',') if x)}\0")
        else:
            shown.append(f"{k} {v}")
    if shown:
        out += " [" + " ".join(shown) + "]"
    if filters:
        out += " " + " ".join(filters)
    return out


def sni_names(filters: tuple[str, ...], own: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the names a line's certificate is chosen by, the names no wildcard may cover)."""
    if not filters:
        return own, ()
    pos = tuple(f.lower() for f in filters if not f.startswith("!"))
    neg = tuple(f[1:].lower() for f in filters if f.startswith("!") and not f.startswith("!*"))
    return pos, neg


@dataclass(frozen=True, slots=True)
class Entry:
    """A certificate a listener serves: from ``crt`` (``list_path`` the file or directory named,
    line 0) or a crt-list line; ``conf`` its options as TlsBind fields."""

    cert: Any
    list_path: str = ""
    lineno: int = 0
    options: tuple[tuple[str, str | None], ...] = ()
    filters: tuple[str, ...] = ()
    conf: tuple[tuple[str, Any], ...] = ()


def crt_lists(config: Any) -> dict[str, list[Entry]]:
    """Every crt-list (crt-list files and ``crt DIR`` directories) of the configuration's TLS
    listeners: its entries once (the first listener's), by path."""
    out: dict[str, list[Entry]] = {}
    for p in config.proxies:
        for b in p.binds:
            tls = b.tls
            if tls is None:
                continue
            mine: dict[str, list[Entry]] = {}
            for e in tls.entries:
                if e.list_path:
                    mine.setdefault(e.list_path, []).append(e)
            for path, entries in mine.items():
                out.setdefault(path, entries)
    return out


def list_binds(config: Any, path: str) -> int:
    """How many TLS bind lines serve crt-list ``path``."""
    return sum(1 for p in config.proxies for b in p.binds
               if b.tls is not None and any(e.list_path == path for e in b.tls.entries))


def show_crt_list(lists: dict[str, list[Entry]], args: list[str]) -> str:
    """``show ssl crt-list [-n] [LIST]``: 2.6's replies."""
    numbers = bool(args) and args[0] == "-n"
    if numbers:
        args = args[1:]
        if not args:
            return "'show ssl crt-list -n' expects a filename or a directory\n"
    if not args:
        return "".join(f"{p}\n" for p in sorted(lists))
    entries = lists.get(args[0])
    if entries is None:
        return "didn't find the specified filename\n"
    lines = [f"# {args[0]}"]
    for e in entries:
        lines.append(dump_line(e.cert.path, e.options, e.filters, e.lineno if numbers else None))
    return "\n".join(lines) + "\n"


def default_users(config: Any, path: str, entry: Entry) -> list[str]:
    """Where ``entry`` (of crt-list ``path``) is a listener's default certificate: 'FILE:LINE'."""
    out = []
    for p in config.proxies:
        for b in p.binds:
            if b.tls is not None and b.tls.entries and b.tls.entries[0] is entry:
                out.append(f"{b.loc.file}:{b.loc.line}")
    return out


def add_entry(lists: dict[str, list[Entry]], certs: dict[str, Any], words: list[str], payload: str | None,
              binds: int = 1) -> tuple[str, Entry | None]:
    """``add ssl crt-list LIST CERT`` / ``add ssl crt-list LIST <<`` + one line: (reply, the new
    entry or None). 2.6.12 keeps only the certificate of the one-line form (what follows it is
    dropped), and the whole line of a payload; its reply has a dot per bind line using the list
    (``binds``), as 2.6 prints one for each it updates."""
    usage = "'add ssl crtlist' expects a filename and a certificate name\n"
    if len(words) < 4 or (len(words) < 5 and payload is None):
        return usage, None
    path = words[3]
    entries = lists.get(path)
    if entries is None:
        return f"Can't edit the crt-list: crt-list '{path}' does not exist!\n", None
    spec: LineSpec | None
    if payload is not None:
        lines = [ln for ln in payload.split("\n") if ln.strip()]
        if len(lines) != 1:
            return "Can't edit the crt-list: only one line of payload is supported!\n", None
        try:
            spec = parse_line(lines[0])
        except CrtListError as e:
            return f"Can't edit the crt-list: parsing [CLI:1]: {e}\n", None
        if spec is None:
            return "Can't edit the crt-list: only one line of payload is supported!\n", None
    else:
        spec = LineSpec(words[4])
    cert = certs.get(spec.cert)
    if cert is None:
        return f"Can't edit the crt-list: certificate '{spec.cert}' does not exist!\n", None
    for k, v in spec.options:
        if k not in _RUNTIME_OPTIONS:
            return (f"Can't edit the crt-list: '{k}' in a crt-list line is not implemented by haproxy-py "
                    "(HAProxy 2.6 supports it).\n"), None
        if k in ("ssl-min-ver", "ssl-max-ver") and v not in _VERSION_NAMES:
            return f"Can't edit the crt-list: '{v}' : unknown ssl/tls version\n", None
    # allow-0rtt is kept for the listing, without effect (config/tls.py _crt_list says why)
    conf = tuple((_FIELD[k], _value(k, v)) for k, v in spec.options if k != "allow-0rtt")
    lineno = max((e.lineno for e in entries), default=0) + 1
    return (f"Inserting certificate '{spec.cert}' in crt-list '{path}'{'.' * max(binds, 1)}\nSuccess!\n",
            Entry(cert, path, lineno, spec.options, spec.filters, conf))


#: the options a line added at run time may have (those -c need not check files for)
_RUNTIME_OPTIONS = ("alpn", "ciphers", "verify", "no-ca-names", "curves", "ecdhe", "ssl-min-ver", "ssl-max-ver",
                    "ciphersuites", "allow-0rtt")
_FIELD = {"alpn": "alpn", "ciphers": "ciphers", "verify": "verify", "no-ca-names": "no_ca_names",
          "curves": "curves", "ecdhe": "ecdhe", "ssl-min-ver": "min_ver", "ssl-max-ver": "max_ver",
          "ciphersuites": "ciphersuites"}
_VERSION_NAMES = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def _value(k: str, v: str | None) -> Any:
    if k == "alpn":
        return tuple(x for x in (v or "").split(",") if x)
    if k == "no-ca-names":
        return True
    return v


def del_entry(config: Any, lists: dict[str, list[Entry]], words: list[str]) -> tuple[str, Entry | None]:
    """``del ssl crt-list LIST CERT[:LINE]``: (reply, the entry removed or None)."""
    if len(words) < 5:
        return "'del ssl crtlist' expects a filename and a certificate name\n", None
    path, arg = words[3], words[4]
    entries = lists.get(path)
    if entries is None:
        return f"Can't delete the entry: crt-list '{path}' does not exist!\n", None
    cert, line = arg, None
    if ":" in arg:
        cert, _, num = arg.rpartition(":")
        if not num.isdigit():
            return f"Can't delete the entry: wrong line number after colons in '{arg}'!\n", None
        line = int(num)
    found = [e for e in entries if e.cert.path == cert]
    if not found:
        return f"Can't delete the entry: certificate '{cert}' does not exist!\n", None
    nums = ", ".join(str(e.lineno) for e in found)
    if line is None and len(found) > 1:
        return (f"Can't delete the entry: found the certificate '{cert}' in several entries, please specify a "
                f"line number preceded by colons ({nums})!\n"), None
    pick = found[0] if line is None else next((e for e in found if e.lineno == line), None)
    if pick is None:
        return (f"Can't delete the entry: found a certificate '{cert}' but the line number is incorrect, please "
                f"specify a correct line number preceded by colons ({nums})!\n"), None
    users = default_users(config, path, pick)
    if users:
        return (f"Can't delete the entry: certificate '{cert}' cannot be deleted, it is used as default "
                "certificate by the following frontends:\n" + "".join(f"\t- {u}\n" for u in users) + "\n"), None
    return f"Entry '{cert}' deleted in crtlist '{path}'!\n", pick
