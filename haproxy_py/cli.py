"""Command line: HAProxy's flags, ``-c`` validation, and the ``top`` subcommand.

Each path imports only what it needs: ``-c`` loads the config layer (pyparsing) and nothing else;
``top`` loads the TUI lazily; running the proxy loads the engine lazily.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from haproxy_py import HAPROXY_COMPAT, __version__
from haproxy_py.registry import Registry

if TYPE_CHECKING:
    from haproxy_py.config.model import Config

COMPAT_FULL = "2.6.12"
USAGE = """Usage : haproxy-py [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -n <maxconn> ] [ -N <maxpconn> ]
        [ -p <pidfile> ] [ -m <max megs> ] [ -C <dir> ] [-- <cfgfile>*]
        -v displays version ; -vv shows known build options.
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -q quiet mode : don't display messages
        -dW fails if any warning is emitted
        -db disables background mode
        -D goes daemon ; -W master-worker mode ; -S <sock> master CLI
        -p writes pids of all children to this file
        -sf/-st [pid ]* finishes/terminates old pids.
        -x <unix_socket> get listening sockets from a unix socket
        top [ARGS...] runs the terminal monitor (see 'haproxy-py top --help')
"""


@dataclass
class Options:
    """What the engine/process layer needs from the command line."""

    config_paths: list[str] = field(default_factory=list)
    check_only: bool = False
    foreground: bool = False
    daemon: bool = False
    pidfile: str | None = None
    sf_pids: list[int] = field(default_factory=list)
    #: -L NAME: this process's name in its peers sections
    localpeer: str | None = None
    st_pids: list[int] = field(default_factory=list)
    quiet: bool = False
    verbose: bool = False
    zero_warning: bool = False
    expose_socket: str | None = None  # -x: fetch listeners from this socket
    master_worker: bool = False
    master_cli: str | None = None  # -S
    condition: str | None = None  # -cc EXPR
    ignore_resolve_errors: bool = False  # -dr: a server name that does not resolve disables the server
    diag: bool = False  # -dD: .diag messages are shown
    dump_libs: bool = False  # -dL: list the loaded shared objects after the check
    no_splice: bool = False  # -dS: no splice() in tcp mode
    no_server_verify: bool = False  # -dV: servers' certificates are not verified unless a line says so
    debug: bool = False  # -d: foreground (2.6's per-event traces are not implemented)
    special_text: str | None = None  # printed instead of running (-dMhelp)


class UsageError(Exception):
    pass


class FlagError(UsageError):
    """A flag's value refused the way 2.6 refuses it: an alert, no usage text."""


#: -dM's pool debugging keywords (2.6): memory poisoning has no meaning for Python's allocator, so
#: every valid form is accepted with no effect
DM_KEYWORDS = frozenset({"fail", "no-fail", "no-merge", "merge", "cold-first", "hot-first", "integrity",
                         "no-integrity", "no-global", "global", "no-cache", "cache", "caller", "no-caller",
                         "tag", "no-tag", "poison", "no-poison"})
DM_HELP = """-dM[<byte>][,<keyword>...] is accepted as HAProxy 2.6 accepts it (a poisoning byte, then
comma-delimited pool debugging keywords: fail, no-merge, cold-first, integrity, no-global, no-cache,
caller, tag, poison and their opposites). haproxy-py has no memory pools: it changes nothing.
"""


#: 2.6's -d debug flags (its usage text), one registry like every other family of the language
FLAGS: Registry[str] = Registry("flag", "command-line flag", known=(
    "-d", "-db", "-dM", "-de", "-dp", "-dS", "-dG", "-dR", "-dL", "-dK", "-dr", "-dV", "-dW", "-dD"))
