"""Ctrl-C while the synchronous KIS client waits for an answer: the request is abandoned at once
(the client closes without waiting for it, and no "Task was destroyed but it is pending!" at exit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, signal, threading, tempfile
    from pathlib import Path
    from pydantic import SecretStr
    from paper.exchange import PaperExchange
    from paper.settings import ExchangeSettings
    from paper.app import create_app
    from support.paperkit import LoopbackServer
    from tools.kis import Credentials, KisConfig, SyncKisClient

    home = Path(tempfile.mkdtemp())
    exchange = PaperExchange(ExchangeSettings(db=str(home / "x.db"), date="2026-11-20", time="10:00", speed=0,
                                              rate_limit=0))
    account = exchange.create_account(1_000_000, {"069500": 10})
    with LoopbackServer(create_app(exchange)) as server:
        creds = Credentials(app_key=SecretStr(account.app_key), app_secret=SecretStr(account.app_secret),
                            account=account.number, source="test")
        client = SyncKisClient(KisConfig(account=account.number, base_url=server.url, requests_per_second=0,
                                         token_cache_dir=home / "tokens"), creds)
        client.balance()  # a token, and a first answer
        exchange.settings.faults.slow_seconds = 6  # the next answer takes long: the person presses Ctrl-C
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()  # as Ctrl-C does
        import time
        asked = time.monotonic()
        try:
            client.balance()
        except KeyboardInterrupt:
            print("interrupted")
        client.close()
        print("closed", "fast" if time.monotonic() - asked < 3 else "slow")
        exchange.settings.faults.slow_seconds = 0
""")


def test_ctrl_c_during_a_request_leaves_no_pending_task():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                          cwd=".", env={**__import__("os").environ, "PYTHONPATH": "tests:."})
    assert done.stdout.split() == ["interrupted", "closed", "fast"], (done.stdout, done.stderr[-2000:])
    assert "Task was destroyed" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
