"""HAProxy 2.6's connection error codes (CO_ER_*, the ``fc_err``/``bc_err`` fetches) and their
texts (``fc_err_str``/``bc_err_str``, the message of 2.6's connection error log lines), as 2.6's
manual lists them. Pure.

Where haproxy-py records one (the log record's ``fc_err``/``bc_err``): a client connection whose
TLS layer fails after its handshake (SSL_FATAL, 43); a server connection whose TLS handshake
fails (SSL_HANDSHAKE, 34, which 2.6 also reports for a server that closes during it) or whose
SOCKS4 proxy refuses or breaks the handshake (39 to 42). A server connection that could not be
made (refused, timed out) is no connection: ``bc_err`` has no sample, as in 2.6. The errors of
connections that never became a session (a bad PROXY protocol header, a failed client handshake)
only reach 2.6's fixed-format error log line, never a log-format or a rule.
"""

from __future__ import annotations

TEXTS: tuple[str, ...] = (
    "Success",
    "Reached configured maxconn value",
    "Too many sockets on the process",
    "Too many sockets on the system",
    "Out of system buffers",
    "Protocol or address family not supported",
    "General socket error",
    "Source port range exhausted",
    "Can't bind to source address",
    "Out of local source ports on the system",
    "Local source address already in use",
    "Connection closed while waiting for PROXY protocol header",
    "Connection error while waiting for PROXY protocol header",
    "Timeout while waiting for PROXY protocol header",
    "Truncated PROXY protocol header received",
    "Received something which does not look like a PROXY protocol header",
    "Received an invalid PROXY protocol header",
    "Received an unhandled protocol in the PROXY protocol header",
    "Connection closed while waiting for NetScaler Client IP header",
    "Connection error while waiting for NetScaler Client IP header",
    "Timeout while waiting for a NetScaler Client IP header",
    "Truncated NetScaler Client IP header received",
    "Received an invalid NetScaler Client IP magic number",
    "Received an unhandled protocol in the NetScaler Client IP header",
    "Connection closed during SSL handshake",
    "Connection error during SSL handshake",
    "Timeout during SSL handshake",
    "Too many SSL connections",
    "Out of memory when initializing an SSL connection",
    "Rejected a client-initiated SSL renegotiation attempt",
    "SSL client CA chain cannot be verified",
    "SSL client certificate not trusted",
    "Server presented an SSL certificate different from the configured one",
    "Server presented an SSL certificate different from the expected one",
    "SSL handshake failure",
    "SSL handshake failure after heartbeat",
    "Stopped a TLSv1 heartbeat attack (CVE-2014-0160)",
    "Attempt to use SSL on an unknown target (internal error)",
    "Server refused early data",
    "SOCKS4 Proxy write error during handshake",
    "SOCKS4 Proxy read error during handshake",
    "SOCKS4 Proxy deny the request",
    "SOCKS4 Proxy handshake aborted by server",
    "SSL fatal error",
)

NONE = 0
SSL_HANDSHAKE = 34
SOCKS4_SEND, SOCKS4_RECV, SOCKS4_DENY, SOCKS4_ABORT = 39, 40, 41, 42
SSL_FATAL = 43


def text(code: int) -> str | None:
    """2.6's message for ``code`` (conn_err_code_str); None for a code it does not know."""
    return TEXTS[code] if 0 <= code < len(TEXTS) else None


def server_failure(info: str) -> int | None:
    """The code a failed server connection attempt leaves (engine/connect.py's failure text),
    None when the attempt left no connection (refused, timed out...)."""
    if info == "SSL handshake failure":
        return SSL_HANDSHAKE
    for code in (SOCKS4_SEND, SOCKS4_RECV, SOCKS4_DENY, SOCKS4_ABORT):
        if info.startswith(TEXTS[code]):
            return code
    return None
