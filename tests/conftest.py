"""Shared test fixtures: the location of ../shared price data, the guard that keeps every test on
loopback, the paper exchange, and the fake Gemini API."""

from __future__ import annotations

import ipaddress
import json
import socket
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pytest_socket import SocketConnectBlockedError
from support.fake_gemini import FakeGemini
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


# --- no request leaves loopback ----------------------------------------------------------------
# pytest-socket (addopts in pyproject.toml: --allow-hosts=127.0.0.1,localhost,::1 --allow-unix-socket)
# refuses socket connects to any other address, in this process; subprocesses started by tests
# talk to 127.0.0.1 only. It does not look at name lookups, which would send a DNS query off the
# machine before the connect is refused: _loopback_lookups_only refuses those, with an error of
# the same family, so a client aimed at a real host fails the same way with or without DNS.

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class LookupBlockedError(SocketConnectBlockedError):
    """A test tried to resolve a name that is not loopback."""

    def __init__(self, allowed: list[str], host: str | None, *args: object, **kwargs: object) -> None:
        self._allowed, self._host = allowed, host
        RuntimeError.__init__(self, f'A test tried to resolve host "{host}" (allowed: "{",".join(allowed)}"): '
                                    "tests reach loopback only.")


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    return True


def _lookup_guard(real):  # type: ignore[no-untyped-def]
    def lookup(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name == "" or name.lower() in LOOPBACK_HOSTS or _is_ip_literal(name):
            return real(host, *args, **kwargs)  # a literal is not looked up; pytest-socket judges its connect
        raise LookupBlockedError(list(LOOPBACK_HOSTS), name)

    return lookup


@pytest.fixture(autouse=True)
def _loopback_lookups_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        monkeypatch.setattr(socket, name, _lookup_guard(getattr(socket, name)))


# Where a secret must be kept, and so may be: the exchange's own database (it holds its accounts'
# keys and tokens, as KIS does) with its -wal/-shm, the credentials file ``paper serve --credentials``
# writes, and the token cache. Each such file must be private (0600).
_KEEPER_JSON = ({"app_key", "app_secret", "account"}, {"token", "expires_at"})  # credentials file, token cache


def _keeper(path: Path) -> bool:
    if path.name.split(".db")[0] in ("exchange", "paper", "embedded-exchange") and ".db" in path.name:
        return True
    if path.suffix == ".json" and path.stat().st_size < 4_096:
        try:
            return set(json.loads(path.read_text())) in _KEEPER_JSON
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
            return False
    return False


@pytest.fixture(scope="session", autouse=True)
def _no_secret_written_by_the_suite(tmp_path_factory: pytest.TempPathFactory):
    """After the whole session: every file written under the suite's temp folders is scanned for
    every secret any client registered during the session. Only the keepers above may hold one, and
    they must be 0600. (Tests that give Rebal credentials in a file write them with a name starting
    ``input-``: what a person typed is not what Rebal wrote.)"""
    yield
    from tools.kis.redact import REDACTOR

    secrets = sorted(REDACTOR._secrets | {a for a in REDACTOR._accounts if len(a.replace("-", "")) >= 8})
    base = tmp_path_factory.getbasetemp()
    leaks, loose, scanned = [], [], 0
    for path in base.rglob("*"):
        if not path.is_file() or path.is_symlink() or path.name.startswith("input-"):
            continue
        scanned += 1
        content = path.read_bytes()
        found = [s for s in secrets if s.encode() in content]
        if not found:
            continue
        if _keeper(path):
            if stat.S_IMODE(path.stat().st_mode) != 0o600:
                loose.append(f"{path.relative_to(base)} {stat.S_IMODE(path.stat().st_mode):o}")
        else:
            leaks += [f"{path.relative_to(base)}: {s[:4]}…" for s in found]
    assert scanned > 0 or not secrets, "the secret scan saw no file"
    misshapen = [str(p.relative_to(base)) for p in base.rglob("*.jsonl")
                 if p.is_file() and b'"kind":"event_shape_error"' in p.read_bytes()]
    assert not misshapen, f"transcript events that do not fit their model (agent.events): {misshapen[:10]}"
    assert not leaks, f"secrets written by the suite: {leaks[:10]}"
    assert not loose, f"files holding secrets that are not private: {loose[:10]}"


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


# --- the Gemini API, faked on loopback --------------------------------------------------------

@pytest.fixture(scope="session")
def _gemini_server() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


@pytest.fixture
def fake_gemini(_gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    """The fake Gemini API (``support.fake_gemini``), emptied for this test: ``.base_url``,
    ``.respond(*items)``, ``.requests``. The test fails if a request found no scripted answer or
    a scripted answer was never requested."""
    _gemini_server.reset()
    yield _gemini_server
    problems = _gemini_server.problems()
    _gemini_server.reset()
    assert not problems, f"fake Gemini: {problems}"