FLAGS.register("-db", "foreground", test="tests/integration/test_process_daemon.py::test_dash_D_and_db_stays_in_foreground")
FLAGS.register("-dW", "zero-warning", test="tests/unit/test_cli.py::test_zero_warning")
FLAGS.register("-dr", "ignore resolve errors", test="tests/unit/test_addresses.py::test_dr_disables_the_server_instead")
FLAGS.register("-dD", "diagnostics", test="tests/unit/test_cli.py::test_dd_shows_diag_directives")
FLAGS.register("-dL", "list loaded objects", test="tests/unit/test_cli.py::test_dl_lists_the_loaded_objects_before_the_verdict")
FLAGS.register("-dS", "no splice", test="tests/integration/test_engine_tcp.py::test_10mb_both_ways_checksum_and_half_close")
FLAGS.no_effect("-d", "it runs in the foreground like -db; 2.6's per-event debug traces are not written")
FLAGS.no_effect("-dM", "Python's allocator has no pools to poison or check: every form 2.6 accepts is checked "
                       "as 2.6 checks it and changes nothing")
FLAGS.no_effect("-de", "the event loop is uvloop's or asyncio's (epoll): there is no poller to choose")
FLAGS.no_effect("-dp", "the event loop is uvloop's or asyncio's (epoll): there is no poller to choose")
FLAGS.register("-dV", "no server verification by default",
               test="tests/integration/test_tls_servers_vs_haproxy.py::test_dash_dV_disables_server_verification")


def _debug_flag(o: Options, a: str) -> None:
    """HAProxy reads a -d flag by its third character (so -dbx is -db and -dZ is -d)."""
    c = a[2:3]
    if c == "b":
        o.foreground = True
    elif c == "W":
        o.zero_warning = True
    elif c == "r":
        o.ignore_resolve_errors = True
    elif c == "V":
        o.no_server_verify = True
    elif c == "D":
        o.diag = True
    elif c == "L":
        o.dump_libs = True
    elif c == "S":
        o.no_splice = True
    elif c == "M":
        rest = a[3:]
        if rest == "help":
            o.special_text = DM_HELP
            return
        k = 0
        if rest[:2].lower() == "0x":
            k = 2
            while k < len(rest) and rest[k] in "0123456789abcdefABCDEF":
                k += 1
        else:
            while k < len(rest) and rest[k].isdigit():
                k += 1
        for kw in (w for w in rest[k:].split(",") if w):
            if kw not in DM_KEYWORDS:
                raise FlagError(f"-dM: unknown pool debugging feature <{kw}>")
    elif c in ("K", "R", "G"):
        raise FlagError(FLAGS.refusal(f"-d{c}"))
    elif c in ("e", "p", "V"):
        pass  # epoll/poll switches (the loop is uvloop or asyncio's) and TLS verify (TLS is refused): no effect
    else:  # -d and any other letter: debug mode
        o.foreground = True
        o.debug = True


def parse_args(argv: list[str]) -> tuple[Options, str | None]:
    """Returns (options, special) where special is "v", "vv" or None."""
    o = Options()
    special: str | None = None
    i = 0
    n = len(argv)

    def need(flag: str) -> str:
        nonlocal i
        if i + 1 >= n:
            raise UsageError(f"'{flag}' expects an argument.")
        i += 1
        return argv[i]

    while i < n:
        a = argv[i]
        if a == "--":
            o.config_paths.extend(argv[i + 1:])
            break
        if a == "-f":
            o.config_paths.append(need(a))
        elif a == "-c":
            o.check_only = True
        elif a == "-cc":
            o.condition = need(a)
        elif a == "-q":
            o.quiet = True
        elif a == "-V":
            o.verbose = True
        elif a == "-D":
            o.daemon = True
        elif a == "-W" or a == "-Ws":
            o.master_worker = True
        elif a == "-S":
            o.master_cli = need(a)
        elif a == "-p":
            o.pidfile = need(a)
        elif a == "-x":
            o.expose_socket = need(a)
        elif a in ("-sf", "-st"):
            pids = o.sf_pids if a == "-sf" else o.st_pids
            while i + 1 < n and argv[i + 1].isdigit():
                i += 1
                pids.append(int(argv[i]))
        elif a == "-v":
            special = "v"
        elif a == "-vv":
            special = "vv"
        elif a.startswith("-d"):
            _debug_flag(o, a)
        elif a == "-L":
            o.localpeer = need(a)
        elif a in ("-n", "-N", "-m", "-C"):
            need(a)
        elif a.startswith("-"):
            raise UsageError(f"unknown option '{a}'.")
        else:  # as in 2.6: files come after -f or after "--"
            raise UsageError(f"unexpected argument '{a}' (name configuration files with -f or after '--').")
        i += 1
    return o, special


