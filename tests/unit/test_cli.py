"""The command line: flags, -c output and exit codes, bad input, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from haproxy_py import cli
from tests.conftest import ROOT

GOOD = """global
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:23600
    default_backend be
backend be
    server s1 127.0.0.1:23001
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def write(tmp_path: Path, text: str, name: str = "h.cfg") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-c", "-f", write(tmp_path, GOOD)], capsys) == (0, "Configuration file is valid\n", "")


def test_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["-c", "-f", write(tmp_path, GOOD.replace("    timeout client 30s\n", ""))], capsys)
    assert rc == 0
    assert out == "Warnings were found.\nConfiguration file is valid\n"
    lines = err.splitlines()
    assert lines[0].startswith("[NOTICE]   (") and "version is" in lines[0]
    assert lines[1].startswith("[NOTICE]   (") and "path to executable is" in lines[1]
    assert lines[2].startswith("[WARNING]  (") and lines[2].endswith(" : config : missing timeouts for frontend 'fe'.")


def test_zero_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["-c", "-dW", "-f", write(tmp_path, GOOD.replace("    timeout client 30s\n", ""))], capsys)
    assert rc == 1 and out == ""
    assert err.splitlines()[-1].endswith("Some warnings were found and 'zero-warning' is set. Aborting.")


def test_no_listener(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["-c", "-f", write(tmp_path, "")], capsys)
    assert (rc, out, err) == (2, "Configuration file has no error but will not start (no listener) => exit(2).\n", "")


def test_invalid_reports_every_error_with_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD + "    foobar 1\n    server s2 127.0.0.1:1 weight 300\n")
    rc, out, err = run(["-c", "-f", path], capsys)
    assert rc == 1 and out == ""
    lines = err.splitlines()
    alerts = [ln for ln in lines if ln.startswith("[ALERT]")]
    assert alerts[0].endswith(f"config : parsing [{path}:12] : unknown keyword 'foobar' in 'backend' section")
    assert alerts[1].endswith(f"config : [{path}:13] : 'server be/s2' : weight of server s2 is not within 0 and 256 "
                              "(300)..")
    assert alerts[2].endswith(f"config : Error(s) found in configuration file : {path}")
    assert alerts[3].endswith("config : Fatal errors found in configuration.")
    assert f"   | at {path}:12:5: foobar 1" in lines
    assert f"   | at {path}:13:34: server s2 127.0.0.1:1 weight 300" in lines


def test_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-c", "-q", "-f", write(tmp_path, GOOD + "    foobar\n")], capsys) == (1, "", "")
    assert run(["-c", "-q", "-f", write(tmp_path, GOOD)], capsys) == (0, "", "")


@pytest.mark.parametrize("content,needle", [
    (b"global\n  log \x00\x01 local0\n", "NUL character"),
    (b"global\n" + b"a" * 1_000_000 + b"\n", "line too long"),
    (bytes(range(256)) * 4, "config :"),
    (b"\xff\xfe\xfd garbage\n", "unknown keyword"),
])
def test_bad_content_is_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  content: bytes, needle: str) -> None:
    p = tmp_path / "bad.cfg"
    p.write_bytes(content)
    rc, out, err = run(["-c", "-f", str(p)], capsys)
    assert rc == 1 and needle in err and "Traceback" not in err


def test_missing_file_and_empty_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["-c", "-f", str(tmp_path / "nope.cfg")], capsys)
    assert rc == 1 and "Cannot open configuration file" in err
    rc, _, err = run(["-c", "-f", str(tmp_path)], capsys)
    assert rc == 1 and "contains no '*.cfg' file" in err


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = Path(write(tmp_path, GOOD))
    p.chmod(0)
    try:
        rc, _, err = run(["-c", "-f", str(p)], capsys)
        if rc == 0:  # running as root: permissions do not apply
            return
        assert rc == 1 and "Could not open configuration file" in err
    finally:
        p.chmod(0o644)


def test_directory_and_repeated_f(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "conf.d"
    d.mkdir()
    (d / "a.cfg").write_text(GOOD.split("\nbackend be")[0] + "\n")
    extra = write(tmp_path, "backend be\n    server s1 127.0.0.1:1\n", "b.cfg")
    assert run(["-c", "-f", str(d), "-f", extra], capsys)[0] == 0


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["-v"], capsys)
    assert rc == 0 and out.startswith("haproxy-py version 0.1.0 (compatible with HAProxy 2.6")
    rc, out, _ = run(["-vv"], capsys)
    assert rc == 0
    assert "Event loop that would be used: " in out and "pyparsing: " in out and "textual: " in out
    assert "uvloop: " in out and "Python: " in out


def test_parse_args() -> None:
    o, special = cli.parse_args(["-f", "a", "-f", "b", "-db", "-D", "-p", "/tmp/p", "-sf", "12", "13", "-q",
                                 "-x", "/s", "-W", "-S", "/m", "-V"])
    assert special is None
    assert (o.config_paths, o.foreground, o.daemon, o.pidfile, o.sf_pids, o.quiet, o.expose_socket,
            o.master_worker, o.master_cli, o.verbose) == (
        ["a", "b"], True, True, "/tmp/p", [12, 13], True, "/s", True, "/m", True)
    o, _ = cli.parse_args(["-st", "7", "-f", "x"])
    assert o.st_pids == [7] and o.config_paths == ["x"]


def test_unknown_flag(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["-Z"], capsys)
    assert rc == 1 and "unknown option '-Z'" in err and "Usage" in err


