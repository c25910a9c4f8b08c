"""Shared test fixtures: the location of ../shared price data, and a guard against internet access."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from support.kiswire import KisWire
from support.paperkit import Harness, LoopbackServer, settings
from support.shared_data import require_shared_prices

from paper.app import create_app, transport
from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.market import MarketData
from tools.market import krx_calendar


@pytest.fixture
def shared_prices() -> Path:
    return require_shared_prices()


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address) -> None:  # type: ignore[no-untyped-def]
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
        raise OSError(f"tests must not reach the network: connect to {host!r} blocked")
    return _real_connect(self, address)


# What runs write and must never hold a secret. The broker's own database (the embedded exchange
# holds its accounts' keys, as KIS does) and the token cache (it exists to hold the token) are not.
_SCANNED = ("*.jsonl", "runs.db*", "journal.db*", "*.log")


@pytest.fixture(scope="session", autouse=True)
def _no_secret_written_by_the_suite(tmp_path_factory: pytest.TempPathFactory):
    """After the whole session: every transcript, checkpoint store and journal written under the
    suite's temp folders is scanned for every secret any client registered during the session."""
    yield
    from tools.kis.redact import REDACTOR

    secrets = sorted(REDACTOR._secrets | {a for a in REDACTOR._accounts if len(a.replace("-", "")) >= 8})
    base = tmp_path_factory.getbasetemp()
    leaks = []
    for pattern in _SCANNED:
        for path in base.rglob(pattern):
            if "kis-tokens" in path.parts or not path.is_file():
                continue
            content = path.read_bytes()
            leaks += [f"{path.relative_to(base)}: {s[:4]}…" for s in secrets if s.encode() in content]
    assert not leaks, f"secrets written by the suite: {leaks[:10]}"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# --- the paper exchange, in-process and over HTTP on loopback ------------------------------------

@pytest.fixture(scope="session")
def market() -> MarketData:
    return MarketData(krx_calendar(), seed=0)


@pytest.fixture(params=["inprocess", "http"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_harness(market: MarketData, mode: str):
    """``async with make_harness(**settings) as h``: an exchange reached the way ``mode`` says."""
    @asynccontextmanager
    async def factory(exchange: PaperExchange | None = None, tokens=None, **overrides) -> AsyncIterator[Harness]:
        ex = exchange or PaperExchange(settings(**overrides), market=market)
        app = create_app(ex, tokens)
        if mode == "inprocess":
            async with httpx.AsyncClient(transport=transport(app), base_url="http://paper.test") as http:
                yield Harness(ex, app, http, mode)
        else:
            with LoopbackServer(app) as server:
                async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                    yield Harness(ex, app, http, mode)

    return factory


@pytest.fixture
async def h(make_harness) -> AsyncIterator[Harness]:
    async with make_harness() as harness:
        yield harness


@pytest.fixture
def account(h: Harness) -> Account:
    return h.exchange.create_account(10_000_000, {"069500": 100, "005930": 50})


@pytest.fixture
async def wire(h: Harness, account: Account) -> KisWire:
    return await h.open_wire(account)


