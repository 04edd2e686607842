"""Field table of ``show stat`` (HAProxy 2.6 order) and ``show info``: names, tags, types, descriptions.

Tags and types were read off ``show stat typed desc`` / ``show info typed desc`` of HAProxy 2.6.12;
the description texts are what the runtime API prints with ``desc`` (observable output).
"""

from __future__ import annotations

#: (name, tags, type, description) by position; typed/JSON positions skip the CSV-only ``-`` column
STAT_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ('pxname', 'KNS', 'str', 'Proxy name'),  # 0
    ('svname', 'KNS', 'str', 'Server name'),  # 1
    ('qcur', 'MGP', 'u32', 'Number of current queued connections'),  # 2
    ('qmax', 'MMP', 'u32', 'Highest value of queued connections encountered since process started'),  # 3
    ('scur', 'MGP', 'u32', 'Number of current sessions on the frontend, backend or server'),  # 4
    ('smax', 'MMP', 'u32', 'Highest value of current sessions encountered since process started'),  # 5
    ('slim', 'CLP', 'u32', "Frontend/listener/server's maxconn, backend's fullconn"),  # 6
    ('stot', 'MCP', 'u64', 'Total number of sessions since process started'),  # 7
    ('bin', 'MCP', 'u64', 'Total number of request bytes since process started'),  # 8
    ('bout', 'MCP', 'u64', 'Total number of response bytes since process started'),  # 9
    ('dreq', 'MCP', 'u64', 'Total number of denied requests since process started'),  # 10
    ('dresp', 'MCP', 'u64', 'Total number of denied responses since process started'),  # 11
    ('ereq', 'MCP', 'u64', 'Total number of invalid requests since process started'),  # 12
    ('econ', 'MCP', 'u64', 'Total number of failed connections to server since the worker process started'),  # 13
    ('eresp', 'MCP', 'u64', 'Total number of invalid responses since the worker process started'),  # 14
    ('wretr', 'MCP', 'u64', 'Total number of server connection retries since the worker process started'),  # 15
    ('wredis', 'MCP', 'u64', 'Total number of server redispatches due to connection failures since the worker process started'),  # 16
    ('status', 'SGP', 'str', 'Frontend/listen status: OPEN/WAITING/FULL/STOP; backend: UP/DOWN; server: last check status'),  # 17
    ('weight', 'MaP', 'u32', "Server's effective weight, or sum of active servers' effective weights for a backend"),  # 18
    ('act', 'SGP', 'u32', 'Total number of active UP servers with a non-zero weight'),  # 19
    ('bck', 'SGP', 'u32', 'Total number of backup UP servers with a non-zero weight'),  # 20
    ('chkfail', 'MCP', 'u64', 'Total number of failed individual health checks per server/backend, since the worker process started'),  # 21
    ('chkdown', 'MCP', 'u64', 'Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started'),  # 22
    ('lastchg', 'MAP', 'u32', 'How long ago the last server state changed, in seconds'),  # 23
    ('downtime', 'MCP', 'u32', 'Total time spent in DOWN state, for server or backend'),  # 24
    ('qlimit', 'CLP', 'u32', 'Configured maxqueue for the server (0 meaning no limit)'),  # 25
    ('pid', 'KGP', 'u32', 'Relative worker process number (1)'),  # 26
    ('iid', 'KGS', 'u32', "Frontend or Backend numeric identifier ('id' setting)"),  # 27
    ('sid', 'KGS', 'u32', "Server numeric identifier ('id' setting)"),  # 28
    ('throttle', 'MAP', 'u32', "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)"),  # 29
    ('lbtot', 'MCP', 'u64', 'Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)'),  # 30
    ('tracked', 'CNS', 'str', 'Name of the other server this server tracks for its state'),  # 31
    ('type', 'CGS', 'u32', 'Type of the object (Listener, Frontend, Backend, Server)'),  # 32
    ('rate', 'MRP', 'u32', 'Total number of sessions processed by this object over the last second (sessions for listeners/frontends, requests for backends/servers)'),  # 33
    ('rate_lim', 'CLP', 'u32', "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)"),  # 34
    ('rate_max', 'MMP', 'u32', 'Highest value of sessions per second observed since the worker process started'),  # 35
    ('check_status', 'MOP', 'str', "Status report of the server's latest health check, prefixed with '*' if a check is currently in progress"),  # 36
    ('check_code', 'MOP', 'u32', 'HTTP/SMTP/LDAP status code reported by the latest server health check'),  # 37
    ('check_duration', 'MDP', 'u64', 'Total duration of the latest server health check, in milliseconds'),  # 38
    ('hrsp_1xx', 'MCP', 'u64', 'Total number of HTTP responses with status 100-199 returned by this object since the worker process started'),  # 39
    ('hrsp_2xx', 'MCP', 'u64', 'Total number of HTTP responses with status 200-299 returned by this object since the worker process started'),  # 40
    ('hrsp_3xx', 'MCP', 'u64', 'Total number of HTTP responses with status 300-399 returned by this object since the worker process started'),  # 41
    ('hrsp_4xx', 'MCP', 'u64', 'Total number of HTTP responses with status 400-499 returned by this object since the worker process started'),  # 42
    ('hrsp_5xx', 'MCP', 'u64', 'Total number of HTTP responses with status 500-599 returned by this object since the worker process started'),  # 43
    ('hrsp_other', 'MCP', 'u64', 'Total number of HTTP responses with status <100, >599 returned by this object since the worker process started (error -1 included)'),  # 44
    ('hanafail', 'MCP', 'u64', "Total number of failed checks caused by an 'on-error' directive after an 'observe' condition matched"),  # 45
    ('req_rate', 'MRP', 'u32', 'Number of HTTP requests processed over the last second on this object'),  # 46
    ('req_rate_max', 'MMP', 'u32', 'Highest value of http requests observed since the worker process started'),  # 47
    ('req_tot', 'MCP', 'u64', 'Total number of HTTP requests processed by this object since the worker process started'),  # 48
    ('cli_abrt', 'MCP', 'u64', 'Total number of requests or connections aborted by the client since the worker process started'),  # 49
    ('srv_abrt', 'MCP', 'u64', 'Total number of requests or connections aborted by the server since the worker process started'),  # 50
    ('comp_in', 'MCP', 'u64', 'Total number of bytes submitted to the HTTP compressor for this object since the worker process started'),  # 51
    ('comp_out', 'MCP', 'u64', 'Total number of bytes emitted by the HTTP compressor for this object since the worker process started'),  # 52
    ('comp_byp', 'MCP', 'u64', 'Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)'),  # 53
    ('comp_rsp', 'MCP', 'u64', 'Total number of HTTP responses that were compressed for this object since the worker process started'),  # 54
    ('lastsess', 'MAP', 's32', 'How long ago some traffic was seen on this object on this worker process, in seconds'),  # 55
    ('last_chk', 'MOP', 'str', 'Short description of the latest health check report for this server (see also check_desc)'),  # 56
    ('last_agt', 'MOP', 'str', 'Short description of the latest agent check attempt'),  # 57
    ('qtime', 'MaP', 'u32', 'Time spent in the queue, in milliseconds, averaged over the 1024 last requests (backend/server)'),  # 58
    ('ctime', 'MaP', 'u32', 'Time spent waiting for a connection to complete, in milliseconds, averaged over the 1024 last requests (backend/server)'),  # 59
    ('rtime', 'MaP', 'u32', 'Time spent waiting for a server response, in milliseconds, averaged over the 1024 last requests (backend/server)'),  # 60
    ('ttime', 'MaP', 'u32', 'Total request+response time (request+queue+connect+response+processing), in milliseconds, averaged over the 1024 last requests (backend/server)'),  # 61
    ('agent_status', 'MOP', 'str', 'Status report of the most recent agent check'),  # 62
    ('agent_code', 'MOP', 'u32', 'Numeric code reported by the agent if any (unused for now)'),  # 63
    ('agent_duration', 'MDP', 'u64', 'Time taken by the latest agent check operation in milliseconds'),  # 64
    ('check_desc', 'MOP', 'str', 'Textual description of the latest health check report for this server'),  # 65
    ('agent_desc', 'MOP', 'str', 'Short human-readable description of the last agent check status'),  # 66
    ('check_rise', 'CGS', 'u32', "Number of successful health checks before declaring a server UP (server 'rise' setting)"),  # 67
    ('check_fall', 'CGS', 'u32', "Number of failed health checks before declaring a server DOWN (server 'fall' setting)"),  # 68
    ('check_health', 'CGS', 'u32', 'Current server health check level (0..fall-1=DOWN, fall..rise-1=UP)'),  # 69
    ('agent_rise', 'CGS', 'u32', "Server's agent rise value"),  # 70
    ('agent_fall', 'CGS', 'u32', "Server's agent fall value"),  # 71
    ('agent_health', 'CGS', 'u32', "Server's agent health counter (0 to rise+fall-1)"),  # 72
    ('addr', 'CGS', 'str', "Server's address:port, shown only if show-legends is set, or at levels oper/admin for the CLI"),  # 73
    ('cookie', 'CNS', 'str', "Backend's cookie name or Server's cookie value, shown only if show-legends is set, or at levels oper/admin for the CLI"),  # 74
    ('mode', 'CGS', 'str', "'mode' setting (tcp/http/health/cli)"),  # 75
    ('algo', 'CGS', 'str', "Backend's load balancing algorithm, shown only if show-legends is set, or at levels oper/admin for the CLI"),  # 76
    ('conn_rate', 'MRP', 'u32', 'Number of new connections accepted over the last second on the frontend for this worker process'),  # 77
    ('conn_rate_max', 'MMP', 'u32', 'Highest value of connections per second observed since the worker process started'),  # 78
    ('conn_tot', 'MCP', 'u64', 'Total number of new connections accepted on this frontend since the worker process started'),  # 79
    ('intercepted', 'MCP', 'u64', 'Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started'),  # 80
    ('dcon', 'MCP', 'u64', 'Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started'),  # 81
    ('dses', 'MCP', 'u64', 'Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started'),  # 82
    ('wrew', 'MCP', 'u64', 'Total number of failed HTTP header rewrites since the worker process started'),  # 83
    ('connect', 'MCP', 'u64', 'Total number of outgoing connection attempts on this backend/server since the worker process started'),  # 84
    ('reuse', 'MCP', 'u64', 'Total number of reused connection on this backend/server since the worker process started'),  # 85
    ('cache_lookups', 'MCP', 'u64', 'Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started'),  # 86
    ('cache_hits', 'MCP', 'u64', 'Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started'),  # 87
    ('srv_icur', 'MGP', 'u32', 'Current number of idle connections available for reuse on this server'),  # 88
    ('src_ilim', 'MMP', 'u32', 'Limit on the number of available idle connections'),  # 89
    ('qtime_max', 'MMP', 'u32', 'Maximum observed time spent in the queue, in milliseconds (backend/server)'),  # 90
    ('ctime_max', 'MMP', 'u32', 'Maximum observed time spent waiting for a connection to complete, in milliseconds (backend/server)'),  # 91
    ('rtime_max', 'MMP', 'u32', 'Maximum observed time spent waiting for a server response, in milliseconds (backend/server)'),  # 92
    ('ttime_max', 'MMP', 'u32', 'Maximum observed total request+response time (request+queue+connect+response+processing), in milliseconds (backend/server)'),  # 93
    ('eint', 'MCP', 'u64', 'Total number of internal errors since process started'),  # 94
    ('idle_conn_cur', 'MGP', 'u32', 'Current number of unsafe idle connections'),  # 95
    ('safe_conn_cur', 'MGP', 'u32', 'Current number of safe idle connections'),  # 96
    ('used_conn_cur', 'MGP', 'u32', 'Current number of connections in use'),  # 97
    ('need_conn_est', 'MGP', 'u32', 'Estimated needed number of connections'),  # 98
    ('uweight', 'MaP', 'u32', "Server's user weight, or sum of active servers' user weights for a backend"),  # 99
    ('agg_server_status', 'MGP', 'u32', "Backend's aggregated gauge of servers' status"),  # 100
    ('agg_server_check_status', 'MGP', 'u32', "Backend's aggregated gauge of servers' state check status"),  # 101
    ('agg_check_status', 'MGP', 'u32', "Backend's aggregated gauge of servers' state check status"),  # 102
    ('ssl_sess', 'MCP', 'u64', 'Total number of ssl sessions established'),  # 103
    ('ssl_reused_sess', 'MCP', 'u64', 'Total number of ssl sessions reused'),  # 104
    ('ssl_failed_handshake', 'MCP', 'u64', 'Total number of failed handshake'),  # 105
    ('h2_headers_rcvd', 'MCP', 'u64', 'Total number of received HEADERS frames'),  # 106
    ('h2_data_rcvd', 'MCP', 'u64', 'Total number of received DATA frames'),  # 107
    ('h2_settings_rcvd', 'MCP', 'u64', 'Total number of received SETTINGS frames'),  # 108
    ('h2_rst_stream_rcvd', 'MCP', 'u64', 'Total number of received RST_STREAM frames'),  # 109
    ('h2_goaway_rcvd', 'MCP', 'u64', 'Total number of received GOAWAY frames'),  # 110
    ('h2_detected_conn_protocol_errors', 'MCP', 'u64', 'Total number of connection protocol errors'),  # 111
    ('h2_detected_strm_protocol_errors', 'MCP', 'u64', 'Total number of stream protocol errors'),  # 112
    ('h2_rst_stream_resp', 'MCP', 'u64', 'Total number of RST_STREAM sent on detected error'),  # 113
    ('h2_goaway_resp', 'MCP', 'u64', 'Total number of GOAWAY sent on detected error'),  # 114
    ('h2_open_connections', 'MGP', 'u64', 'Count of currently open connections'),  # 115
    ('h2_backend_open_streams', 'MGP', 'u64', 'Count of currently open streams'),  # 116
    ('h2_total_connections', 'MCP', 'u64', 'Total number of connections'),  # 117
    ('h2_backend_total_streams', 'MCP', 'u64', 'Total number of streams'),  # 118
    ('h1_open_connections', 'MGP', 'u64', 'Count of currently open connections'),  # 119
    ('h1_open_streams', 'MGP', 'u64', 'Count of currently open streams'),  # 120
    ('h1_total_connections', 'MCP', 'u64', 'Total number of connections'),  # 121
    ('h1_total_streams', 'MCP', 'u64', 'Total number of streams'),  # 122
    ('h1_bytes_in', 'MCP', 'u64', 'Total number of bytes received'),  # 123
    ('h1_bytes_out', 'MCP', 'u64', 'Total number of bytes send'),  # 124
    ('h1_spliced_bytes_in', 'MCP', 'u64', 'Total number of bytes received using kernel splicing'),  # 125
    ('h1_spliced_bytes_out', 'MCP', 'u64', 'Total number of bytes sendusing kernel splicing'),  # 126
)

