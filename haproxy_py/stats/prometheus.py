"""The built-in Prometheus exporter (``http-request use-service prometheus-exporter``), text format. Pure.

Same metric names, HELP/TYPE lines, label sets, metric order and row coverage as HAProxy 2.6.12's
exporter (checked by tests/differential/test_stats_vs_haproxy.py):

* one block per metric: ``# HELP``, ``# TYPE``, then one sample per object (process, every frontend,
  every backend, every server), in proxy/server order;
* an object whose ``show stat`` field is empty gets ``NaN`` (e.g. ``limit_sessions`` of a server without
  maxconn, ``check_failures_total`` of a server without checks);
* HTTP-only metrics are skipped on proxies not in ``mode http``; ``check_status``/``check_code``/
  ``check_duration_seconds`` only exist for servers with ``check``; ``agg_*`` only for backends that
  have servers;
* state gauges (``status``, ``check_status``, ``agg_*``) print one sample per possible state;
  ``http_responses_total`` prints code by code, each code for every object;
* times are seconds with six decimals (``0.001000``).

Values come from the same rows as ``show stat`` (stats.csv.collect) and the ``show info`` fields.

    render(state, now, wall, query="") -> str        query: the URL's query string (``scope=...``,
                                                      ``no-maint``), as HAProxy's exporter accepts
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from haproxy_py.stats.csv import P, Row, StatFilter, collect
from haproxy_py.stats.info import info_fields

#: (section, metric suffix, type, help) in HAProxy 2.6's output order
METRICS: list[tuple[str, str, str, str]] = [
    ('process', 'nbthread', 'gauge',
     'Number of started threads (global.nbthread)'),
    ('process', 'nbproc', 'gauge',
     'Number of started worker processes (historical, always 1)'),
    ('process', 'relative_process_id', 'gauge',
     'Relative worker process number (1)'),
    ('process', 'uptime_seconds', 'gauge',
     'How long ago this worker process was started (seconds)'),
    ('process', 'pool_failures_total', 'counter',
     'Number of failed pool allocations since this worker was started'),
    ('process', 'max_fds', 'gauge',
     'Hard limit on the number of per-process file descriptors'),
    ('process', 'max_sockets', 'gauge',
     'Hard limit on the number of per-process sockets'),
    ('process', 'max_connections', 'gauge',
     'Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)'),
    ('process', 'hard_max_connections', 'gauge',
     'Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)'),
    ('process', 'current_connections', 'gauge',
     'Current number of connections on this worker process'),
    ('process', 'connections_total', 'counter',
     'Total number of connections on this worker process since started'),
    ('process', 'requests_total', 'counter',
     'Total number of requests on this worker process since started'),
    ('process', 'max_ssl_connections', 'gauge',
     'Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited'),
    ('process', 'current_ssl_connections', 'gauge',
     'Current number of SSL endpoints on this worker process (front+back)'),
    ('process', 'ssl_connections_total', 'counter',
     'Total number of SSL endpoints on this worker process since started (front+back)'),
    ('process', 'max_pipes', 'gauge',
     'Hard limit on the number of pipes for splicing, 0=unlimited'),
    ('process', 'pipes_used_total', 'counter',
     'Current number of pipes in use in this worker process'),
    ('process', 'pipes_free_total', 'counter',
     'Current number of allocated and available pipes in this worker process'),
    ('process', 'current_connection_rate', 'gauge',
     'Number of front connections created on this worker process over the last second'),
    ('process', 'limit_connection_rate', 'gauge',
     'Hard limit for ConnRate (global.maxconnrate)'),
    ('process', 'max_connection_rate', 'gauge',
     'Highest ConnRate reached on this worker process since started (in connections per second)'),
    ('process', 'current_session_rate', 'gauge',
     'Number of sessions created on this worker process over the last second'),
    ('process', 'limit_session_rate', 'gauge',
     'Hard limit for SessRate (global.maxsessrate)'),
    ('process', 'max_session_rate', 'gauge',
     'Highest SessRate reached on this worker process since started (in sessions per second)'),
    ('process', 'current_ssl_rate', 'gauge',
     'Number of SSL connections created on this worker process over the last second'),
    ('process', 'limit_ssl_rate', 'gauge',
     'Hard limit for SslRate (global.maxsslrate)'),
    ('process', 'max_ssl_rate', 'gauge',
     'Highest SslRate reached on this worker process since started (in connections per second)'),
    ('process', 'current_frontend_ssl_key_rate', 'gauge',
     'Number of SSL keys created on frontends in this worker process over the last second'),
    ('process', 'max_frontend_ssl_key_rate', 'gauge',
     'Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)'),
    ('process', 'frontend_ssl_reuse', 'gauge',
     'Percent of frontend SSL connections which did not require a new key'),
    ('process', 'current_backend_ssl_key_rate', 'gauge',
     'Number of SSL keys created on backends in this worker process over the last second'),
    ('process', 'max_backend_ssl_key_rate', 'gauge',
     'Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)'),
    ('process', 'ssl_cache_lookups_total', 'counter',
     'Total number of SSL session ID lookups in the SSL session cache on this worker since started'),
    ('process', 'ssl_cache_misses_total', 'counter',
     "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started"),
    ('process', 'http_comp_bytes_in_total', 'counter',
     'Number of bytes submitted to the HTTP compressor in this worker process over the last second'),
    ('process', 'http_comp_bytes_out_total', 'counter',
     'Number of bytes emitted by the HTTP compressor in this worker process over the last second'),
    ('process', 'limit_http_comp', 'gauge',
     'Limit of CompressBpsOut beyond which HTTP compression is automatically disabled'),
    ('process', 'current_zlib_memory', 'gauge',
     'Amount of memory currently used by HTTP compression on the current worker process (in bytes)'),
    ('process', 'max_zlib_memory', 'gauge',
     'Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)'),
    ('process', 'current_tasks', 'gauge',
     'Total number of tasks in the current worker process (active + sleeping)'),
    ('process', 'current_run_queue', 'gauge',
     'Total number of active tasks+tasklets in the current worker process'),
    ('process', 'idle_time_percent', 'gauge',
     'Percentage of last second spent waiting in the current worker thread'),
    ('process', 'stopping', 'gauge',
     '1 if the worker process is currently stopping, otherwise zero'),
    ('process', 'jobs', 'gauge',
     'Current number of active jobs on the current worker process (frontend connections, master connections, listeners)'),
    ('process', 'unstoppable_jobs', 'gauge',
     'Current number of unstoppable jobs on the current worker process (master connections)'),
    ('process', 'listeners', 'gauge',
     'Current number of active listeners on the current worker process'),
    ('process', 'active_peers', 'gauge',
     'Current number of verified active peers connections on the current worker process'),
    ('process', 'connected_peers', 'gauge',
     'Current number of peers having passed the connection step on the current worker process'),
    ('process', 'dropped_logs_total', 'counter',
     'Total number of dropped logs for current worker process since started'),
    ('process', 'busy_polling_enabled', 'gauge',
     '1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)'),
    ('process', 'failed_resolutions', 'counter',
     'Total number of failed DNS resolutions in current worker process since started'),
    ('process', 'bytes_out_total', 'counter',
     'Total number of bytes emitted by current worker process since started'),
    ('process', 'spliced_bytes_out_total', 'counter',
     'Total number of bytes emitted by current worker process through a kernel pipe since started'),
    ('process', 'bytes_out_rate', 'gauge',
     'Number of bytes emitted by current worker process over the last second'),
    ('process', 'recv_logs_total', 'counter',
     'Total number of log messages received by log-forwarding listeners on this worker process since started'),
    ('process', 'build_info', 'gauge',
     'Build info'),
    ('process', 'max_memory_bytes', 'gauge',
     "Worker process's hard limit on memory usage in byes (-m on command line)"),
    ('process', 'pool_allocated_bytes', 'gauge',
     'Amount of memory allocated in pools (in bytes)'),
    ('process', 'pool_used_bytes', 'gauge',
     'Amount of pool memory currently used (in bytes)'),
    ('process', 'start_time_seconds', 'gauge',
     'Start time in seconds'),
    ('frontend', 'current_sessions', 'gauge',
     'Number of current sessions on the frontend, backend or server'),
    ('frontend', 'max_sessions', 'gauge',
     'Highest value of current sessions encountered since process started'),
    ('frontend', 'limit_sessions', 'gauge',
     "Frontend/listener/server's maxconn, backend's fullconn"),
    ('frontend', 'sessions_total', 'counter',
     'Total number of sessions since process started'),
    ('frontend', 'bytes_in_total', 'counter',
     'Total number of request bytes since process started'),
    ('frontend', 'bytes_out_total', 'counter',
     'Total number of response bytes since process started'),
    ('frontend', 'requests_denied_total', 'counter',
     'Total number of denied requests since process started'),
    ('frontend', 'responses_denied_total', 'counter',
     'Total number of denied responses since process started'),
    ('frontend', 'request_errors_total', 'counter',
     'Total number of invalid requests since process started'),
    ('frontend', 'status', 'gauge',
     'Current status of the service, per state label value.'),
    ('frontend', 'limit_session_rate', 'gauge',
     "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)"),
    ('frontend', 'max_session_rate', 'gauge',
     'Highest value of sessions per second observed since the worker process started'),
    ('frontend', 'http_responses_total', 'counter',
     'Total number of HTTP responses with status 100-199 returned by this object since the worker process started'),
    ('frontend', 'http_requests_rate_max', 'gauge',
     'Highest value of http requests observed since the worker process started'),
    ('frontend', 'http_requests_total', 'counter',
     'Total number of HTTP requests processed by this object since the worker process started'),
    ('frontend', 'http_comp_bytes_in_total', 'counter',
     'Total number of bytes submitted to the HTTP compressor for this object since the worker process started'),
    ('frontend', 'http_comp_bytes_out_total', 'counter',
     'Total number of bytes emitted by the HTTP compressor for this object since the worker process started'),
    ('frontend', 'http_comp_bytes_bypassed_total', 'counter',
     'Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)'),
    ('frontend', 'http_comp_responses_total', 'counter',
     'Total number of HTTP responses that were compressed for this object since the worker process started'),
    ('frontend', 'connections_rate_max', 'gauge',
     'Highest value of connections per second observed since the worker process started'),
    ('frontend', 'connections_total', 'counter',
     'Total number of new connections accepted on this frontend since the worker process started'),
    ('frontend', 'intercepted_requests_total', 'counter',
     'Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started'),
    ('frontend', 'denied_connections_total', 'counter',
     'Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started'),
    ('frontend', 'denied_sessions_total', 'counter',
     'Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started'),
    ('frontend', 'failed_header_rewriting_total', 'counter',
     'Total number of failed HTTP header rewrites since the worker process started'),
    ('frontend', 'http_cache_lookups_total', 'counter',
     'Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started'),
    ('frontend', 'http_cache_hits_total', 'counter',
     'Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started'),
    ('frontend', 'internal_errors_total', 'counter',
     'Total number of internal errors since process started'),
    ('backend', 'current_queue', 'gauge',
     'Number of current queued connections'),
    ('backend', 'max_queue', 'gauge',
     'Highest value of queued connections encountered since process started'),
    ('backend', 'current_sessions', 'gauge',
     'Number of current sessions on the frontend, backend or server'),
    ('backend', 'max_sessions', 'gauge',
     'Highest value of current sessions encountered since process started'),
    ('backend', 'limit_sessions', 'gauge',
     "Frontend/listener/server's maxconn, backend's fullconn"),
    ('backend', 'sessions_total', 'counter',
     'Total number of sessions since process started'),
    ('backend', 'bytes_in_total', 'counter',
     'Total number of request bytes since process started'),
    ('backend', 'bytes_out_total', 'counter',
     'Total number of response bytes since process started'),
    ('backend', 'requests_denied_total', 'counter',
     'Total number of denied requests since process started'),
    ('backend', 'responses_denied_total', 'counter',
     'Total number of denied responses since process started'),
    ('backend', 'connection_errors_total', 'counter',
     'Total number of failed connections to server since the worker process started'),
    ('backend', 'response_errors_total', 'counter',
     'Total number of invalid responses since the worker process started'),
    ('backend', 'retry_warnings_total', 'counter',
     'Total number of server connection retries since the worker process started'),
    ('backend', 'redispatch_warnings_total', 'counter',
     'Total number of server redispatches due to connection failures since the worker process started'),
    ('backend', 'status', 'gauge',
     'Current status of the service, per state label value.'),
    ('backend', 'weight', 'gauge',
     "Server's effective weight, or sum of active servers' effective weights for a backend"),
    ('backend', 'active_servers', 'gauge',
     'Total number of active UP servers with a non-zero weight'),
    ('backend', 'backup_servers', 'gauge',
     'Total number of backup UP servers with a non-zero weight'),
    ('backend', 'check_up_down_total', 'counter',
     'Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started'),
    ('backend', 'check_last_change_seconds', 'gauge',
     'How long ago the last server state changed, in seconds'),
    ('backend', 'downtime_seconds_total', 'counter',
     'Total time spent in DOWN state, for server or backend'),
    ('backend', 'loadbalanced_total', 'counter',
     'Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)'),
    ('backend', 'max_session_rate', 'gauge',
     'Highest value of sessions per second observed since the worker process started'),
    ('backend', 'http_responses_total', 'counter',
     'Total number of HTTP responses with status 100-199 returned by this object since the worker process started'),
    ('backend', 'http_requests_total', 'counter',
     'Total number of HTTP requests processed by this object since the worker process started'),
    ('backend', 'client_aborts_total', 'counter',
     'Total number of requests or connections aborted by the client since the worker process started'),
    ('backend', 'server_aborts_total', 'counter',
     'Total number of requests or connections aborted by the server since the worker process started'),
    ('backend', 'http_comp_bytes_in_total', 'counter',
     'Total number of bytes submitted to the HTTP compressor for this object since the worker process started'),
    ('backend', 'http_comp_bytes_out_total', 'counter',
     'Total number of bytes emitted by the HTTP compressor for this object since the worker process started'),
    ('backend', 'http_comp_bytes_bypassed_total', 'counter',
     'Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)'),
    ('backend', 'http_comp_responses_total', 'counter',
     'Total number of HTTP responses that were compressed for this object since the worker process started'),
    ('backend', 'last_session_seconds', 'gauge',
     'How long ago some traffic was seen on this object on this worker process, in seconds'),
    ('backend', 'queue_time_average_seconds', 'gauge',
     'Avg. queue time for last 1024 successful connections.'),
    ('backend', 'connect_time_average_seconds', 'gauge',
     'Avg. connect time for last 1024 successful connections.'),
    ('backend', 'response_time_average_seconds', 'gauge',
     'Avg. response time for last 1024 successful connections.'),
    ('backend', 'total_time_average_seconds', 'gauge',
     'Avg. total time for last 1024 successful connections.'),
    ('backend', 'failed_header_rewriting_total', 'counter',
     'Total number of failed HTTP header rewrites since the worker process started'),
    ('backend', 'connection_attempts_total', 'counter',
     'Total number of outgoing connection attempts on this backend/server since the worker process started'),
    ('backend', 'connection_reuses_total', 'counter',
     'Total number of reused connection on this backend/server since the worker process started'),
    ('backend', 'http_cache_lookups_total', 'counter',
     'Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started'),
    ('backend', 'http_cache_hits_total', 'counter',
     'Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started'),
    ('backend', 'max_queue_time_seconds', 'gauge',
     'Maximum observed time spent in the queue'),
    ('backend', 'max_connect_time_seconds', 'gauge',
     'Maximum observed time spent waiting for a connection to complete'),
    ('backend', 'max_response_time_seconds', 'gauge',
     'Maximum observed time spent waiting for a server response'),
    ('backend', 'max_total_time_seconds', 'gauge',
     'Maximum observed total request+response time (request+queue+connect+response+processing)'),
    ('backend', 'internal_errors_total', 'counter',
     'Total number of internal errors since process started'),
    ('backend', 'uweight', 'gauge',
     "Server's user weight, or sum of active servers' user weights for a backend"),
    ('backend', 'agg_server_status', 'gauge',
     "Backend's aggregated gauge of servers' status"),
    ('backend', 'agg_server_check_status', 'gauge',
     "Backend's aggregated gauge of servers' state check status"),
    ('backend', 'agg_check_status', 'gauge',
     "Backend's aggregated gauge of servers' state check status"),
    ('server', 'current_queue', 'gauge',
     'Number of current queued connections'),
    ('server', 'max_queue', 'gauge',
     'Highest value of queued connections encountered since process started'),
    ('server', 'current_sessions', 'gauge',
     'Number of current sessions on the frontend, backend or server'),
    ('server', 'max_sessions', 'gauge',
     'Highest value of current sessions encountered since process started'),
    ('server', 'limit_sessions', 'gauge',
     "Frontend/listener/server's maxconn, backend's fullconn"),
    ('server', 'sessions_total', 'counter',
     'Total number of sessions since process started'),
    ('server', 'bytes_in_total', 'counter',
     'Total number of request bytes since process started'),
    ('server', 'bytes_out_total', 'counter',
     'Total number of response bytes since process started'),
    ('server', 'responses_denied_total', 'counter',
     'Total number of denied responses since process started'),
    ('server', 'connection_errors_total', 'counter',
     'Total number of failed connections to server since the worker process started'),
    ('server', 'response_errors_total', 'counter',
     'Total number of invalid responses since the worker process started'),
    ('server', 'retry_warnings_total', 'counter',
     'Total number of server connection retries since the worker process started'),
    ('server', 'redispatch_warnings_total', 'counter',
     'Total number of server redispatches due to connection failures since the worker process started'),
    ('server', 'status', 'gauge',
     'Current status of the service, per state label value.'),
    ('server', 'weight', 'gauge',
     "Server's effective weight, or sum of active servers' effective weights for a backend"),
    ('server', 'check_failures_total', 'counter',
     'Total number of failed individual health checks per server/backend, since the worker process started'),
    ('server', 'check_up_down_total', 'counter',
     'Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started'),
    ('server', 'check_last_change_seconds', 'gauge',
     'How long ago the last server state changed, in seconds'),
    ('server', 'downtime_seconds_total', 'counter',
     'Total time spent in DOWN state, for server or backend'),
    ('server', 'queue_limit', 'gauge',
     'Limit on the number of connections in queue, for servers only (maxqueue argument)'),
    ('server', 'current_throttle', 'gauge',
     "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)"),
    ('server', 'loadbalanced_total', 'counter',
     'Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)'),
    ('server', 'max_session_rate', 'gauge',
     'Highest value of sessions per second observed since the worker process started'),
    ('server', 'check_status', 'gauge',
     'Status of last health check, per state label value.'),
    ('server', 'check_code', 'gauge',
     'layer5-7 code, if available of the last health check.'),
    ('server', 'check_duration_seconds', 'gauge',
     'Total duration of the latest server health check, in seconds.'),
    ('server', 'http_responses_total', 'counter',
     'Total number of HTTP responses with status 100-199 returned by this object since the worker process started'),
    ('server', 'client_aborts_total', 'counter',
     'Total number of requests or connections aborted by the client since the worker process started'),
    ('server', 'server_aborts_total', 'counter',
     'Total number of requests or connections aborted by the server since the worker process started'),
    ('server', 'last_session_seconds', 'gauge',
     'How long ago some traffic was seen on this object on this worker process, in seconds'),
    ('server', 'queue_time_average_seconds', 'gauge',
     'Avg. queue time for last 1024 successful connections.'),
    ('server', 'connect_time_average_seconds', 'gauge',
     'Avg. connect time for last 1024 successful connections.'),
    ('server', 'response_time_average_seconds', 'gauge',
     'Avg. response time for last 1024 successful connections.'),
    ('server', 'total_time_average_seconds', 'gauge',
     'Avg. total time for last 1024 successful connections.'),
    ('server', 'failed_header_rewriting_total', 'counter',
     'Total number of failed HTTP header rewrites since the worker process started'),
    ('server', 'connection_attempts_total', 'counter',
     'Total number of outgoing connection attempts on this backend/server since the worker process started'),
    ('server', 'connection_reuses_total', 'counter',
     'Total number of reused connection on this backend/server since the worker process started'),
    ('server', 'idle_connections_current', 'gauge',
     'Current number of idle connections available for reuse on this server'),
    ('server', 'idle_connections_limit', 'gauge',
     "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)"),
    ('server', 'max_queue_time_seconds', 'gauge',
     'Maximum observed time spent in the queue'),
    ('server', 'max_connect_time_seconds', 'gauge',
     'Maximum observed time spent waiting for a connection to complete'),
    ('server', 'max_response_time_seconds', 'gauge',
     'Maximum observed time spent waiting for a server response'),
    ('server', 'max_total_time_seconds', 'gauge',
     'Maximum observed total request+response time (request+queue+connect+response+processing)'),
    ('server', 'internal_errors_total', 'counter',
     'Total number of internal errors since process started'),
    ('server', 'unsafe_idle_connections_current', 'gauge',
     'Current number of unsafe idle connections'),
    ('server', 'safe_idle_connections_current', 'gauge',
     'Current number of safe idle connections'),
    ('server', 'used_connections_current', 'gauge',
     'Current number of connections in use'),
    ('server', 'need_connections_current', 'gauge',
     'Estimated needed number of connections'),
    ('server', 'uweight', 'gauge',
     "Server's user weight, or sum of active servers' user weights for a backend"),
]

#: process metric -> ``show info`` field name (None: not available, printed as NaN)
PROCESS_INFO: dict[str, str | None] = {
    "nbthread": "Nbthread", "nbproc": "Nbproc", "relative_process_id": "Process_num",
    "uptime_seconds": "Uptime_sec", "pool_failures_total": "PoolFailed", "max_fds": "Ulimit-n",
    "max_sockets": "Maxsock", "max_connections": "Maxconn", "hard_max_connections": "Hard_maxconn",
    "current_connections": "CurrConns", "connections_total": "CumConns", "requests_total": "CumReq",
    "max_ssl_connections": "MaxSslConns", "current_ssl_connections": "CurrSslConns",
    "ssl_connections_total": "CumSslConns", "max_pipes": "Maxpipes", "pipes_used_total": "PipesUsed",
    "pipes_free_total": "PipesFree", "current_connection_rate": "ConnRate",
    "limit_connection_rate": "ConnRateLimit", "max_connection_rate": "MaxConnRate",
    "current_session_rate": "SessRate", "limit_session_rate": "SessRateLimit",
    "max_session_rate": "MaxSessRate", "current_ssl_rate": "SslRate", "limit_ssl_rate": "SslRateLimit",
    "max_ssl_rate": "MaxSslRate", "current_frontend_ssl_key_rate": "SslFrontendKeyRate",
    "max_frontend_ssl_key_rate": "SslFrontendMaxKeyRate", "frontend_ssl_reuse": "SslFrontendSessionReuse_pct",
    "current_backend_ssl_key_rate": "SslBackendKeyRate", "max_backend_ssl_key_rate": "SslBackendMaxKeyRate",
    "ssl_cache_lookups_total": "SslCacheLookups", "ssl_cache_misses_total": "SslCacheMisses",
    "http_comp_bytes_in_total": "CompressBpsIn", "http_comp_bytes_out_total": "CompressBpsOut",
    "limit_http_comp": "CompressBpsRateLim", "current_zlib_memory": None, "max_zlib_memory": None,
    "current_tasks": "Tasks", "current_run_queue": "Run_queue", "idle_time_percent": "Idle_pct",
    "stopping": "Stopping", "jobs": "Jobs", "unstoppable_jobs": "Unstoppable Jobs", "listeners": "Listeners",
    "active_peers": "ActivePeers", "connected_peers": "ConnectedPeers", "dropped_logs_total": "DroppedLogs",
    "busy_polling_enabled": "BusyPolling", "failed_resolutions": "FailedResolutions",
    "bytes_out_total": "TotalBytesOut", "spliced_bytes_out_total": "TotalSplicdedBytesOut",
    "bytes_out_rate": "BytesOutRate", "recv_logs_total": "CumRecvLogs", "build_info": "Build info",
    "max_memory_bytes": "Memmax_bytes", "pool_allocated_bytes": "PoolAlloc_bytes",
    "pool_used_bytes": "PoolUsed_bytes", "start_time_seconds": "Start_time_sec",
}

#: frontend/backend/server metric -> ``show stat`` field name
STAT_OF: dict[str, str] = {
    "current_queue": "qcur", "max_queue": "qmax", "current_sessions": "scur", "max_sessions": "smax",
    "limit_sessions": "slim", "sessions_total": "stot", "bytes_in_total": "bin", "bytes_out_total": "bout",
    "requests_denied_total": "dreq", "responses_denied_total": "dresp", "request_errors_total": "ereq",
    "connection_errors_total": "econ", "response_errors_total": "eresp", "retry_warnings_total": "wretr",
    "redispatch_warnings_total": "wredis", "weight": "weight", "active_servers": "act",
    "backup_servers": "bck", "check_failures_total": "chkfail", "check_up_down_total": "chkdown",
    "check_last_change_seconds": "lastchg", "downtime_seconds_total": "downtime", "queue_limit": "qlimit",
    "current_throttle": "throttle", "loadbalanced_total": "lbtot", "limit_session_rate": "rate_lim",
    "max_session_rate": "rate_max", "check_code": "check_code", "check_duration_seconds": "check_duration",
    "http_requests_rate_max": "req_rate_max", "http_requests_total": "req_tot",
    "client_aborts_total": "cli_abrt", "server_aborts_total": "srv_abrt",
    "http_comp_bytes_in_total": "comp_in", "http_comp_bytes_out_total": "comp_out",
    "http_comp_bytes_bypassed_total": "comp_byp", "http_comp_responses_total": "comp_rsp",
    "last_session_seconds": "lastsess", "queue_time_average_seconds": "qtime",
    "connect_time_average_seconds": "ctime", "response_time_average_seconds": "rtime",
    "total_time_average_seconds": "ttime", "connections_rate_max": "conn_rate_max",
    "connections_total": "conn_tot", "intercepted_requests_total": "intercepted",
    "denied_connections_total": "dcon", "denied_sessions_total": "dses",
    "failed_header_rewriting_total": "wrew", "connection_attempts_total": "connect",
    "connection_reuses_total": "reuse", "http_cache_lookups_total": "cache_lookups",
    "http_cache_hits_total": "cache_hits", "idle_connections_current": "srv_icur",
    "idle_connections_limit": "src_ilim", "max_queue_time_seconds": "qtime_max",
    "max_connect_time_seconds": "ctime_max", "max_response_time_seconds": "rtime_max",
    "max_total_time_seconds": "ttime_max", "internal_errors_total": "eint",
    "unsafe_idle_connections_current": "idle_conn_cur", "safe_idle_connections_current": "safe_conn_cur",
    "used_connections_current": "used_conn_cur", "need_connections_current": "need_conn_est",
    "uweight": "uweight",
}

#: metrics only HTTP proxies have
HTTP_ONLY = frozenset({
    "http_requests_rate_max", "http_requests_total", "http_responses_total", "http_comp_bytes_in_total",
    "http_comp_bytes_out_total", "http_comp_bytes_bypassed_total", "http_comp_responses_total",
    "intercepted_requests_total", "http_cache_lookups_total", "http_cache_hits_total",
})
#: milliseconds in ``show stat``, seconds here
MS_TO_S = frozenset({
    "check_duration_seconds", "queue_time_average_seconds", "connect_time_average_seconds",
    "response_time_average_seconds", "total_time_average_seconds", "max_queue_time_seconds",
    "max_connect_time_seconds", "max_response_time_seconds", "max_total_time_seconds",
})
#: empty in ``show stat`` but 0 here
ZERO_IF_EMPTY = frozenset({"check_code", "check_duration_seconds"})
CHECK_ONLY = frozenset({"check_status", "check_code", "check_duration_seconds"})

FE_STATES = ("DOWN", "UP")
SRV_STATES = ("DOWN", "UP", "MAINT", "DRAIN", "NOLB")
CHECK_STATES = ("HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP",
                "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK")
HRSP = (("1xx", P["hrsp_1xx"]), ("2xx", P["hrsp_2xx"]), ("3xx", P["hrsp_3xx"]), ("4xx", P["hrsp_4xx"]),
        ("5xx", P["hrsp_5xx"]), ("other", P["hrsp_other"]))
_POS = {k: P[v] for k, v in STAT_OF.items()}
_STATUS = P["status"]
_MODE = P["mode"]
_CHECK_STATUS = P["check_status"]


def _num(v: Any) -> str:
    if v is None:
        return "NaN"
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if not v.is_integer():
            return repr(v)
        return str(int(v))
    return str(v)


def _esc(s: Any) -> str:
    return str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def server_state(status: str) -> str:
    """``show stat`` status of a server -> the exporter's state label."""
    word = status.split(" ", 1)[0]
    if word == "no":  # "no check"
        return "UP"
    return word