def version_text() -> str:
    return (f"haproxy-py version {__version__} (compatible with HAProxy {COMPAT_FULL}, {HAPROXY_COMPAT} "
            "configuration language)\n"
            f"Running on: Python {sys.version.split()[0]} {os.uname().sysname} {os.uname().release} "
            f"{os.uname().machine}\n")


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - any failure means "unknown"
        return "not available"


def version_verbose_text() -> str:
    import importlib.util

    has_uvloop = importlib.util.find_spec("uvloop") is not None
    loop = "uvloop" if has_uvloop else "asyncio (uvloop not importable)"
    lines = [version_text().rstrip("\n"),
             f"Python: {sys.version.split()[0]} ({sys.implementation.name}) at {sys.executable}",
             f"Event loop that would be used: {loop}",
             f"pyparsing: {_dist_version('pyparsing')}",
             f"uvloop: {_dist_version('uvloop') if has_uvloop else 'not available'}",
             f"textual: {_dist_version('textual')}",
             "Default settings :",
             "  bufsize = 16384, maxrewrite = 1024",
             f"Built with multi-process support (nbproc/nbthread = worker processes), CPUs = {os.cpu_count()}",
             "Available services : prometheus-exporter",
             f"TCP forwarding: {_forwarding_mode()}"]
    lines += _bundle_lines()
    lines.append("")
    return "\n".join(lines)


def _forwarding_mode() -> str:
    """Which byte-forwarding path mode tcp uses (chosen per connection: unix sockets are buffered)."""
    if hasattr(os, "splice") and hasattr(os, "SPLICE_F_MOVE"):
        if os.environ.get("HAPROXY_PY_NOSPLICE"):
            return "buffered (splice() available but disabled by HAPROXY_PY_NOSPLICE)"
        return "splice() through a pipe (zero copy) for TCP sockets, buffered otherwise"
    return "buffered (no splice() on this platform)"


def _bundle_lines() -> list[str]:
    """What the zipapp bundles and where native modules were unpacked (nothing outside a zipapp)."""
    try:
        from haproxy_py import _bootstrap

        info = _bootstrap.bundle_info()
    except Exception:  # noqa: BLE001 - informational only
        return []
    accel = _accel_lines()
    if not info.get("zipapp"):
        return ["Bundle: not running from haproxy.pyz", *accel]
    out = [f"Bundle: {info.get('zipapp')}",
           f"  native builds bundled: {', '.join(info.get('bundled_tags') or []) or 'none'}",
           f"  this interpreter: {info.get('interpreter')} ({'a build fits' if info.get('fits') else 'no build fits: asyncio'})",
           f"  cache directory: {info.get('cache_dir') or '-'}",
           f"  uvloop from the bundle: {'yes' if info.get('uvloop_from_bundle') else 'no'}"]
    if info.get("error"):
        out.append(f"  note: {info['error']}")
    return out + accel


def _accel_lines() -> list[str]:
    """Whether the compiled accelerator (mypyc, build_zipapp.py) is in use."""
    import importlib

    from haproxy_py import _bootstrap

    a = _bootstrap.accel_info()
    if a["bundled"] and a["error"] is None:
        # -vv imports none of them by itself: load them, so that the line says what a run would use
        for name in a["modules"]:
            try:
                importlib.import_module(name)
            except ImportError:
                pass
        a = _bootstrap.accel_info()
    if not a["bundled"]:
        return ["  accelerator: none bundled (pure Python)"]
    if a["active"]:
        return [f"  accelerator: active ({len(a['compiled'])} of {len(a['modules'])} compiled modules loaded, "
                f"from {a['directory']})"]
    if a["pure"] and a["compiled"]:
        return [f"  accelerator: partly active ({len(a['compiled'])} compiled, pure: {', '.join(a['pure'])})"]
    return [f"  accelerator: inactive, pure Python ({a['error'] or 'not loaded'})"]


