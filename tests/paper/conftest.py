"""Fixtures for the paper exchange's conformance tests: in-process and over HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from support.kiswire import KisWire
from support.paperkit import Harness, LoopbackServer, settings

from paper.app import create_app, transport
from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.market import MarketData
from tools.market import krx_calendar


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


