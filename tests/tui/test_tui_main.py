"""tui.app.main: clean messages instead of tracebacks; tui never imports haproxy_py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tui import app as tui_app
from tui import locate

TUI = ROOT / "tui"


def test_tui_never_imports_haproxy_py() -> None:
    files = sorted(TUI.rglob("*.py"))
    assert len(files) >= 6
    bad = []
    for f in files:
        tree = ast.parse(f.read_text(), str(f))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module",
                "__import__",
            ):
                names = [
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
            for n in names:
                if n.split(".")[0] in ("haproxy_py", "uvloop"):
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno} imports {n}")
    assert not bad, bad


def test_importing_the_monitor_loads_no_haproxy_py_module() -> None:
    code = (
        "import sys, tui.app, tui.client, tui.locate, tui.model, tui.screens\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('haproxy_py', 'uvloop')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_python_m_tui_help() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tui", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0
    for opt in ("-s", "-f", "-i", "--read-only", "HOST:PORT"):
        assert opt in r.stdout


def test_no_socket_found_lists_what_was_tried(
    monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        locate, "default_candidates", lambda: [str(tmp_path / "a.sock"), str(tmp_path / "x-*/s")]
    )
    monkeypatch.setattr(locate, "default_configs", lambda: [str(tmp_path / "haproxy.cfg")])
    assert tui_app.main([]) == 1
    err = capsys.readouterr().err
    assert "no HAProxy stats socket found" in err
    assert f"{tmp_path / 'haproxy.cfg'} (no such config file)" in err
    assert f"{tmp_path / 'a.sock'} (missing)" in err and "(nothing matches)" in err
    assert "Traceback" not in err


def test_search_order_config_demo_debian() -> None:
    c = locate.default_candidates()
    assert c[:2] == [locate.DEMO_SOCKET, "/run/haproxy/admin.sock"]
    assert locate.default_configs() == ["haproxy.cfg", "/etc/haproxy/haproxy.cfg"]
    # the demo's configuration uses the path tried first
    demo = locate.stats_sockets_from_config(str(ROOT / "samples" / "demo.cfg"))
    assert demo[0][0] == locate.DEMO_SOCKET


def test_no_argument_finds_a_socket_skipping_stale_ones(
    monkeypatch: pytest.MonkeyPatch, fake, capsys, sockdir: Path
) -> None:
    import socket

    stale = str(sockdir / "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()  # the file stays, nobody listens (a proxy that crashed)
    cfg = sockdir / "haproxy.cfg"
    cfg.write_text(f"global\n    stats socket {stale} level admin\n")
    monkeypatch.setattr(locate, "default_configs", lambda: [str(cfg)])
    monkeypatch.setattr(locate, "default_candidates", lambda: [str(sockdir / "none.sock"), fake.path])
    seen = {}
    monkeypatch.setattr(tui_app.TopApp, "run", lambda self: seen.setdefault("address", self.client.address) and 0)
    assert tui_app.main([]) == 0
    assert seen["address"] == fake.path
    # when nothing answers, every place is listed with its reason, the stale one included
    fake.stop()
    assert tui_app.main([]) == 1
    err = capsys.readouterr().err
    assert f"{stale} (from {cfg}) (connection refused" in err
    assert f"{sockdir / 'none.sock'} (missing)" in err


def test_cannot_connect_is_a_message(capsys, sockdir: Path) -> None:
    gone = str(sockdir / "gone.sock")
    assert tui_app.main(["-s", gone]) == 1
    err = capsys.readouterr().err
    assert err == f"top: cannot connect to the stats socket {gone}: no such file\n"
    port = _closed_port()
    assert tui_app.main([f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"top: cannot connect to the stats socket 127.0.0.1:{port}: "
        f"connection refused: nothing listens on 127.0.0.1 port {port}\n"
    )
    assert "Connect call failed" not in err


def test_regular_file_is_not_a_socket(capsys, tmp_path: Path) -> None:
    plain = tmp_path / "stats"
    plain.write_text("not a socket")
    assert tui_app.main(["-s", str(plain)]) == 1
    err = capsys.readouterr().err
    assert err == f"top: cannot connect to the stats socket {plain}: not a unix socket (it is a regular file)\n"
    assert "refused" not in err.lower()


def test_config_without_socket_and_bad_interval(capsys, tmp_path: Path) -> None:
    cfg = tmp_path / "h.cfg"
    cfg.write_text("global\n  maxconn 5\n")
    assert tui_app.main(["-f", str(cfg)]) == 1
    assert "no 'stats socket' line" in capsys.readouterr().err
    assert tui_app.main(["-i", "0", "-s", "x"]) == 2


def test_main_starts_the_app_read_only_on_user_level(monkeypatch: pytest.MonkeyPatch, fake, capsys) -> None:
    fake.level = "user"
    seen = {}

    def fake_run(self):  # do not take over the terminal: record how the app was built
        seen["read_only"] = self.read_only
        seen["interval"] = self.interval
        seen["address"] = self.client.address
        seen["reason"] = self.read_only_reason
        return 0

    monkeypatch.setattr(tui_app.TopApp, "run", fake_run)
    assert tui_app.main(["-s", fake.path, "-i", "2.5"]) == 0
    assert seen == {"read_only": True, "interval": 2.5, "address": fake.path, "reason": tui_app.LEVEL_USER_REASON}
    assert "level 'user': starting read-only" in capsys.readouterr().err


def _closed_port() -> int:
    from tests.conftest import free_port

    return free_port()