def _peers_listen(cfg: Config) -> bool:
    """A local peer sharing tables listens too (2.6 counts it as a listener)."""
    if not any(s.kind == "peers" for s in cfg.other_sections):
        return False
    from haproxy_py.stick.peersconf import listening_sections

    return bool(listening_sections(cfg))


def _stderr(msg: str) -> None:
    sys.stderr.write(msg + "\n")


def check_config(opts: Options) -> tuple[int, Config | None]:
    """Load the config and print HAProxy's ``-c`` output. Returns (rc, config)."""
    from haproxy_py.config import has_listener, load_config

    pid = os.getpid()
    if not opts.config_paths:
        if not opts.quiet:
            _stderr(f"[ALERT]    ({pid}) : No configuration file specified (use -f FILE or -f DIR).")
        return 1, None
    if opts.no_server_verify:  # read by config/tls.py, here and in workers reloading the files
        os.environ["HAPROXY_PY_NO_SERVER_VERIFY"] = "1"
    try:
        cfg, diags = load_config(opts.config_paths, diag=opts.diag, localpeer=opts.localpeer)
        from haproxy_py.addresses import check_and_resolve  # bind/log/addr names, then the servers'

        cfg = check_and_resolve(cfg, diags, ignore_failures=opts.ignore_resolve_errors)
        if cfg.programs and not (cfg.global_.master_worker or opts.master_worker):
            diags.alert("Can't use a 'program' section without master worker mode.", None, phase="post")
    except Exception as e:  # noqa: BLE001 - never a traceback for bad input
        if not opts.quiet:
            _stderr(f"[ALERT]    ({pid}) : config : internal error while loading the configuration: "
                    f"{type(e).__name__}: {e}")
        return 1, None
    g = cfg.global_
    opts.quiet = opts.quiet or g.quiet
    opts.zero_warning = opts.zero_warning or g.zero_warning
    opts.no_splice = opts.no_splice or g.nosplice
    exe = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else sys.executable
    has_warn = any(d.severity in ("WARNING", "ALERT") for d in diags.messages)
    header = [f"[NOTICE]   ({pid}) : haproxy-py version is {__version__} (HAProxy {COMPAT_FULL} compatible)",
              f"[NOTICE]   ({pid}) : path to executable is {exe}"]
    lines = diags.format(pid)
    if diags.has_errors:
        if not opts.quiet:
            out = header + lines
            if not diags.aborted:
                out.append(f"[ALERT]    ({pid}) : config : Fatal errors found in configuration.")
            _stderr("\n".join(out))
        return 1, cfg
    if opts.zero_warning and diags.warnings:
        if not opts.quiet:
            _stderr("\n".join(header + lines + [
                f"[ALERT]    ({pid}) : config : Some warnings were found and 'zero-warning' is set. Aborting."]))
        return 1, cfg
    if lines and not opts.quiet:
        _stderr("\n".join((header if has_warn or diags.notices else []) + lines))
    if opts.dump_libs and not opts.quiet:
        sys.stdout.write(loaded_objects_text())
    if not opts.check_only:
        return 0, cfg
    warn_line = "Warnings were found.\n" if diags.warnings else ""
    if not has_listener(cfg) and not _peers_listen(cfg) \
            and not any(lf.binds or lf.dgram_binds for lf in cfg.log_forwards):
        if not opts.quiet:
            sys.stdout.write(warn_line + "Configuration file has no error but will not start (no listener) "
                             "=> exit(2).\n")
        return 2, cfg
    if not opts.quiet:
        sys.stdout.write(warn_line + "Configuration file is valid\n")
    return 0, cfg


def loaded_objects_text() -> str:
    """-dL: the interpreter and the shared objects mapped in this process (from /proc/self/maps)."""
    seen = [sys.executable]
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) == 6 else ""
                if ".so" in path and path.startswith("/") and path not in seen:
                    seen.append(path)
    except OSError:
        pass
    return "List of loaded object files:\n" + "".join(p + "\n" for p in seen)


