"""Words to model: sections, keywords, defaults inheritance, cross-references, semantic checks.

Entry point: :class:`Builder`, used by :func:`haproxy_py.config.build_config` (statements of
several files -> ``(Config, Diagnostics)``).
Pure apart from checking that referenced files (ACL pattern files, errorfiles) can be read and
looking up users/groups, like ``haproxy -c`` does.

One module per section or feature, each a mixin of :class:`base.BuilderBase` holding that
feature's keyword handlers (``kw_NAME`` for proxy keywords, ``opt_NAME`` for options with
arguments): sections, global_, proxy, timeouts, logs, options, balance, cookie, bind, servers, acl,
retry, rules, refs, checks, stats, capture, errorfiles, http_features, stick, freeze, post. A new feature is a new
module whose mixin is added to :class:`Builder`'s bases (one a line).
"""

from __future__ import annotations

from haproxy_py.config.build.acl import AclMixin
from haproxy_py.config.build.balance import BalanceMixin
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.bind import BindMixin
from haproxy_py.config.build.cache import CacheMixin
from haproxy_py.config.build.capture import CaptureMixin
from haproxy_py.config.build.checks import ChecksMixin
from haproxy_py.config.build.compression import CompressionMixin
from haproxy_py.config.build.cookie import CookieMixin
from haproxy_py.config.build.errorfiles import ErrorfilesMixin
from haproxy_py.config.build.fcgi import FcgiMixin
from haproxy_py.config.build.freeze import FreezeMixin
from haproxy_py.config.build.global_ import GlobalMixin
from haproxy_py.config.build.http_features import HttpFeaturesMixin
from haproxy_py.config.build.logs import LogsMixin
from haproxy_py.config.build.options import OptionsMixin
from haproxy_py.config.build.post import PostChecksMixin
from haproxy_py.config.build.proxy import ProxyMixin
from haproxy_py.config.build.refs import RefsMixin
from haproxy_py.config.build.retry import RetryMixin
from haproxy_py.config.build.rings import LogForwardMixin, RingsMixin
from haproxy_py.config.build.rules import RulesMixin
from haproxy_py.config.build.sections import SectionsMixin
from haproxy_py.config.build.servers import ServersMixin
from haproxy_py.config.build.sockopts import SockoptsMixin
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.build.stats import StatsMixin
from haproxy_py.config.build.stick import StickMixin
from haproxy_py.config.build.timeouts import TimeoutsMixin

__all__ = ["Builder", "BuilderBase", "ProxyState", "_Skip"]


class Builder(
    SectionsMixin,
    GlobalMixin,
    ProxyMixin,
    RetryMixin,
    TimeoutsMixin,
    LogsMixin,
    OptionsMixin,
    BalanceMixin,
    CookieMixin,
    BindMixin,
    ServersMixin,
    AclMixin,
    RefsMixin,
    RulesMixin,
    ChecksMixin,
    StatsMixin,
    CaptureMixin,
    ErrorfilesMixin,
    HttpFeaturesMixin,
    CompressionMixin,
    CacheMixin,
    FcgiMixin,
    StickMixin,
    SockoptsMixin,
    RingsMixin,
    LogForwardMixin,
    FreezeMixin,
    PostChecksMixin,
):
    """Reads statements (from one or more files) and produces the model."""
