"""The ``resolvers`` section and what a resolution decides (pure: times are passed in, in seconds).

A server with ``resolvers NAME`` is resolved every ``timeout resolve``; a query without an answer
is sent again after ``timeout retry``, up to ``resolve_retries`` times, then the resolution's status
is ``timeout``. The preferred family (``resolve-prefer``, ipv6 by default as in 2.6) is asked first;
when its answer has no address, or is NXDOMAIN, the other family is asked before concluding.

What a status does to the server (2.6's behaviour):

* valid with addresses: the server keeps its address when it is still among them, else takes the
  first one (within ``resolve-net`` when given); a server in resolution maintenance leaves it;
* valid without any address: resolution maintenance at once;
* NX / timeout / refused / other: nothing until ``hold <status>`` has passed since the last valid
  answer, then resolution maintenance. The address stays what it was.
"""

from __future__ import annotations

import ipaddress

from haproxy_py.config.resolvers import ResolversConf

# --------------------------------------------------------------------------- decisions

def pick_address(found: list[str], current: str, nets: tuple[str, ...] = ()) -> str | None:
    """The address a server takes from an answer: its own if still there, else the first one (the
    first within ``resolve-net`` when given)."""
    if not found:
        return None
    if current in found:
        return current
    if nets:
        networks = []
        for n in nets:
            try:
                networks.append(ipaddress.ip_network(n, strict=False))
            except ValueError:
                continue
        for a in found:
            ip = ipaddress.ip_address(a)
            if any(ip.version == net.version and ip in net for net in networks):
                return a
    return found[0]


def failure_goes_to_maint(status: str, last_valid: float | None, now: float, conf: ResolversConf) -> bool:
    """After a failed resolution: has ``hold STATUS`` passed since the last valid answer?"""
    hold = conf.hold.get(status, conf.hold["other"])
    if last_valid is None:
        return True
    return now - last_valid >= hold


def status_of_rcode(rcode: int) -> str:
    from haproxy_py.dns.message import NOERROR, NXDOMAIN, REFUSED

    if rcode == NOERROR:
        return "valid"
    if rcode == NXDOMAIN:
        return "nx"
    if rcode == REFUSED:
        return "refused"
    return "other"


class NsCounters:
    """A nameserver's counters, in the order ``show resolvers`` prints them."""

    __slots__ = ("sent", "snd_error", "valid", "update", "cname", "cname_error", "any_err", "nx", "timeout",
                 "refused", "other", "invalid", "too_big", "truncated", "outdated")

    def __init__(self) -> None:
        self.sent = self.snd_error = self.valid = self.update = self.cname = self.cname_error = 0
        self.any_err = self.nx = self.timeout = self.refused = self.other = self.invalid = 0
        self.too_big = self.truncated = self.outdated = 0


def _in_nets(ip: str, nets: tuple[str, ...]) -> bool:
    a = ipaddress.ip_address(ip)
    for n in nets:
        try:
            net = ipaddress.ip_network(n, strict=False)
        except ValueError:
            continue
        if net.version == a.version and a in net:
            return True
    return False


def choose_ip(records: list[str], current: str, prefer: str, nets: tuple[str, ...], used: set[str],
              allow_dup: bool) -> tuple[str | None, bool]:
    """2.6's choice of a server's address among a resolution's records (``records`` in 2.6's order,
    dns/order.py): each record scores 8 for the preferred family, 4 within a ``resolve-net``, 2 when
    no other server of the backend took it from this resolution (``used``; with
    ``resolve-opts prevent-dup-ip``, 2.6's default, such a record is not a candidate at all), 1 for
    the server's current address; the best score wins, the first one on a tie. Returns the
    address (None: none fits, "No IP for server") and whether it is the current one."""
    fam = 6 if prefer == "ipv6" else 4
    best: str | None = None
    best_score = -1
    best4: str | None = None
    best6: str | None = None
    cur_found = False
    for ip in records:
        v = 6 if ":" in ip else 4
        score = 8 if v == fam else 0
        if nets and _in_nets(ip, nets):
            score += 4
        if ip in used:
            if not allow_dup:
                continue
        else:
            score += 2
        is_cur = ip == current
        if is_cur:
            score += 1
        if score > best_score:
            if v == 4:
                best4 = ip
            else:
                best6 = ip
            best = ip
            cur_found = is_cur
            best_score = score
            if score == 15:
                return ip, True
    if best is None:
        return None, False
    chosen = (best4 or best6) if fam == 4 else (best6 or best4)
    return chosen, cur_found and chosen == current