#: per object type (F/B/S) deviations from the tags/type above: (objtype, pos) -> (tags, type)
STAT_OVERRIDES: dict[tuple[str, int], tuple[str, str]] = {
    ('B', 19): ('MGP', 'u32'),
    ('B', 20): ('MGP', 'u32'),
    ('B', 33): ('MGP', 'u32'),
    ('B', 35): ('MGP', 'u32'),
}

#: show info: (position, name, tags, type, description); 45, 46 and 51 are printed only when set
INFO_FIELDS: tuple[tuple[int, str, str, str, str], ...] = (
    (0, 'Name', 'POS', 'str', 'Product name'),
    (1, 'Version', 'POS', 'str', 'Product version'),
    (2, 'Release_date', 'POS', 'str', 'Date of latest source code update'),
    (3, 'Nbthread', 'CGS', 'u32', 'Number of started threads (global.nbthread)'),
    (4, 'Nbproc', 'CGS', 'u32', 'Number of started worker processes (historical, always 1)'),
    (5, 'Process_num', 'KGP', 'u32', 'Relative worker process number (1)'),
    (6, 'Pid', 'SGP', 'u32', 'This worker process identifier for the system'),
    (7, 'Uptime', 'MDP', 'str', 'How long ago this worker process was started (days+hours+minutes+seconds)'),
    (8, 'Uptime_sec', 'MDP', 'u32', 'How long ago this worker process was started (seconds)'),
    (9, 'Memmax_MB', 'CLP', 'u32', "Worker process's hard limit on memory usage in MB (-m on command line)"),
    (10, 'PoolAlloc_MB', 'MGP', 'u32', 'Amount of memory allocated in pools (in MB)'),
    (11, 'PoolUsed_MB', 'MGP', 'u32', 'Amount of pool memory currently used (in MB)'),
    (12, 'PoolFailed', 'MCP', 'u32', 'Number of failed pool allocations since this worker was started'),
    (13, 'Ulimit-n', 'CLP', 'u32', 'Hard limit on the number of per-process file descriptors'),
    (14, 'Maxsock', 'CLP', 'u32', 'Hard limit on the number of per-process sockets'),
    (15, 'Maxconn', 'CLP', 'u32', 'Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)'),
    (16, 'Hard_maxconn', 'CLP', 'u32', 'Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)'),
    (17, 'CurrConns', 'MGP', 'u32', 'Current number of connections on this worker process'),
    (18, 'CumConns', 'MCP', 'u32', 'Total number of connections on this worker process since started'),
    (19, 'CumReq', 'MCP', 'u32', 'Total number of requests on this worker process since started'),
    (20, 'MaxSslConns', 'MMP', 'u32', 'Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited'),
    (21, 'CurrSslConns', 'MGP', 'u32', 'Current number of SSL endpoints on this worker process (front+back)'),
    (22, 'CumSslConns', 'MCP', 'u32', 'Total number of SSL endpoints on this worker process since started (front+back)'),
    (23, 'Maxpipes', 'CLP', 'u32', 'Hard limit on the number of pipes for splicing, 0=unlimited'),
    (24, 'PipesUsed', 'MGP', 'u32', 'Current number of pipes in use in this worker process'),
    (25, 'PipesFree', 'MGP', 'u32', 'Current number of allocated and available pipes in this worker process'),
    (26, 'ConnRate', 'MRP', 'u32', 'Number of front connections created on this worker process over the last second'),
    (27, 'ConnRateLimit', 'CLP', 'u32', 'Hard limit for ConnRate (global.maxconnrate)'),
    (28, 'MaxConnRate', 'MMP', 'u32', 'Highest ConnRate reached on this worker process since started (in connections per second)'),
    (29, 'SessRate', 'MRP', 'u32', 'Number of sessions created on this worker process over the last second'),
    (30, 'SessRateLimit', 'CLP', 'u32', 'Hard limit for SessRate (global.maxsessrate)'),
    (31, 'MaxSessRate', 'MRP', 'u32', 'Highest SessRate reached on this worker process since started (in sessions per second)'),
    (32, 'SslRate', 'MRP', 'u32', 'Number of SSL connections created on this worker process over the last second'),
    (33, 'SslRateLimit', 'CLP', 'u32', 'Hard limit for SslRate (global.maxsslrate)'),
    (34, 'MaxSslRate', 'MMP', 'u32', 'Highest SslRate reached on this worker process since started (in connections per second)'),
    (35, 'SslFrontendKeyRate', 'MGP', 'u32', 'Number of SSL keys created on frontends in this worker process over the last second'),
    (36, 'SslFrontendMaxKeyRate', 'MMP', 'u32', 'Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)'),
    (37, 'SslFrontendSessionReuse_pct', 'MGP', 'u32', 'Percent of frontend SSL connections which did not require a new key'),
    (38, 'SslBackendKeyRate', 'MRP', 'u32', 'Number of SSL keys created on backends in this worker process over the last second'),
    (39, 'SslBackendMaxKeyRate', 'MMP', 'u32', 'Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)'),
    (40, 'SslCacheLookups', 'MCP', 'u32', 'Total number of SSL session ID lookups in the SSL session cache on this worker since started'),
    (41, 'SslCacheMisses', 'MCP', 'u32', "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started"),
    (42, 'CompressBpsIn', 'MRP', 'u32', 'Number of bytes submitted to the HTTP compressor in this worker process over the last second'),
    (43, 'CompressBpsOut', 'MRP', 'u32', 'Number of bytes emitted by the HTTP compressor in this worker process over the last second'),
    (44, 'CompressBpsRateLim', 'CLP', 'u32', 'Limit of CompressBpsOut beyond which HTTP compression is automatically disabled'),
    (45, 'ZlibMemUsage', 'MGP', 'u32', 'Memory currently used by HTTP compression in the current worker process (in bytes)'),
    (46, 'MaxZlibMemUsage', 'CLP', 'u32', 'Limit on the memory used by HTTP compression in the current worker process (in bytes)'),
    (47, 'Tasks', 'MGP', 'u32', 'Total number of tasks in the current worker process (active + sleeping)'),
    (48, 'Run_queue', 'MGP', 'u32', 'Total number of active tasks+tasklets in the current worker process'),
    (49, 'Idle_pct', 'MaP', 'u32', 'Percentage of last second spent waiting in the current worker thread'),
    (50, 'node', 'COS', 'str', 'Node name (global.node)'),
    (51, 'description', 'COS', 'str', 'Node description (global.description)'),
    (52, 'Stopping', 'MGP', 'u32', '1 if the worker process is currently stopping, otherwise zero'),
    (53, 'Jobs', 'MGP', 'u32', 'Current number of active jobs on the current worker process (frontend connections, master connections, listeners)'),
    (54, 'Unstoppable Jobs', 'MGP', 'u32', 'Current number of unstoppable jobs on the current worker process (master connections)'),
    (55, 'Listeners', 'MGP', 'u32', 'Current number of active listeners on the current worker process'),
    (56, 'ActivePeers', 'MGP', 'u32', 'Current number of verified active peers connections on the current worker process'),
    (57, 'ConnectedPeers', 'MGP', 'u32', 'Current number of peers having passed the connection step on the current worker process'),
    (58, 'DroppedLogs', 'MGP', 'u32', 'Total number of dropped logs for current worker process since started'),
    (59, 'BusyPolling', 'MGP', 'u32', '1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)'),
    (60, 'FailedResolutions', 'MGP', 'u32', 'Total number of failed DNS resolutions in current worker process since started'),
    (61, 'TotalBytesOut', 'MGP', 'u64', 'Total number of bytes emitted by current worker process since started'),
    (62, 'TotalSplicdedBytesOut', 'MGP', 'u64', 'Total number of bytes emitted by current worker process through a kernel pipe since started'),
    (63, 'BytesOutRate', 'MRP', 'u64', 'Number of bytes emitted by current worker process over the last second'),
    (64, 'DebugCommandsIssued', 'MGP', 'u32', 'Number of debug commands issued on this process (anything > 0 is unsafe)'),
    (65, 'CumRecvLogs', 'MCP', 'u32', 'Total number of log messages received by log-forwarding listeners on this worker process since started'),
    (66, 'Build info', 'POS', 'str', 'Build info'),
    (67, 'Memmax_bytes', 'CLP', 'u32', "Worker process's hard limit on memory usage in byes (-m on command line)"),
    (68, 'PoolAlloc_bytes', 'MGP', 'u64', 'Amount of memory allocated in pools (in bytes)'),
    (69, 'PoolUsed_bytes', 'MGP', 'u64', 'Amount of pool memory currently used (in bytes)'),
    (70, 'Start_time_sec', 'MDP', 'u32', 'Start time in seconds'),
    (71, 'Tainted', 'SGP', 'str', 'Experimental features used'),
)
