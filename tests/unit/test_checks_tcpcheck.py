"""checks/tcpcheck.py without sockets: the walk of a tcp-check sequence, event by event (the texts
and statuses are those 2.6.12 gave on the same exchanges, see the differential tests in
tests/integration/test_tcpcheck_vs_haproxy.py and test_protocol_checks_vs_haproxy.py)."""

from __future__ import annotations

import errno

from haproxy_py.checks import tcpcheck as T
from haproxy_py.config import tcpcheck as C


def rules(*lines: str) -> tuple:
    out = []
    comment = None
    for i, line in enumerate(lines):
        r = C.parse_line(["tcp-check", *line.split(" ")], i)
        if isinstance(r, str):
            comment = r
            continue
        if comment is not None and r.comment is None:
            import dataclasses

            r = dataclasses.replace(r, comment=comment)
        comment = None
        out.append(r)
    return C.with_implicit_connect(tuple(out))


def walk(run: T.TcpCheckRun, replies: list[bytes | None]) -> tuple[T.CheckResult, list[bytes]]:
    """Run to the end: connects succeed, each Recv takes the next reply (None: the server closes)."""
    sent: list[bytes] = []
    while True:
        act = run.step()
        if isinstance(act, T.Connect):
            run.connected()
        elif isinstance(act, T.Send):
            sent.append(act.data)
        elif isinstance(act, T.Recv):
            data = replies.pop(0)
            if data is None:
                run.closed()
            else:
                run.feed(data)
        else:
            return act.result, sent


def test_no_rules_is_an_implicit_connect_with_no_text() -> None:
    res, _ = walk(T.TcpCheckRun(C.with_implicit_connect(())), [])
    assert (res.status, res.info, res.code) == ("L4OK", "", None)


def test_expect_waits_on_mismatch_then_fails_on_close() -> None:
    run = T.TcpCheckRun(rules("send PING\r\n", "expect string +PONG"))
    res, sent = walk(run, [b"-ERR", b" unknown\r\n", None])
    assert sent == [b"PING\r\n"]
    assert (res.status, res.info) == ("L7RSP", "TCPCHK did not match content '+PONG' at step 2")


def test_success_is_l7ok_code_0() -> None:
    res, _ = walk(T.TcpCheckRun(rules("send PING\r\n", "expect string +PONG")), [b"+PONG\r\n"])
    assert (res.status, res.code, res.info) == ("L7OK", 0, "(tcp-check)")


def test_negated_match_fails_at_once_and_min_recv_is_conclusive() -> None:
    res, _ = walk(T.TcpCheckRun(rules("send x", "expect ! string -ERR")), [b"-ERR no\r\n"])
    assert res.info == "TCPCHK matched unwanted content '-ERR' at step 2"
    res, _ = walk(T.TcpCheckRun(rules("send x", "expect min-recv 3 string +PONG")), [b"-ERR\r\n"])
    assert res.status == "L7RSP"


def test_a_send_starts_a_fresh_buffer_and_comments_name_the_next_rule() -> None:
    run = T.TcpCheckRun(rules("send PING", "expect string +PONG", "send BOGUS", "comment about", "expect string +PONG"))
    assert isinstance(run.step(), T.Connect)
    run.connected()
    assert isinstance(run.step(), T.Send)
    assert isinstance(run.step(), T.Recv)
    run.feed(b"+PONG\r\n")
    assert isinstance(run.step(), T.Send)
    assert isinstance(run.step(), T.Recv)  # the first +PONG is not seen again
    run.feed(b"-ERR\r\n")
    assert isinstance(run.step(), T.Recv)
    res = run.timeout()
    assert (res.status, res.info) == ("L7TOUT", " at step 5 of tcp-check (expect string '+PONG') comment: 'about'")


def test_connection_errors_name_the_step() -> None:
    run = T.TcpCheckRun(rules("send x"))
    run.step()
    assert run.connect_error(errno.ECONNREFUSED).info == "Connection refused at initial connection step of tcp-check"
    run = T.TcpCheckRun(rules("connect port 99 comment c"))
    run.step()
    res = run.connect_error(errno.ECONNREFUSED)
    assert (res.status, res.info) == ("L4CON", "Connection refused at step 1 of tcp-check (connect port 99) comment: 'c'")


