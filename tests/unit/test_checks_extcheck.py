"""checks/extcheck.py without a process (the program's runs are compared with 2.6 in
tests/differential/test_external_check_vs_haproxy.py)."""

from __future__ import annotations

from haproxy_py.checks import extcheck as XC
from haproxy_py.checks.testing import make_backend
from haproxy_py.config.model import Address, Bind, ExternalCheck


def test_arguments_and_environment() -> None:
    be = make_backend("b", [{"name": "s1", "check": True, "maxconn": 7}], mode="tcp", uuid=3)
    srv = be.servers[0]
    argv, env = XC.command_line(ExternalCheck("/x/chk", None), be.conf, srv)
    assert argv == ["/x/chk", "NOT_USED", "NOT_USED", "127.0.0.1", "1"]
    assert env["PATH"] == "" and env["HAPROXY_PROXY_ADDR"] == "" and env["HAPROXY_PROXY_ID"] == "3"
    assert (env["HAPROXY_SERVER_MAXCONN"], env["HAPROXY_SERVER_PROTO"], env["HAPROXY_SERVER_SSL"]) == ("7", "tcp", "0")
    web = make_backend("l", [{"name": "s1", "check": True}], mode="http",
                       binds=(Bind((Address("ipv4", "127.0.0.1", 8080, 8080),)),))
    argv, env = XC.command_line(ExternalCheck("chk", "/bin"), web.conf, web.servers[0])
    assert argv[1:3] == ["127.0.0.1", "8080"] and env["HAPROXY_SERVER_PROTO"] == "h1" and env["PATH"] == "/bin"


def test_results() -> None:
    assert (XC.exited(0).status, XC.exited(0).code) == ("PROCOK", 0)
    assert (XC.exited(3).status, XC.exited(3).code) == ("PROCERR", 3)
    assert XC.exited(-9).code == -1 and XC.not_started().code == 255
    assert (XC.timed_out().status, XC.timed_out().code) == ("PROCTOUT", 0)