def _lbl(row: Row) -> str:
    v = row.values
    if row.kind == "S":
        return f'proxy="{_esc(v[0])}",server="{_esc(v[1])}"'
    return f'proxy="{_esc(v[0])}"'


class _Obj:
    """One exported object: its stat row plus what coverage rules need."""

    __slots__ = ("row", "lbl", "http", "has_check", "servers")

    def __init__(self, row: Row, http: bool, has_check: bool = False, servers: list[Row] | None = None) -> None:
        self.row = row
        self.lbl = _lbl(row)
        self.http = http
        self.has_check = has_check
        self.servers = servers or []


def parse_query(query: str) -> tuple[set[str] | None, bool]:
    """``scope=frontend&scope=server&no-maint`` -> (scopes or None for all, no_maint)."""
    scopes: set[str] | None = None
    no_maint = False
    for k, v in parse_qsl(query or "", keep_blank_values=True):
        if k == "scope":
            if scopes is None:
                scopes = set()
            if v == "all":
                scopes |= {"global", "frontend", "backend", "server"}
            elif v in ("global", "frontend", "backend", "server"):
                scopes.add(v)
        elif k == "no-maint":
            no_maint = True
    return scopes, no_maint


def render(state: Any, now: float, wall: float, query: str = "") -> str:
    scopes, no_maint = parse_query(query)
    ops = getattr(state, "ops", None)  # a ProcessState's engine operations (runtime/ops.py)
    si = ops.sysinfo() if ops is not None else None
    info = {name: v for _p, name, v in info_fields(state, now, wall, si)}
    fes: list[_Obj] = []
    bes: list[_Obj] = []
    svs: list[_Obj] = []
    by_be: dict[int, list[Row]] = {}
    pending: list[tuple[Row, bool]] = []
    for row in collect(state, now, wall, StatFilter(show_legends=True)):
        if row.kind == "L":  # 2.6's exporter has no listener metrics (option socket-stats)
            continue
        http = row.values[_MODE] == "http"
        if row.kind == "F":
            fes.append(_Obj(row, http))
        elif row.kind == "S":
            if no_maint and server_state(str(row.values[_STATUS])) == "MAINT":
                continue
            by_be.setdefault(row.iid, []).append(row)
            svs.append(_Obj(row, http, has_check=row.values[_CHECK_STATUS] is not None
                            or _server_has_check(state, row)))
        else:
            pending.append((row, http))
    for row, http in pending:
        bes.append(_Obj(row, http, servers=by_be.get(row.iid, [])))
    groups = {"frontend": fes, "backend": bes, "server": svs}
    out: list[str] = []
    for sec, suffix, typ, hlp in METRICS:
        if scopes is not None and (sec if sec != "process" else "global") not in scopes:
            continue
        name = f"haproxy_{sec}_{suffix}"
        if sec == "process":
            lines = [_process_line(name, suffix, info)]
        else:
            lines = _object_lines(name, suffix, groups[sec])
        if not lines:
            continue
        out.append(f"# HELP {name} {hlp}\n# TYPE {name} {typ}\n")
        out.extend(lines)
    return "".join(out)


