"""The whole live process, as the runtime API and the stats page see it. Pure.

CONTRACT: the engine builds one ``ProcessState`` from the config model and keeps it current;
stats/ (CLI, CSV, page, prometheus), checks/ and the TUI-facing socket read and change it.
"""

from __future__ import annotations

import os
from typing import Any

from haproxy_py.config.model import Config
from haproxy_py.runtime import limits
from haproxy_py.runtime.counters import FreqCtr
from haproxy_py.runtime.ops import Detached, EngineOps


def default_maxconn(fd_hard_limit: int | None = None) -> int:
    """HAProxy's default when ``maxconn`` is unset: derived from the file-descriptor limit at boot
    (20000 -> 9986, 4096 -> 2034: half of what is left after 28 reserved fds; runtime/limits.py)."""
    if limits.BOOT is not None:
        return limits.ideal_maxconn(*limits.BOOT, fd_hard_limit)
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError, OSError):
        return 2000
    return limits.ideal_maxconn(soft, hard, fd_hard_limit)


class ProcessState:
    def __init__(self, config: Config, *, now: float, wall: float, pid: int | None = None) -> None:
        self.config = config
        self.pid = pid if pid is not None else os.getpid()
        #: the one ongoing 'set ssl cert' transaction, as 2.6 keeps one (empty or one entry: file
        #: name -> tls/certs.py CertFile), and the committed certificates (file name -> CertFile)
        self.tls_tx: dict[str, Any] = {}
        self.tls_certs: dict[str, Any] = {}
        #: CA files made by 'new ssl ca-file' (name -> PEM blocks) and those 'del ssl ca-file' removed
        self.tls_ca_new: dict[str, list[str]] = {}
        self.tls_ca_deleted: set[str] = set()
        #: the one ongoing 'set ssl ca-file' transaction: (name, PEM blocks)
        self.tls_ca_tx: tuple[str, list[str]] | None = None
        #: the same for CRL files: made or committed (name -> PEM blocks), deleted, the transaction
        self.tls_crl_new: dict[str, list[str]] = {}
        self.tls_crl_deleted: set[str] = set()
        self.tls_crl_tx: tuple[str, list[str]] | None = None
        #: OCSP responses 'set ssl ocsp-response' stapled: CertID (DER) -> DER response
        self.tls_ocsp: dict[bytes, bytes] = {}
        #: the crt-lists as 'add/del ssl crt-list' left them (None: as configured, read when asked)
        self.tls_lists: dict[str, Any] | None = None
        #: this worker's index (from 0) when nbthread N runs N workers: the thread fetch
        self.thread = 0
        #: a worker's end of its link to the master CLI (show cli sockets), None without a master
        self.master_cli_fd: int | None = None
        #: the cache sections' storage (http/cache.py Caches), set by the engine; None: none yet
        self.caches: Any = None
        self.start_mono = now
        self.start_wall = wall
        g = config.global_
        self.maxconn = g.maxconn if g.maxconn is not None else default_maxconn(g.fd_hard_limit)
        #: show info's Maxsock and Ulimit-n (what the process asked for: runtime/limits.py)
        self.maxsock = limits.maxsock_for(self.maxconn)
        self.ulimit_n = limits.NOFILE or g.ulimit_n or self.maxsock
        self.hard_maxconn = self.maxconn
        #: maxsslconn (0: none) and the TLS connections counted against it, both sides (the TLS
        #: listeners' from their accept, the servers' from their handshake's start: show info's
        #: CurrSslConns, and CumSslConns); the frontends' TLS connections accepted per second
        #: (SslRate) and their full handshakes (SslFrontendKeyRate), the servers' full handshakes
        #: (SslBackendKeyRate)
        self.maxsslconn = g.maxsslconn or 0
        self.curr_ssl = 0
        self.cum_ssl = 0
        self.ssl_rate = FreqCtr()
        self.ssl_fe_keys = FreqCtr()
        self.ssl_be_keys = FreqCtr()
        #: the listeners' TLS session cache (tls/context.py): resumptions by session ID looked up,
        #: and those it had no session for (show info's SslCacheLookups, SslCacheMisses)
        self.ssl_cache_lookups = 0
        self.ssl_cache_misses = 0
        self.ssl_rate_limit = g.maxsslrate or 0  # maxsslrate (show info's SslRateLimit)
        #: the compressor's input and output bytes per second (show info's CompressBpsIn/Out) and
        #: maxcomprate in bytes (CompressBpsRateLim; 0: none): above it a response is not compressed
        self.comp_bps_in = FreqCtr()
        self.comp_bps_out = FreqCtr()
        self.comp_rate_lim = (g.maxcomprate or 0) * 1024
        #: tune.comp.maxlevel, and maxcompcpuusage as 2.6's compress_min_idle (idle % below which
        #: compression is not started and its level goes down; 0: no check) with the idle % the
        #: engine measures each second while that check is on
        self.comp_maxlevel = g.tune_comp_maxlevel
        self.comp_min_idle = 100 - g.maxcompcpuusage
        self.idle_pct = 100
        self.node = g.node or os.uname().nodename
        self.description = g.description or ""
        #: proxies in iid order: each entry has ``.frontend`` (runtime Frontend or None) and
        #: ``.backend`` (runtime Backend or None); built by the engine
        self.proxies: list[Any] = []
        self.frontends: dict[str, Any] = {}
        self.backends: dict[str, Any] = {}
        # process-wide counters (show info)
        self.curr_conns = 0
        self.cum_conns = 0
        self.cum_req = 0
        self.conn_rate = FreqCtr()
        self.sess_rate = FreqCtr()
        self.rate_limit_sessions = 0  # maxsessrate
        self.conn_rate_limit = 0  # maxconnrate
        self.dropped_logs = 0
        #: messages received by log-forward sections (show info CumRecvLogs)
        self.recv_logs = 0
        self.total_bytes_out = 0
        self.spliced_bytes_out = 0
        self.stopping = False
        self.jobs = 0
        self.listeners = 0
        #: ``show errors`` captures (dicts), as 2.6 keeps them: the last one of each proxy and
        #: direction (``capture_error``); ``error_events`` counts every capture ever made
        self.errors: list[dict[str, Any]] = []
        self.error_events = 0
        #: the map and ACL pattern references (samples/patref.py Store), set by the engine
        self.patrefs: Any = None
        #: live sessions for ``show sess`` (engine objects)
        self.sessions: set[Any] = set()
        #: event loop and build facts for -vv / show info
        self.loop_name = "asyncio"
        #: the engine's operations (runtime/ops.py): the engine installs itself; without one, the
        #: pure parts only
        self.ops: EngineOps = Detached(self)
        #: show resolvers: (section, [(nameserver, counters)]), filled by the engine
        self.resolvers: list[tuple[str, list[tuple[str, Any]]]] = []
        #: stick tables by proxy name, in declaration order (haproxy_py.stick.table.StickTable)
        self.tables: dict[str, Any] = {}
        #: the running peers sections (stick/peersync.py Sync), for ``show peers``
        self.peer_syncs: list[Any] = []
        #: some rule tracks stick counters: only then do sessions count on tracked entries (a table
        #: nothing tracks costs nothing per request)
        self.tracking = any(getattr(r.impl, "stick", False) for p in config.proxies for r in p.http_rules)
        peers_tables: list[Any] = []
        if any(s.kind == "peers" for s in config.other_sections):
            from haproxy_py.stick.peersconf import tables as _peers_tables

            peers_tables = _peers_tables(config.other_sections)
        if peers_tables or any(p.stick_table is not None for p in config.proxies):
            from haproxy_py.stick.table import StickTable, with_types

            sticky = {r.table for p in config.proxies for _c, r in p.stick_rules}
            # in declaration order (show table lists them backwards, as 2.6 does)
            files = list(config.files)
            locs = {s.name: s.loc for s in config.other_sections if s.kind == "peers"}
            placed = [(locs[c.peers], c) for c in peers_tables if c.peers in locs]
            placed += [(p.loc, p.stick_table) for p in config.proxies if p.stick_table is not None]
            placed.sort(key=lambda x: (files.index(x[0].file) if x[0].file in files else 0, x[0].line))
            for _loc, conf in placed:
                if conf.name in sticky:  # 2.6: a table stick rules use keeps the server's id and name
                    conf = with_types(conf, ("server_id", "server_key"))
                self.tables[conf.name] = StickTable(conf)

    def capture_error(self, entry: dict[str, Any]) -> None:
        """A ``show errors`` capture: 2.6 numbers every capture (from 0) and keeps the last one
        of each proxy per direction (a request's frontend, a response's backend)."""
        entry["event"] = self.error_events
        self.error_events += 1
        kind = entry.get("kind", "request")
        iid = entry.get("fe_iid") if kind == "request" else entry.get("be_iid")
        errs = self.errors
        for i, e in enumerate(errs):
            if e.get("kind", "request") == kind and (e.get("fe_iid") if kind == "request" else e.get("be_iid")) == iid:
                del errs[i]
                break
        errs.append(entry)

    def uptime(self, now: float) -> float:
        return now - self.start_mono
