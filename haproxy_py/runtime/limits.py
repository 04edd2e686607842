"""The process's file-descriptor budget as HAProxy 2.6 sizes it: ``maxconn``, ``ulimit-n``,
``fd-hard-limit`` and ``strict-limits``. Pure: the descriptor limits found at boot are passed in.

2.6's sizing: without ``maxconn``, it is half of what remains of the boot limit (the larger of
the soft and hard ones, capped by ``fd-hard-limit``) after 28 reserved descriptors; ``maxsock`` is
``2 * maxconn + 28`` (+2 per configured pipe); the process asks for ``ulimit-n`` or else
``maxsock`` descriptors, raising only (a lower request leaves the limit as it is); what it asked
for is what ``show info`` reports as ``Ulimit-n``.

Public API:
    ideal_maxconn(boot_soft, boot_hard, fd_hard_limit) -> int
    plan(maxconn, ulimit_n, fd_hard_limit, boot_soft, boot_hard) -> FdPlan
    BOOT, NOFILE: what process.apply_fd_limits found and settled on (None before it ran)
"""

from __future__ import annotations

from dataclasses import dataclass

#: descriptors 2.6 keeps aside (std streams, pollers, wake-up pipes, logs ...)
RESERVED = 28
#: stands for an unlimited descriptor limit (2.6 then caps maxconn by its build's maximum)
UNLIMITED_REMAIN = 1 << 20

#: (soft, hard) descriptor limits before the process changed them
BOOT: tuple[int, int] | None = None
#: the Ulimit-n the process settled on (what it asked for, or what it got without strict-limits)
NOFILE: int | None = None


@dataclass(frozen=True, slots=True)
class FdPlan:
    maxconn: int
    maxsock: int
    #: the soft limit to ask for
    nofile: int


def ideal_maxconn(boot_soft: int, boot_hard: int, fd_hard_limit: int | None) -> int:
    remain = max(boot_soft, boot_hard)
    if remain < 0 or remain >= UNLIMITED_REMAIN:  # RLIM_INFINITY
        remain = UNLIMITED_REMAIN
    if fd_hard_limit and remain > fd_hard_limit:
        remain = fd_hard_limit
    return max(1, (remain - RESERVED) // 2)


def maxsock_for(maxconn: int, maxpipes: int = 0) -> int:
    return 2 * maxconn + 2 * maxpipes + RESERVED


def plan(maxconn: int | None, ulimit_n: int | None, fd_hard_limit: int | None,
         boot_soft: int, boot_hard: int) -> FdPlan:
    mc = maxconn if maxconn else ideal_maxconn(boot_soft, boot_hard, fd_hard_limit)
    ms = maxsock_for(mc)
    return FdPlan(mc, ms, ulimit_n or ms)


def cannot_raise(program: str, wanted: int, limit: int) -> str:
    return f"[{program}.main()] Cannot raise FD limit to {wanted}, limit is {limit}."


def too_low(program: str, limit: int, maxconn: int, maxsock: int) -> str:
    return (f"[{program}.main()] FD limit ({limit}) too low for maxconn={maxconn}/maxsock={maxsock}. "
            f"Please raise 'ulimit-n' to {maxsock} or more to avoid any trouble.")