def _server_has_check(state: Any, row: Row) -> bool:
    """Checks configured on the server (its check_status column is hidden while in maintenance)."""
    for px in state.proxies:
        be = px.backend
        if be is not None and be.uuid == row.iid:
            for s in be.servers:
                if s.puid == row.sid:
                    return bool(s.conf.check)
    return False


def _process_line(name: str, suffix: str, info: dict[str, Any]) -> str:
    key = PROCESS_INFO.get(suffix)
    if suffix == "build_info":
        return f'{name}{{version="{_esc(info.get("Build info", ""))}"}} 1\n'
    val = info.get(key) if key else None
    if isinstance(val, str):
        try:
            val = int(val)
        except ValueError:
            val = None
    return f"{name} {_num(val)}\n"


def _object_lines(name: str, suffix: str, objs: list[_Obj]) -> list[str]:
    if suffix in HTTP_ONLY:
        objs = [o for o in objs if o.http]
    if suffix in CHECK_ONLY:
        objs = [o for o in objs if o.has_check]
    lines: list[str] = []
    if suffix == "status":
        for o in objs:
            st = str(o.row.values[_STATUS])
            if o.row.kind == "S":
                cur = server_state(st)
                for s in SRV_STATES:
                    lines.append(f'{name}{{{o.lbl},state="{s}"}} {1 if cur == s else 0}\n')
            else:
                up = st.split(" ", 1)[0] in ("OPEN", "UP", "FULL")
                lines.append(f'{name}{{{o.lbl},state="DOWN"}} {0 if up else 1}\n')
                lines.append(f'{name}{{{o.lbl},state="UP"}} {1 if up else 0}\n')
        return lines
    if suffix == "check_status":
        for o in objs:
            cur = str(o.row.values[_CHECK_STATUS] or "").removeprefix("* ")
            for s in CHECK_STATES:
                lines.append(f'{name}{{{o.lbl},state="{s}"}} {1 if cur == s else 0}\n')
        return lines
    if suffix in ("agg_server_status", "agg_server_check_status"):
        for o in objs:
            if not o.servers:
                continue
            counts = dict.fromkeys(SRV_STATES, 0)
            for r in o.servers:
                st = server_state(str(r.values[_STATUS]))
                if st in counts:
                    counts[st] += 1
            lines.extend(f'{name}{{{o.lbl},state="{s}"}} {counts[s]}\n' for s in SRV_STATES)
        return lines
    if suffix == "agg_check_status":
        for o in objs:
            if not o.servers:
                continue
            counts = dict.fromkeys(CHECK_STATES, 0)
            for r in o.servers:
                cs = str(r.values[_CHECK_STATUS] or "").removeprefix("* ")
                if cs in counts:
                    counts[cs] += 1
            lines.extend(f'{name}{{{o.lbl},state="{s}"}} {counts[s]}\n' for s in CHECK_STATES)
        return lines
    if suffix == "http_responses_total":
        for code, pos in HRSP:
            for o in objs:
                lines.append(f'{name}{{{o.lbl},code="{code}"}} {_num(o.row.values[pos])}\n')
        return lines
    pos = _POS[suffix]
    ms = suffix in MS_TO_S
    zero = suffix in ZERO_IF_EMPTY
    for o in objs:
        v = o.row.values[pos]
        if v is None and zero:
            v = 0
        if ms:
            txt = "NaN" if v is None else f"{v / 1000:.6f}"
        else:
            txt = _num(v)
        lines.append(f"{name}{{{o.lbl}}} {txt}\n")
    return lines
