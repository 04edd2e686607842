"""``balance random[(N)]`` (HAPROXY_FACTS 3.10): N random draws on the consistent-hash ring, the
least loaded (served/eweight) wins; nothing (-> backend queue) when the winner is full. Pure: the
random source is injectable (``rand32``) so tests are reproducible."""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from typing import Any

from haproxy_py.lb.base import LbRequest
from haproxy_py.lb.hash_consistent import ConsistentHash


class RandomLB(ConsistentHash):
    name = "random"
    dynamic = True
    kind = "rr"

    def __init__(self, allbackups: bool = False, draws: int = 2,
                 rand32: Callable[[], int] | None = None) -> None:
        super().__init__(allbackups)
        self.draws = max(1, draws)
        if rand32 is None:
            r = _random.Random()
            rand32 = lambda: r.getrandbits(32)  # noqa: E731
        self.rand32: Callable[[], int] = rand32

    def pick(self, req: LbRequest | None, avoid: Any) -> Any:
        if not self.params.tot_weight:
            return None
        curr = None
        for _ in range(self.draws):
            prev = curr
            curr = self.lookup(self.rand32() & 0xFFFFFFFF, avoid)
            if curr is None:
                break
            if (prev is not None and prev is not curr
                    and curr.served * prev.lb.eweight > prev.served * curr.lb.eweight):
                curr = prev
        if curr is not None and (len(curr.queue) or (curr.maxconn and curr.served >= curr.effective_maxconn())):
            return None
        return curr
