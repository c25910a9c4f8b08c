"""Start-up benchmarks: the wall time of everyday ``rebal`` commands, each a fresh process.

    .venv/bin/python bench/bench_startup.py [--runs 5] [--cold-runs 3]

Commands: ``rebal --help``, ``rebal status``, ``rebal runs list``, ``rebal transcripts list``,
``rebal run`` up to its approval prompt (driven under a pseudo-terminal, killed at the prompt), and
``rebal run`` refusing a rebalance that already ran today. All use a throwaway home with the default
broker setting and no credentials, so the embedded paper exchange answers (KIS_* variables are
dropped, HOME is a temp folder, the keyring is the failing backend): nothing leaves the machine.
First, untimed, ``rebal run --auto-approve`` finishes one run in a shared home (it also builds the
KRX calendar's disk cache, warm from then on); ``status``, ``runs list``, ``transcripts list`` and
the refused ``run`` use that home, while each ``run`` to the prompt gets a fresh one.

Each command runs N times; the table gives the median and the fastest wall time, and the median as
a multiple of ``python -c pass`` measured alongside (the interpreter's own start-up on this machine):

- cached:   bytecode written and read (a warm ``PYTHONPYCACHEPREFIX`` of the benchmark's own);
- no cache: ``PYTHONDONTWRITEBYTECODE=1`` and an empty ``PYTHONPYCACHEPREFIX`` per run, so every
            module is compiled from source, every time: the worst case.

Targets (idle machine, bytecode cached): --help < 0.3 s, status < 1 s, runs list and transcripts
list < 0.5 s, run to the prompt < 2 s. Figures only: a loaded machine shows larger ones.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "approve / reject"  # agent.review.terminal.TerminalApprover's question
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
TIMEOUT = 180.0


def _rebal() -> list[str]:
    """The console script beside this interpreter (what a person types), else ``python -m agent.commands.cli``."""
    script = Path(sys.executable).parent / "rebal"
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent.commands.cli"]


class Sandbox:
    """A throwaway HOME, config, calendar cache and bytecode cache; removed on exit."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rebal-bench-startup-"))
        self.work = self.root / "work"  # the working directory: rebal.toml and transcripts/ live here
        self.work.mkdir()
        (self.work / "rebal.toml").write_text(
            f'[targets]\nfile = "{ROOT / "examples" / "targets" / "demo.toml"}"\n', encoding="utf-8")
        self.pycache = self.root / "pycache"
        self.homes = 0

    def env(self, *, cached: bool, rebal_home: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("KIS_", "PYTHON", "REBAL_")) and k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
        env.update(HOME=str(self.root / "user"), REBAL_HOME=str(rebal_home or self.root / "rebal-home"),
                   REBAL_CACHE_DIR=str(self.root / "cache"), PYTHONPATH=str(ROOT),
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", COLUMNS="120", TERM="xterm")
        if cached:
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(dir=self.root, prefix="empty-pycache-")
        return env

    def fresh_home(self) -> Path:
        self.homes += 1
        return self.root / f"run-home-{self.homes}"

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout.decode()}{done.stderr.decode()}")
    return elapsed


def _timed_to_prompt(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    """From process start to the approval prompt on its terminal; the process is killed there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        while PROMPT.encode() not in ANSI.sub(b"", seen):
            left = started + TIMEOUT - time.perf_counter()
            if left <= 0 or not select.select([master], [], [], left)[0]:
                raise TimeoutError(f"no approval prompt after {TIMEOUT:.0f} s:\n{seen[-2000:].decode(errors='replace')}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side closed (the process ended)
                chunk = b""
            if not chunk:
                raise RuntimeError(f"rebal run ended before its prompt:\n{seen[-2000:].decode(errors='replace')}")
            seen += chunk
        return time.perf_counter() - started
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


def _prepare(box: Sandbox) -> None:
    """One finished run in the shared home (for runs list and transcripts list); warms the calendar cache."""
    _timed([*_rebal(), "run", "--auto-approve"], box.env(cached=True), box.work)


Measure = Callable[[bool], float]


def _commands(box: Sandbox) -> list[tuple[str, Measure]]:
    rebal = _rebal()

    def plain(*args: str) -> Measure:
        return lambda cached: _timed([*rebal, *args], box.env(cached=cached), box.work)

    def run_to_prompt(cached: bool) -> float:
        return _timed_to_prompt([*rebal, "run"], box.env(cached=cached, rebal_home=box.fresh_home()), box.work)

    return [
        ("python -c pass", lambda cached: _timed([sys.executable, "-c", "pass"], box.env(cached=cached), box.work)),
        ("rebal --help", plain("--help")),
        ("rebal status", plain("status")),
        ("rebal runs list", plain("runs", "list")),
        ("rebal transcripts list", plain("transcripts", "list")),
        ("rebal run (to the prompt)", run_to_prompt),
        ("rebal run (already ran)", plain("run")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command with bytecode cached")
    parser.add_argument("--cold-runs", type=int, default=3, help="timed runs per command without a bytecode cache")
    args = parser.parse_args()
    box = Sandbox()
    try:
        _prepare(box)
        commands = _commands(box)
        results: dict[tuple[str, bool], list[float]] = {}
        for cached, runs in ((True, args.runs), (False, args.cold_runs)):
            for name, measure in commands:
                if cached:
                    measure(True)  # untimed: writes this command's bytecode into the cache
                results[name, cached] = [measure(cached) for _ in range(runs)]
    finally:
        box.close()

    print(f"Start-up wall time, fresh process each; {args.runs} runs cached, {args.cold_runs} without a cache "
          f"(median / fastest, seconds; × = median over `python -c pass`):")
    header = f"{'command':<28}{'cached':>22}{'×':>7}   {'no cache':>22}{'×':>7}"
    print(header)
    print("-" * len(header))
    base = {cached: statistics.median(results["python -c pass", cached]) for cached in (True, False)}
    for name, _ in commands:
        cells = []
        for cached in (True, False):
            times = results[name, cached]
            median = statistics.median(times)
            cells.append(f"{median:>12.3f} / {min(times):<7.3f}{median / base[cached]:>7.1f}")
        print(f"{name:<28}{cells[0]}   {cells[1]}")


if __name__ == "__main__":
    main()