def check_condition(expr: str) -> int:
    """``-cc EXPR``: 0 when the condition is true, 1 when false, 2 (with 2.6's alert) when unreadable."""
    from haproxy_py.config.cfgcond import CondError, evaluate
    from haproxy_py.config.tokenizer import TokenError, tokenize_line

    pid = os.getpid()
    header = [f"[NOTICE]   ({pid}) : haproxy-py version is {__version__} (HAProxy {COMPAT_FULL} compatible)",
              f"[NOTICE]   ({pid}) : path to executable is {os.path.abspath(sys.argv[0]) if sys.argv else ''}"]
    try:  # cut like a configuration line, except that '#' starts no comment here (as in 2.6)
        words, _ = tokenize_line(expr.replace("#", "\\#"), os.environ)
    except TokenError:
        _stderr("\n".join(header + [f"[ALERT]    ({pid}) : config : Syntax Error in condition: Unmatched quote."]))
        return 2
    try:
        return 0 if evaluate(" ".join(words) if words or not expr else expr, os.environ) else 1
    except CondError as e:
        _stderr("\n".join(header + [f"[ALERT]    ({pid}) : config : Failed to evaluate condition: {e.message}"]))
        return 2


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "top":
        try:
            from tui.app import main as top_main
        except ImportError as e:
            _stderr(f"haproxy-py top: the terminal monitor is not available ({e}).")
            return 1
        return int(top_main(argv[1:]) or 0)
    try:
        opts, special = parse_args(argv)
    except FlagError as e:
        pid = os.getpid()
        _stderr(f"[NOTICE]   ({pid}) : haproxy-py version is {__version__} (HAProxy {COMPAT_FULL} compatible)\n"
                f"[NOTICE]   ({pid}) : path to executable is {os.path.abspath(sys.argv[0]) if sys.argv else ''}\n"
                f"[ALERT]    ({pid}) : {e}")
        return 1
    except UsageError as e:
        _stderr(f"[ALERT]    ({os.getpid()}) : {e}")
        sys.stderr.write(USAGE)
        return 1
    if special == "v":
        sys.stdout.write(version_text())
        return 0
    if special == "vv":
        sys.stdout.write(version_verbose_text())
        return 0
    if opts.condition is not None:
        return check_condition(opts.condition)
    if opts.special_text is not None:
        sys.stdout.write(opts.special_text)
        return 0
    if not opts.config_paths:
        sys.stderr.write(USAGE)
        return 1
    rc, cfg = check_config(opts)
    if opts.check_only or rc != 0 or cfg is None:
        return rc
    if cfg.global_.environ is not None:  # setenv and its kin, as the process's own environment
        keep = {k: v for k, v in os.environ.items() if k.startswith(("HAPROXY_PY_", "HPY_TEST_RUN"))}
        os.environ.clear()
        os.environ.update(dict(cfg.global_.environ))
        for k, v in keep.items():  # haproxy-py's own switches survive a resetenv
            os.environ.setdefault(k, v)
    if opts.no_splice:
        os.environ["HAPROXY_PY_NOSPLICE"] = "1"
    if opts.debug and not opts.quiet:
        _stderr(f"[NOTICE]   ({os.getpid()}) : -d: running in the foreground; HAProxy's per-event debug traces "
                "are not implemented by haproxy-py.")
    try:
        from haproxy_py.engine.workers import run  # daemon, signals, reloads, workers
    except ImportError:
        _stderr("engine not available yet")
        return 1
    prof_path = os.environ.get("HAPROXY_PY_PROFILE")
    if not prof_path:
        return int(run(cfg, opts) or 0)
    # a developer's switch (bench/README): the whole run under cProfile, written when the process stops
    import cProfile

    prof = cProfile.Profile()
    try:
        return int(prof.runcall(run, cfg, opts) or 0)
    finally:
        prof.dump_stats(prof_path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
