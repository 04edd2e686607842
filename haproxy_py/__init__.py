"""haproxy-py: a TCP/HTTP load balancer that speaks HAProxy's configuration language."""

__version__ = "0.1.0"
#: the HAProxy release whose observable behaviour we follow
HAPROXY_COMPAT = "2.6"
