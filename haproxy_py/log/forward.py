"""``log-forward`` sections, the pure part: a received syslog message is parsed (its priority,
then an RFC 5424 or an RFC 3164 header) and sent again to each ``log`` target of the section with
a header of the target's format rebuilt from what was parsed, as HAProxy 2.6 does:

* ``<PRI>``: facility = PRI >> 3, level = PRI & 7; without one the target's facility and level
  0 (emerg) are used; a target takes the message when its level >= the message's;
* RFC 5424 (``<PRI>1 TIME HOST TAG PID MSGID SD MSG``, ``-`` for an absent field) or RFC 3164
  (``<PRI>Mmm dd hh:mm:ss HOST [TAG[[PID]]: ]MSG``); a header that does not follow the form
  keeps only its priority and the rest is the message (2.6.12 drops the last two bytes of a
  message whose header starts as RFC 5424 and then breaks the form: reproduced);
* a target without ``format`` picks one from what was received: rfc5424 when there is a host and
  an ISO (or ``-``) time, rfc3164 with a host, ``local`` with a tag only, ``priority`` with a
  priority only, ``raw`` otherwise; the received time is reused (converted between the two
  forms), the current time only when none was received;
* TCP: octet counting (``LEN MSG``) or lines ended by LF or CR LF (RFC 6587).

(tests/integration/test_rings_vs_haproxy.py::test_log_forward_relays_as_haproxy)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from haproxy_py.log.syslog import iso_time

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_B = tuple(m.encode() for m in _MONTHS)
_LEGACY_LEN = 15  # "Mmm dd hh:mm:ss"
_ISO_MIN = 20  # "1970-01-01T00:00:00Z"


@dataclass
class Parsed:
    level: int = -1
    facility: int = -1
    prio: bytes = b""
    time: bytes = b""
    host: bytes = b""
    tag: bytes = b""
    pid: bytes = b""
    msgid: bytes = b""
    sd: bytes = b""
    message: bytes = field(default=b"")


def _nil(v: bytes) -> bytes:
    return b"" if v == b"-" else v


def parse_message(buf: bytes) -> Parsed:
    """What 2.6 reads of one received message."""
    p = Parsed(message=buf)
    n = len(buf)
    if n < 2 or buf[0:1] != b"<":
        return p
    end = buf.find(b">", 1)
    if end < 0 or (end > 1 and not buf[1:end].isdigit()):
        return p
    if end == 1:  # "<>": 0, as a loop over no digits gives
        val = 0
    else:
        val = int(buf[1:end])
    p.facility, p.level = val >> 3, val & 7
    p.prio = buf[:end + 1]
    rest = buf[end + 1:]
    p.message = rest
    if len(rest) > 2 and rest[:2] == b"1 ":
        if not _rfc5424(p, rest):
            # 2.6.12 then forwards what follows the priority without its last two bytes
            p.time = p.host = p.tag = p.pid = p.msgid = p.sd = b""
            p.message = rest[:-2]
    elif len(rest) > _LEGACY_LEN:
        if not _rfc3164(p, rest):
            p.time = p.host = p.tag = p.pid = p.msgid = p.sd = b""
    return p


def _rfc5424(p: Parsed, s: bytes) -> bool:
    n = len(s)
    i = 2
    if s[i:i + 2] == b"- ":
        p.time = b"-"
        i += 1
    elif n > _ISO_MIN:
        j = i + 19
        if s[j:j + 1] == b".":
            j += 1
            while True:
                if j >= n:
                    return False
                c = s[j:j + 1]
                if c in (b"Z", b"+", b"-"):
                    break
                if not c.isdigit():
                    return False
                j += 1
        j = j + 1 if s[j:j + 1] == b"Z" else j + 6
        if j >= n or s[j:j + 1] != b" ":
            return False
        p.time = s[i:j]
        i = j
    else:
        return False
    fields = []
    for _ in range(4):  # host, tag, pid, msgid
        i += 1
        if i >= n or s[i:i + 1] == b" ":
            return False
        j = s.find(b" ", i)
        if j < 0:
            return False
        fields.append(_nil(s[i:j]))
        i = j
    p.host, p.tag, p.pid, p.msgid = fields
    i += 1
    if i >= n or s[i:i + 1] == b" ":
        return False
    start = i
    if s[i:i + 1] == b"[":
        elem = False
        while True:
            c = s[i:i + 1]
            if elem:
                if c == b"]" and s[i - 1:i] != b"\\":
                    elem = False
            elif c == b"[":
                elem = True
            elif c == b" ":
                break
            else:
                return False
            i += 1
            if i >= n:
                return False
    elif s[i:i + 1] == b"-":
        i += 1
        if i >= n or s[i:i + 1] != b" ":
            return False
    else:
        return False
    p.sd = _nil(s[start:i])
    p.message = s[i + 1:]
    return True


def _rfc3164(p: Parsed, s: bytes) -> bool:
    n = len(s)
    if s[:3] not in _MONTHS_B:
        return False
    p.time = s[:_LEGACY_LEN]
    i = _LEGACY_LEN
    if i >= n or s[i:i + 1] != b" ":
        return False
    i += 1
    if i >= n or s[i:i + 1] == b" ":
        return False
    j = s.find(b" ", i)
    if j < 0:
        return False
    p.host = s[i:j]
    rest = s[j + 1:]
    p.message = rest
    if not rest:
        return True
    k = 0
    while k < len(rest) and rest[k:k + 1] not in (b" ", b":"):
        k += 1
    if k >= len(rest) or rest[k:k + 1] != b":" or rest[k + 1:k + 2] != b" ":
        return True
    # the tag, and the pid in brackets
    tag_len = -1
    pid_start = -1
    q = 0
    while rest[q:q + 1] != b":":
        c = rest[q:q + 1]
        if c == b"[":
            tag_len = q
            pid_start = q + 1
        elif c == b"]" and pid_start >= 0:
            if rest[q + 1:q + 2] != b":":
                return True
            p.pid = rest[pid_start:q]
        q += 1
    p.tag = rest[:tag_len] if tag_len > 0 else rest[:q]
    p.message = rest[q + 2:]
    return True


def pick_format(fmt: str | None, p: Parsed) -> str:
    """The format of a target (None: no ``format`` given) for this message."""
    if fmt is not None:
        return fmt
    if p.host:
        if p.time == b"-" or len(p.time) >= _ISO_MIN:
            return "rfc5424"
        return "rfc3164"
    if p.tag:
        return "local"
    if p.prio:
        return "priority"
    return "raw"


def header(fmt: str, level: int, facility: int, p: Parsed, now: float) -> bytes:
    """The header 2.6 builds for one target from the parsed message (``fmt`` already picked)."""
    out = []
    if fmt in ("local", "rfc3164", "rfc5424", "priority"):
        out.append(b"<%d>" % ((facility << 3) + level))
    elif fmt in ("timed", "short"):
        out.append(b"<%d>" % level)
    t = p.time
    if fmt in ("local", "rfc3164"):
        month = -1
        if len(t) >= _ISO_MIN and t[5:7].isdigit():
            month = max(int(t[5:7]) - 1, 0)
        if len(t) == _LEGACY_LEN:
            out.append(t + b" ")
        elif 0 <= month <= 11:
            day = t[8:9] if t[8:9] != b"0" else b" "
            out.append(_MONTHS_B[month] + b" " + day + t[9:10] + b" " + t[11:19] + b" ")
        else:
            tm = time.localtime(now)
            out.append(f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:"
                       f"{tm.tm_sec:02d} ".encode())
    elif fmt in ("rfc5424", "timed", "iso"):
        if fmt == "rfc5424":
            out.append(b"1 ")
        if fmt == "rfc5424" and t == b"-":
            out.append(b"- ")
        elif len(t) >= _ISO_MIN:
            out.append(t + b" ")
        elif len(t) == _LEGACY_LEN and t[:3] in _MONTHS_B:
            month = _MONTHS_B.index(t[:3])
            tm = time.localtime(now)
            year = tm.tm_year - (1 if tm.tm_mon - 1 < month else 0)
            day = t[4:5] if t[4:5] != b" " else b"0"
            out.append(b"%4d-%02d-" % (year, month + 1) + day + t[5:6] + b"T" + t[7:15] + b"-00:00 ")
        else:
            out.append(iso_time(now).encode() + b" ")
    if fmt == "rfc3164":
        out.append((p.host or b"localhost") + b" ")
    if fmt in ("rfc3164", "local") and p.tag:
        out.append(p.tag)
        if p.pid:
            out.append(b"[" + p.pid + b"]")
        out.append(b": ")
    elif fmt == "rfc5424":
        for v in (p.host, p.tag, p.pid, p.msgid, p.sd):
            out.append((v or b"-") + b" ")
    return b"".join(out)


def datagram(fmt: str | None, maxlen: int, t_facility: int, t_level: int, t_minlevel: int, p: Parsed,
             now: float) -> bytes | None:
    """What one target (its format or None, ``len``, facility, level, minlevel) sends for a
    parsed message, or None when the message's level is above the target's."""
    if p.level > t_level:
        return None
    level = max(p.level, t_minlevel)
    facility = t_facility if p.facility == -1 else p.facility
    hdr = header(pick_format(fmt, p), level, facility, p, now)
    msg = p.message
    while msg and msg[-1] in (10, 0):
        msg = msg[:-1]
    data = (hdr + msg)[:maxlen]
    return data + b"\n"


def octet_frames(buf: bytearray) -> tuple[list[bytes], bool]:
    """The complete messages at the start of a TCP stream's buffer (consumed from it), and False
    when the stream is not framed as RFC 6587 says (2.6 closes the connection)."""
    out: list[bytes] = []
    while buf:
        c = buf[0]
        if c == 0x3C:  # '<': LF-terminated
            j = buf.find(b"\n")
            if j < 0:
                break
            line = bytes(buf[:j])
            if line.endswith(b"\r"):
                line = line[:-1]
            out.append(line)
            del buf[:j + 1]
        elif 0x31 <= c <= 0x39:
            sp = buf.find(b" ")
            if sp < 0:
                break
            head = bytes(buf[:sp])
            if not head.isdigit():
                return out, False
            n = int(head)
            if n > 65536:
                return out, False
            if len(buf) < sp + 1 + n:
                break
            out.append(bytes(buf[sp + 1:sp + 1 + n]))
            del buf[:sp + 1 + n]
        else:
            return out, False
    return out, True
