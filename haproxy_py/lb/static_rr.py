"""``balance static-rr``: the map table of lb_map.c walked with a rotating index (HAPROXY_FACTS 3.3).

Weights are gcd-reduced; runtime weight changes are limited to 0% / 100% (the backend enforces it).
"""

from __future__ import annotations

from typing import Any

from haproxy_py.lb.base import LbRequest
from haproxy_py.lb.hash_map import MapBased


class StaticRR(MapBased):
    name = "static-rr"
    dynamic = False
    kind = "rr"

    def pick(self, req: LbRequest | None, avoid: Any) -> Any:
        return self.next_rr(avoid)
