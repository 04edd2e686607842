"""tui.client: parsing of real captures and the one-command-per-connection client."""

from __future__ import annotations

import asyncio

import pytest
from tui_fakesock import SHOW_INFO, SHOW_SERVERS_STATE, SHOW_STAT, FakeStatsServer

from tests.conftest import SAMPLES
from tui.client import (
    CommandFailed,
    ConnectFailed,
    PermissionDenied,
    StatsClient,
    escape_arg,
    parse_address,
    parse_info,
    parse_servers_state,
    parse_stat_csv,
)


def test_parse_stat_csv_by_header_names() -> None:
    rows = parse_stat_csv(SHOW_STAT)
    assert [(r["pxname"], r["svname"]) for r in rows][:5] == [
        ("web", "FRONTEND"),
        ("app", "s1"),
        ("app", "s2"),
        ("app", "s3"),
        ("app", "bk1"),
    ]
    s2 = rows[2]
    assert s2["status"] == "UP" and s2["weight"] == "2" and s2["uweight"] == "2"
    assert s2["check_status"] == "L7OK" and s2["check_duration"] == "2"
    assert s2["addr"] == "127.0.0.1:23002" and s2["lbtot"] == "11"
    assert s2["h1_spliced_bytes_out"] == ""  # last real column kept, trailing comma dropped
    assert "" not in s2
    t2 = next(r for r in rows if r["svname"] == "t2")
    assert (
        t2["status"] == "DOWN" and t2["downtime"] == "82" and t2["check_desc"] == "Layer4 connection problem"
    )
    assert len(rows) == 15


def test_parse_stat_csv_does_not_depend_on_positions() -> None:
    # 1.5-style dump: fewer columns, and a reordered header must still map by name.
    text = "# svname,pxname,status,weight,\ns1,app,UP,7,\nBACKEND,app,UP,7,\n\n"
    rows = parse_stat_csv(text)
    assert rows == [
        {"svname": "s1", "pxname": "app", "status": "UP", "weight": "7"},
        {"svname": "BACKEND", "pxname": "app", "status": "UP", "weight": "7"},
    ]


def test_parse_stat_csv_quoted_fields() -> None:
    text = '# pxname,svname,last_chk,status,\napp,s1,"Detected 2 errors, last ""x""",DOWN,\n\n'
    (row,) = parse_stat_csv(text)
    assert row["last_chk"] == 'Detected 2 errors, last "x"'
    assert row["status"] == "DOWN"


def test_parse_stat_csv_rejects_non_csv() -> None:
    with pytest.raises(ValueError):
        parse_stat_csv("Unknown command.\n\n")
    assert parse_stat_csv("\n") == []


def test_parse_stat_csv_other_capture_with_user_level() -> None:
    text = (SAMPLES / "stats_page" / "stats.csv").read_text()
    rows = parse_stat_csv(text)
    assert rows and all("pxname" in r and "status" in r for r in rows)


def test_parse_info() -> None:
    info = parse_info(SHOW_INFO)
    assert info["Version"] == "2.6.12-1+deb12u4"
    assert info["Uptime"] == "0d 0h01m23s"
    assert info["Unstoppable Jobs"] == "0"
    assert info["Build info"] == "2.6.12-1+deb12u4"
    assert len(info) == 69


def test_parse_servers_state() -> None:
    rows = parse_servers_state(SHOW_SERVERS_STATE)
    assert len(rows) == 8
    assert rows[0]["be_name"] == "app" and rows[0]["srv_name"] == "s1"
    assert rows[0]["srv_admin_state"] == "0" and rows[0]["srv_port"] == "23001"
    assert rows[7]["srv_op_state"] == "0"


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("/run/haproxy/admin.sock", ("unix", "/run/haproxy/admin.sock")),
        ("unix@/tmp/x.sock", ("unix", "/tmp/x.sock")),
        ("stats.sock", ("unix", "stats.sock")),
        ("127.0.0.1:9999", ("tcp", ("127.0.0.1", 9999))),
        ("ipv4@127.0.0.1:9999", ("tcp", ("127.0.0.1", 9999))),
        ("[::1]:9999", ("tcp", ("::1", 9999))),
        ("localhost:80", ("tcp", ("localhost", 80))),
    ],
)
def test_parse_address(addr: str, expected: tuple) -> None:
    assert parse_address(addr) == expected


