"""``program`` sections: commands the master starts beside its workers, as HAProxy 2.6 does.

The master forks each program before its workers ("New program 'NAME' (PID) forked"), does not
restart one that exits ("Current program 'NAME' (PID) exited with code N (Exit)": an alert, the
proxy goes on), and at a reload hands the running ones to its new image, which stops them with
SIGUSR1 like the old workers ("Former program ...") and starts a new instance of each program with
``option start-on-reload`` (the default). At the master's exit the current programs get SIGTERM.

A program does not outlive its master: one that is SIGKILLed (or crashes) cannot send that
SIGTERM, so on Linux each program asks the kernel for it (PR_SET_PDEATHSIG, set after its user
and group changes, which clear it) before it executes its command. A re-executed master (a
reload) is still the same parent. 2.6 has no such tie: there its programs outlive a killed master.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from haproxy_py.config.model import Program

#: the programs of the previous master image, across a reload: "PID:NAME,..."
PROGRAMS_ENV = "HAPROXY_PY_PROGRAMS"


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _prctl() -> Any:
    """libc's prctl on Linux (loaded in the master, before any fork), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent(prctl: Any, parent: int, sig: int = signal.SIGTERM) -> None:
    """In a child of ``parent``: have ``sig`` sent to it when ``parent`` ends; exit now if it
    already has (it ended before the request took effect)."""
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _line(level: str, text: str) -> str:
    tag = {"NOTICE": "[NOTICE]   ", "WARNING": "[WARNING]  ", "ALERT": "[ALERT]    "}[level]
    return f"{tag}({os.getpid()}) : {text}\n"


def exit_text(status: int) -> str:
    """``exited with code 0 (Exit)`` / ``exited with code 143 (Terminated)``, as 2.6 words it."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exited with code {code} (Exit)"
    sig = -code
    return f"exited with code {128 + sig} ({signal.strsignal(sig) or signal.Signals(sig).name})"


class Programs:
    """The master's programs: the current instances and the former ones it is stopping."""

    def __init__(self, programs: Iterable[Program], quiet: bool = False) -> None:
        self.programs = list(programs)
        self.quiet = quiet
        #: pid -> (program, started at (wall clock))
        self.current: dict[int, tuple[Program, float]] = {}
        #: pid -> name: instances of the previous image, told to stop
        self.former: dict[int, str] = {}
        self._prctl = _prctl() if self.programs else None

    def say(self, level: str, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(_line(level, text))
            sys.stderr.flush()

    # -- starting
    def start(self, reloaded: bool) -> None:
        for prog in self.programs:
            if reloaded and not prog.start_on_reload:
                continue
            pid = self._spawn(prog)
            if pid:
                self.current[pid] = (prog, time.time())
                self.say("NOTICE", f"New program '{prog.name}' ({pid}) forked")

    def _spawn(self, prog: Program) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        master = os.getpid()
        pid = os.fork()
        if pid:
            return pid
        try:  # the child: the master's signal mask and handlers are not the program's
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                        signal.SIGTTOU, signal.SIGTTIN, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            if prog.group:
                import grp

                os.setgid(grp.getgrnam(prog.group).gr_gid)
            if prog.user:
                import pwd

                pw = pwd.getpwnam(prog.user)
                if not prog.group:
                    os.setgid(pw.pw_gid)
                if os.getuid() == 0:
                    os.initgroups(pw.pw_name, pw.pw_gid)
                os.setuid(pw.pw_uid)
            die_with_parent(self._prctl, master)  # after the credential changes, which clear it
            os.execvp(prog.command[0], list(prog.command))
        except BaseException as e:  # noqa: BLE001 - the child reports and exits, never returns
            try:
                sys.stderr.write(_line("ALERT", f"Cannot execute program '{prog.name}' "
                                                f"({prog.command[0]}): {e}"))
                sys.stderr.flush()
            finally:
                os._exit(1)
        return 0  # pragma: no cover - execvp does not return

    # -- reloads
    def handover(self) -> str:
        """The value of PROGRAMS_ENV for the next master image."""
        return ",".join(f"{pid}:{prog.name}" for pid, (prog, _) in self.current.items())

    def adopt_former(self, value: str | None) -> None:
        """The programs of the previous image: stop them (SIGUSR1, as 2.6) and watch them exit."""
        for item in (value or "").split(","):
            pid_s, _, name = item.partition(":")
            if not pid_s.isdigit():
                continue
            pid = int(pid_s)
            self.former[pid] = name
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                self.former.pop(pid, None)

    # -- exits
    def reaped(self, pid: int, status: int, stopping: bool) -> bool:
        """Account for a child that exited; False when it is none of ours."""
        if pid in self.current:
            prog, _ = self.current.pop(pid)
            self.say("ALERT", f"Current program '{prog.name}' ({pid}) {exit_text(status)}")
            return True
        if pid in self.former:
            name = self.former.pop(pid)
            self.say("WARNING", f"Former program '{name}' ({pid}) {exit_text(status)}")
            return True
        return False

    def stop(self) -> None:
        for pid in list(self.current):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait_all(self, timeout: float = 3.0) -> None:
        """At the master's exit: collect the programs' ends (bounded), then SIGKILL what is left."""
        deadline = time.monotonic() + timeout
        while (self.current or self.former) and time.monotonic() < deadline:
            for pid in list(self.current) + list(self.former):
                try:
                    got, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    self.current.pop(pid, None)
                    self.former.pop(pid, None)
                    continue
                if got:
                    self.reaped(got, status, True)
            time.sleep(0.02)
        for pid in list(self.current) + list(self.former):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass

    def show_proc_lines(self, now: float, uptime: Callable[[float], str]) -> list[str]:
        """The ``# programs`` part of the master CLI's ``show proc``."""
        out = ["# programs"]
        for pid, (prog, started) in self.current.items():
            up = uptime(now - started)
            out.append(f"{pid:<16}{prog.name:<16}{0:<16}{up:<16}{'-':<15}")
        return out
