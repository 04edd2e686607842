"""tui: the interactive monitor (``haproxy.pyz top``), a pure client of the stats socket.

It never imports haproxy_py, so it monitors Debian's HAProxy just as well.
"""