def test_escape_arg() -> None:
    assert escape_arg("a;b\\c") == "a\\;b\\\\c"
    assert escape_arg("app") == "app"


def test_client_sends_one_line_per_connection(fake: FakeStatsServer) -> None:
    async def go() -> None:
        c = StatsClient(fake.path)
        rows = await c.show_stat()
        info = await c.show_info()
        state = await c.show_servers_state("app")
        assert len(rows) == 15 and info["Pid"] == "6817" and len(state) == 8
        assert await c.cli_level() == "admin"
        await c.set_state("app", "s1", "drain")
        await c.set_state("app", "s1", "ready")
        await c.set_weight("app", "s2", 5)
        await c.set_weight("app", "s2", "50%")
        await c.set_health_checks("app", "s3", False)
        await c.set_health_checks("app", "s3", True)
        await c.shutdown_sessions("app", "s3")
        with pytest.raises(ValueError):
            await c.set_state("app", "s1", "up")
        with pytest.raises(ValueError):
            await c.set_weight("app", "s1", "x5")

    asyncio.run(go())
    assert fake.received == [
        b"show stat\n",
        b"show info\n",
        b"show servers state app\n",
        b"show cli level\n",
        b"set server app/s1 state drain\n",
        b"set server app/s1 state ready\n",
        b"set weight app/s2 5\n",
        b"set weight app/s2 50%\n",
        b"disable health app/s3\n",
        b"enable health app/s3\n",
        b"shutdown sessions server app/s3\n",
    ]


def test_permission_denied_is_a_clean_error(fake: FakeStatsServer) -> None:
    fake.level = "user"

    async def go() -> None:
        c = StatsClient(fake.path)
        assert await c.cli_level() == "user"
        assert len(await c.show_stat()) == 15  # reads are allowed at level user
        with pytest.raises(PermissionDenied) as ei:
            await c.set_state("app", "s1", "maint")
        assert "level" in str(ei.value) and "set server app/s1 state maint" in str(ei.value)

    asyncio.run(go())


def test_error_reply_is_command_failed(fake: FakeStatsServer) -> None:
    fake.handlers["set weight"] = lambda line: "Absolute weight can only be between 0 and 256 inclusive.\n\n"

    async def go() -> None:
        c = StatsClient(fake.path)
        with pytest.raises(CommandFailed) as ei:
            await c.set_weight("app", "s1", 300)
        assert ei.value.reply.startswith("Absolute weight")

    asyncio.run(go())


def test_missing_socket_and_reconnect(fake: FakeStatsServer) -> None:
    async def go() -> None:
        c = StatsClient(fake.path, timeout=2)
        assert len(await c.show_stat()) == 15
        fake.stop()
        with pytest.raises(ConnectFailed) as ei:
            await c.show_stat()
        assert fake.path in str(ei.value)
        fake.start()
        assert len(await c.show_stat()) == 15  # next command simply connects again

    asyncio.run(go())


def test_refused_socket_file(sockdir) -> None:
    import socket

    path = str(sockdir / "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # the file stays, nobody listens: like a crashed proxy

    async def go() -> None:
        with pytest.raises(ConnectFailed) as ei:
            await StatsClient(path).command("show info")
        assert "refused" in str(ei.value).lower()

    asyncio.run(go())


def test_tcp_address() -> None:
    got: list[bytes] = []

    async def go() -> None:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            got.append(await r.readline())
            w.write(b"admin\n\n")
            await w.drain()
            w.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            assert await StatsClient(f"127.0.0.1:{port}").cli_level() == "admin"

    asyncio.run(go())
    assert got == [b"show cli level\n"]


def test_closed_without_reply(sockdir) -> None:
    async def go() -> None:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await r.readline()
            w.close()

        path = str(sockdir / "mute.sock")
        server = await asyncio.start_unix_server(handle, path)
        async with server:
            with pytest.raises(ConnectFailed):
                await StatsClient(path).command("show info")
            with pytest.raises(Exception, match="single line"):
                await StatsClient(path).command("show info\nshow stat")

    asyncio.run(go())
