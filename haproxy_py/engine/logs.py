"""Per-proxy loggers for the engine: traffic lines (formatted only when a target takes them) and
event messages (state changes, alerts). Thin glue over log/format.py and log/syslog.py."""

from __future__ import annotations

from typing import Any

from haproxy_py.config.model import Config, Proxy
from haproxy_py.log.format import LogRecord, connect_line, formatter_for, should_log, traffic_severity
from haproxy_py.log.syslog import DEFAULT_POOL, Logger, global_logger, logger_for_proxy, severity_of
from haproxy_py.samples import LOG_SAMPLES


class ProxyLogger:
    """The logger of one proxy (frontend side for traffic)."""

    __slots__ = ("logger", "fmt", "dontlognull", "dontlog_normal", "separate_errors", "state", "default_line",
                 "active", "needs_txn")

    def __init__(self, logger: Logger, proxy: Proxy | None, state: Any) -> None:
        self.logger = logger
        self.state = state
        self.fmt = None
        self.default_line = False
        if proxy is not None:
            style = proxy.log_style
            if proxy.mode != "http" and style.startswith(("httplog", "httpslog")):
                style = "tcplog"
            try:
                self.fmt = formatter_for(style, proxy.log_format, samples=LOG_SAMPLES)
            except Exception:  # noqa: BLE001 - config validation reports bad formats
                self.fmt = None
            self.default_line = self.fmt is None
            self.dontlognull = proxy.option("dontlognull")
            self.dontlog_normal = proxy.option("dontlog-normal")
            self.separate_errors = proxy.option("log-separate-errors")
        else:
            self.dontlognull = self.dontlog_normal = self.separate_errors = False
        #: traffic lines will be sent somewhere (the engine skips filling records otherwise)
        self.active = bool(logger.targets) and self.fmt is not None and logger.wants(6 if not
                                                                                     self.separate_errors else 3)
        #: the log-format has %[expr]: the engine gives the record its session's samples Txn
        #: (``rec.txn``) at log time; False for every other format (nothing is made for them)
        self.needs_txn = self.active and bool(getattr(self.fmt, "has_samples", False))

    def log_session(self, rec: LogRecord, proxy: Proxy, *, error: bool = False) -> None:
        """End-of-session (tcp) or end-of-request (http) line."""
        lg = self.logger
        if not lg.targets or self.fmt is None:
            return
        if not should_log(rec, dontlognull=self.dontlognull, dontlog_normal=self.dontlog_normal):
            return
        sev = traffic_severity(rec, separate_errors=self.separate_errors)
        if rec.log_level is not None:  # http-request / http-response set-log-level
            if rec.log_level < 0:
                return
            sev = rec.log_level
        if not lg.wants(sev):
            return
        try:
            line = self.fmt(rec)
        except Exception:  # noqa: BLE001 - never break traffic because of a log line
            self.state.dropped_logs += 1
            return
        lg.send(sev, line)

    def log_connect(self, rec: LogRecord) -> None:
        """The default 'Connect from' line when a proxy has neither httplog nor tcplog."""
        lg = self.logger
        if not lg.targets or not self.default_line or not lg.wants(6):
            return
        try:
            lg.send(6, connect_line(rec.client_ip, rec.client_port, rec.frontend_ip, rec.frontend_port,
                                    rec.frontend_name, rec.http))
        except Exception:  # noqa: BLE001
            self.state.dropped_logs += 1

    def send_text(self, severity: str | int, text: str) -> None:
        sev = severity if isinstance(severity, int) else severity_of(severity)
        self.logger.send(sev, text)

    def close(self) -> None:
        return None


def build_loggers(config: Config, state: Any) -> dict[str, ProxyLogger]:
    """One logger per proxy (key = proxy name) plus the global one (key "")."""
    g = config.global_
    out: dict[str, ProxyLogger] = {"": ProxyLogger(global_logger(g), None, state)}
    for p in config.proxies:
        out[p.name] = ProxyLogger(logger_for_proxy(p, g), p, state)
    return out


def dropped_total() -> int:
    return DEFAULT_POOL.dropped
