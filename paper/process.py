"""``rebal paper serve`` in a child process: for benchmarks, crash tests and scripts that need the
exchange outside their own process (as KIS is)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_exchange(db: Path, *args: str, port: int | None = None, cwd: Path | None = None,
                    timeout: float = 60.0) -> Iterator[str]:
    """Start the server on 127.0.0.1 with ``db`` and extra CLI ``args``; yield its base URL."""
    port = port or free_port()
    command: Sequence[str] = [sys.executable, "-m", "agent.commands.cli", "paper", "serve", "--port", str(port),
                              "--db", str(db), *args]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(url + "/paper/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rebal paper serve did not start: {process.stderr.read() if process.stderr else ''}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
