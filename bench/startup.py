#!/usr/bin/env python3
"""Warm start time: ``python haproxy.pyz ARGS`` vs ``python -m haproxy_py ARGS`` in a plain venv.

Usage: python bench/startup.py [--pyz haproxy.pyz] [--venv-python PATH] [-n 15] -- ARGS...
(default ARGS: -c -f samples/haproxy.cfg). The venv python must have the project installed
(``pip install -e .``); by default the interpreter running this script is used. Both runs get
PYTHONDONTWRITEBYTECODE=1 like this workplace's machines. Prints medians in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str], n: int) -> tuple[float, int]:
    times = []
    rc = 0
    for _ in range(n):
        t0 = time.perf_counter()
        # cwd outside the checkout, so ``-m haproxy_py`` imports the installed copy, not ./haproxy_py
        rc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=tempfile.gettempdir()).returncode
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, rc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pyz", default=str(ROOT / "haproxy.pyz"))
    ap.add_argument("--venv-python", default=sys.executable)
    ap.add_argument("-n", type=int, default=15)
    ap.add_argument("args", nargs="*", default=["-c", "-f", "samples/haproxy.cfg"])
    a = ap.parse_args(argv)
    a.args = [str(ROOT / x) if (ROOT / x).is_file() else x for x in a.args]
    a.pyz = str(Path(a.pyz).resolve())
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    with tempfile.TemporaryDirectory() as cache:
        env_pyz = dict(env, HAPROXY_PY_CACHE=cache)
        subprocess.run([a.venv_python, a.pyz, *a.args], env=env_pyz, capture_output=True)  # first start: unpack
        pyz_ms, pyz_rc = timed([a.venv_python, a.pyz, *a.args], env_pyz, a.n)
    src_ms, src_rc = timed([a.venv_python, "-m", "haproxy_py", *a.args], env, a.n)
    floor_ms, _ = timed([a.venv_python, "-c", "pass"], env, a.n)
    print(f"args: {' '.join(a.args)}")
    print(f"python -c pass          {floor_ms:7.1f} ms")
    print(f"python -m haproxy_py    {src_ms:7.1f} ms (rc {src_rc})")
    print(f"python haproxy.pyz      {pyz_ms:7.1f} ms (rc {pyz_rc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
