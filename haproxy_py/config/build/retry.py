"""``retry-on``: which failures of a request to a server make the backend try again (2.6's
proxy_parse_retry_on). The runtime is runtime/backend.py (``on_connect_error``, ``on_l7_error``)
and engine/http.py (the layer 7 retries: the request is kept and sent again)."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.tokenizer import Line

#: the status codes 2.6.12 accepts
STATUSES = ("401", "403", "404", "408", "425", "500", "501", "502", "503", "504")
#: the events (and statuses) that need the request kept for a second send (everything but
#: conn-failure, which happens before anything was sent)
EVENTS = ("conn-failure", "empty-response", "junk-response", "response-timeout", "0rtt-rejected")
ALL_RETRYABLE = frozenset(("conn-failure", "empty-response", "junk-response", "response-timeout",
                           "0rtt-rejected", "500", "502", "503", "504"))


class RetryMixin(BuilderBase):
    def kw_retry_on(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "'retry-on' needs at least one keyword to specify when to retry", 0)
        if not p.is_defaults and not (p.caps & K.BE):
            self.fail(ln, "'retry-on' only available in backend or listen section", 0)
        got: set[str] = set()
        for i, word in enumerate(w[1:], 1):
            if word in EVENTS or word in STATUSES:
                if word == "0rtt-rejected":
                    # only requests sent as TLS early data (a server's allow-0rtt, refused) can be
                    # rejected so: haproxy-py never sends any
                    self.fail(ln, S.PROXY.refusal("retry-on", "retry-on 0rtt-rejected") + " haproxy-py "
                              "never sends TLS early data to servers ('allow-0rtt' is refused)", i, ours=True)
                got.add(word)
            elif word == "all-retryable-errors":
                got |= ALL_RETRYABLE
            elif word == "none":
                if i != 1 or len(w) > 2:
                    self.fail(ln, "'retry-on' 'none' keyworld only usable alone", i)
            else:
                self.fail(ln, f"'retry-on': unknown keyword '{word}'", i)
        p.f["retry_on"] = frozenset(got)