def test_run_calls_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import haproxy_py.engine.workers as workers

    seen = {}

    def fake_run(config, options):  # noqa: ANN001, ANN202
        seen["config"], seen["options"] = config, options
        return 0

    monkeypatch.setattr(workers, "run", fake_run)
    path = write(tmp_path, GOOD)
    assert run(["-f", path, "-db", "-p", "/tmp/x.pid"], capsys)[0] == 0
    o = seen["options"]
    assert isinstance(o, cli.Options) and o.foreground and o.pidfile == "/tmp/x.pid" and o.config_paths == [path]
    assert seen["config"].proxy("fe") is not None


def test_run_without_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI imports engine/workers (which imports engine/loop): hide both
    monkeypatch.setitem(sys.modules, "haproxy_py.engine.workers", None)
    monkeypatch.setitem(sys.modules, "haproxy_py.engine.loop", None)
    rc, _, err = run(["-f", write(tmp_path, GOOD)], capsys)
    assert rc == 1 and "engine not available yet" in err


def test_run_refuses_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-f", write(tmp_path, GOOD + "  foobar\n")], capsys)[0] == 1


def test_top_without_tui(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tui.app", None)
    rc, _, err = run(["top"], capsys)
    assert rc == 1 and "terminal monitor is not available" in err


def test_top_delegates(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    fake = types.ModuleType("tui.app")
    fake.main = lambda argv: 7 if argv == ["-s", "x"] else 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tui.app", fake)
    assert run(["top", "-s", "x"], capsys)[0] == 7


def test_check_mode_imports_neither_textual_nor_uvloop(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    code = ("import sys; from haproxy_py.cli import main; rc = main(['-c','-q','-f'," + repr(path) + "]); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual','uvloop','asyncio','tui')]; "
            "print(rc, bad)")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "0 []", p.stdout + p.stderr


def test_python_m_entry(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", write(tmp_path, GOOD)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, "Configuration file is valid\n")


def test_positional_argument_is_a_usage_error_as_in_26(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    rc, _, err = run(["-c", path], capsys)
    assert rc == 1 and "Usage" in err
    assert run(["-c", "--", path], capsys)[0] == 0


def test_cc_evaluates_a_condition(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAPROXY_PY_CC", "x")
    assert run(["-cc", "defined(HAPROXY_PY_CC) && version_atleast(2.6)"], capsys) == (0, "", "")
    assert run(["-cc", "version_before(2.6) || feature(LUA)"], capsys) == (1, "", "")
    rc, out, err = run(["-cc", "1 # comment"], capsys)
    assert rc == 2 and err.splitlines()[-1].endswith(
        " : config : Failed to evaluate condition: unexpected character '#' at the end of conditional expression "
        "'1 # comment'")
    rc, _, err = run(["-cc", '"a'], capsys)
    assert rc == 2 and err.splitlines()[-1].endswith("Syntax Error in condition: Unmatched quote.")


@pytest.mark.parametrize("flags", [["-d"], ["-dM"], ["-dM0x55"], ["-dM0,fail,no-merge"], ["-dMfail"], ["-dD"],
                                   ["-dV"], ["-de"], ["-dp"], ["-dS"], ["-dr"], ["-dbx"], ["-dWx"], ["-dZ"]])
def test_debug_flags_accepted_as_26(flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*flags, "-c", "-f", write(tmp_path, GOOD)], capsys)[:2] == (0, "Configuration file is valid\n")


def test_debug_flags_read_by_their_third_letter() -> None:
    o, _ = cli.parse_args(["-dbx", "-dWy", "-dr", "-dS", "-dD", "-dL"])
    assert o.foreground and o.zero_warning and o.ignore_resolve_errors and o.no_splice and o.diag and o.dump_libs
    o, _ = cli.parse_args(["-dZ"])
    assert o.debug and o.foreground


def test_dm_refuses_an_unknown_feature_as_26(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["-dMzz", "-c", "-f", "x.cfg"], capsys)
    assert rc == 1 and out == "" and err.splitlines()[-1].endswith(" : -dM: unknown pool debugging feature <zz>")
    rc, out, _ = run(["-dMhelp"], capsys)
    assert rc == 0 and out.startswith("-dM[<byte>]")


@pytest.mark.parametrize("flag", ["-dK", "-dKall", "-dR", "-dG"])
def test_unimplemented_debug_flags_are_refused(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run([flag, "-c", "-f", "x.cfg"], capsys)
    assert rc == 1 and "is not implemented by haproxy-py (HAProxy 2.6 supports it)." in err


def test_dl_lists_the_loaded_objects_before_the_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["-dL", "-c", "-f", write(tmp_path, GOOD)], capsys)
    lines = out.splitlines()
    assert rc == 0 and lines[0] == "List of loaded object files:" and lines[1] == sys.executable
    assert lines[-1] == "Configuration file is valid"


def test_dd_shows_diag_directives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.replace("global\n", 'global\n    .diag "look"\n'))
    assert run(["-c", "-f", path], capsys)[2] == ""
    rc, _, err = run(["-dD", "-c", "-f", path], capsys)
    assert rc == 0 and "[DIAG]     (" in err and f" : config : parsing [{path}:2]: 'look'." in err


def test_a_stats_socket_is_a_listener_as_in_26(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only_be = "defaults\n    timeout connect 1s\n    timeout server 1s\nbackend b\n    server s 127.0.0.1:9\n"
    assert run(["-c", "-f", write(tmp_path, only_be)], capsys)[0] == 2
    with_sock = "global\n    stats socket /tmp/hpy-unit-bo.sock\n" + only_be
    assert run(["-c", "-f", write(tmp_path, with_sock)], capsys)[:2] == (0, "Configuration file is valid\n")