def test_rbinary_matches_upper_case_hex() -> None:
    ok, _ = walk(T.TcpCheckRun(rules("send x", "expect rbinary ^2B50")), [b"+PONG\r\n"])
    assert ok.status == "L7OK"
    bad, _ = walk(T.TcpCheckRun(rules("send x", "expect rbinary ^2b50")), [b"+PONG\r\n", None])
    assert bad.info == "TCPCHK did not match content (binary regex) at step 2"


def test_redis_check_reports_the_reply_line_and_no_step_on_errors() -> None:
    res, sent = walk(T.TcpCheckRun(C.REDIS_CHECK, proto=True), [b"-ERR unknown\r\n", None])
    assert sent == [b"*1\r\n$4\r\nPING\r\n"]
    assert (res.status, res.code, res.info) == ("L7STS", 0, "-ERR unknown")
    run = T.TcpCheckRun(C.REDIS_CHECK, proto=True)
    run.step()
    assert run.connect_error(errno.ECONNREFUSED).info == "Connection refused"


def test_smtp_reports_the_last_reply_code_and_text() -> None:
    run = T.TcpCheckRun(C.option_rules("smtpchk", ["EHLO", "me"]) or (), proto=True)
    res, sent = walk(run, [b"220 mx\r\n", b"250-a\r\n250 b\r\n", b"221 2.0.0 Bye\r\n"])
    assert sent == [b"EHLO me\r\n", b"QUIT\r\n"]
    assert (res.status, res.code, res.info) == ("L7OK", 221, "2.0.0 Bye")
    res, _ = walk(T.TcpCheckRun(C.smtp_check(), proto=True), [b"421 4.3.2 busy\r\n"])
    assert (res.status, res.code, res.info) == ("L7STS", 421, "4.3.2 busy")


def test_pgsql_startup_and_error_severity() -> None:
    res, sent = walk(T.TcpCheckRun(C.pgsql_check("bob"), proto=True),
                     [b"E\x00\x00\x00\x50SFATAL\x00VFATAL\x00C28000\x00"])
    assert sent == [b"\x00\x00\x00\x12\x00\x03\x00\x00user\x00bob\x00\x00"]
    assert (res.status, res.info) == ("L7RSP", "FATAL")
    res, _ = walk(T.TcpCheckRun(C.pgsql_check("bob"), proto=True), [bytes.fromhex("52000000170000000A5343")])
    assert (res.status, res.info) == ("L7OK", "PostgreSQL server is ok")


def test_mysql_error_packet_and_version() -> None:
    greeting = b"\x0f\x00\x00\x00\x0a10.11.6-Maria\x00"
    res, _ = walk(T.TcpCheckRun(C.mysql_check(), proto=True), [greeting])
    assert (res.status, res.info, res.shown) == ("L7OK", "10.11.6-Maria", "")
    denied = b"\x0a\x00\x00\x02\xff\x15\x04#28000no"
    res, _ = walk(T.TcpCheckRun(C.mysql_check("u"), proto=True), [greeting + denied])
    assert (res.status, res.code, res.info) == ("L7STS", 1045, "#28000no")


def test_ldap_result_codes() -> None:
    ok, sent = walk(T.TcpCheckRun(C.LDAP_CHECK, proto=True), [bytes.fromhex("300c02010161070a010004000400")])
    assert sent == [bytes.fromhex("300C020101600702010304008000")]
    assert (ok.status, ok.code, ok.info) == ("L7OK", 0, "Success")
    bad, _ = walk(T.TcpCheckRun(C.LDAP_CHECK, proto=True), [bytes.fromhex("300c02010161070a013104000400")])
    assert (bad.status, bad.code) == ("L7STS", 49)


def test_ssl3_client_hello_layout() -> None:
    hello = T.ssl3_client_hello(0x01020304)
    assert hello[:11] == bytes.fromhex("1603000079010000750300")
    assert hello[11:15] == b"\x01\x02\x03\x04" and len(hello) == 5 + 0x79
    res, _ = walk(T.TcpCheckRun(C.SSL_HELLO_CHECK, proto=True), [b"\x15\x03\x01\x00\x02\x02\x28"])
    assert (res.status, res.info) == ("L6OK", "")
