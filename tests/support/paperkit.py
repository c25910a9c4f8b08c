"""Helpers for the paper exchange's conformance tests (imported by tests/paper/conftest.py and tests)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.settings import ExchangeSettings
from support.kiswire import KisWire
from tools.market import KST

SESSION = dt.date(2026, 11, 20)  # a Friday session
NEXT_SESSION = dt.date(2026, 11, 23)


def settings(**overrides) -> ExchangeSettings:
    values = {"date": SESSION, "time": dt.time(10, 0), "speed": 0.0, "rate_limit": 0, "token_issue_interval": 0}
    values.update(overrides)
    return ExchangeSettings(**values)


def moment(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), KST)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackServer:
    """uvicorn on 127.0.0.1 in a background thread, stopped at teardown."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", access_log=False,
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Harness:
    exchange: PaperExchange
    app: Starlette
    http: httpx.AsyncClient
    mode: str

    def wire(self, account: Account) -> KisWire:
        return KisWire(self.http, account.app_key, account.app_secret, account.number,
                       profile=self.exchange.settings.profile)

    async def open_wire(self, account: Account) -> KisWire:
        wire = self.wire(account)
        response = await wire.issue_token()
        assert response.status_code == 200, response.text
        return wire

    def at(self, day: dt.date, hh: int, mm: int = 0) -> None:
        self.exchange.clock.set(moment(day, hh, mm))

    def advance(self, minutes: float) -> None:
        self.exchange.clock.advance(dt.timedelta(minutes=minutes))


def out(response: httpx.Response) -> dict:
    body = response.json()
    assert body["rt_cd"] == "0", f"{response.status_code} {body}"
    return body


def rejected(response: httpx.Response, code: str, status: int = 200) -> dict:
    body = response.json()
    assert (response.status_code, body.get("rt_cd"), body.get("msg_cd")) == (status, body.get("rt_cd"), code), body
    assert body["rt_cd"] != "0"
    return body


def iter_leaves(value) -> Iterator:
    if isinstance(value, dict):
        for v in value.values():
            yield from iter_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_leaves(v)
    else:
        yield value


def served_run_setup(config: Path, url: str, keys: dict[str, str], home: Path, transcripts: Path,
                     **env: str) -> dict[str, str]:
    """Write a config for headless runs against a served exchange at ``url`` (fast fill windows, no
    LLM) and return the environment that gives the CLI the account's ``keys`` (plus ``env``)."""
    import os

    config.write_text(f"""
[broker]
mode = "kis"
profile = "paper"
base_url = "{url}"
requests_per_second = 0
[planner]
use_llm = false
[execution]
poll_seconds = 0.2
fill_window_minutes = 0.5
[paths]
home = "{home}"
transcripts = "{transcripts}"
""")
    return {**os.environ, "KIS_APP_KEY": keys["app_key"], "KIS_APP_SECRET": keys["app_secret"],
            "KIS_ACCOUNT": keys["account"], "GOOGLE_API_KEY": "", "GEMINI_API_KEY": "", **env}
