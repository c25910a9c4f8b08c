"""Community KIS clients against ``rebal paper serve``, pointed at it by changing only their base URL.

Each client is taken as a new user would take it: the library as published on PyPI, its own
methods, its own wire format. The only change made to a client is its base URL (a patch of the URL
constant or method the library hard-codes). Where a test adapts a client beyond that, the
adaptation is named where it is made.

Two servers run for the whole module, as two ``rebal paper serve`` processes on loopback:
``--profile paper`` and ``--profile real``, both with ``--rate-limit 0`` (the clients' own pacing
is not under test here) and a session date with the market open. Every client gets its own
accounts (so neither rate limits nor token-issue throttles nor positions leak between tests),
created on the server's database before the server starts, each with more holdings than one paper
balance page (20 rows) holds.

The clients are dev dependencies (pinned), so these tests run in CI; a client that is not installed
skips its tests with the reason. kis-agent 1.6.1 was also tried (against ``--profile real``: every
call worked) but is not installed here: it pins pandas<3 and websockets<17.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SESSION = dt.date(2026, 11, 20)  # a KRX session (Friday)
SESSION_YMD = SESSION.strftime("%Y%m%d")
OPEN_TIME = dt.time(10, 0)  # continuous trading, whatever the wall clock says
HOLDINGS = 25  # more than one paper balance page (20 rows)
PAPER_PAGE = 20
CASH = 50_000_000
TICKER = "005930"

# One account per test: the server throttles token issuance per app key (1/min, EGW00133) as KIS does.
PAPER_ACCOUNTS = ("pykis", "mojito", "mojito_pages", "kis_trader")
REAL_ACCOUNTS = ("pykis_quotes", "pykis_real", "pykis_scope", "pykis_integrated")


# --- servers ------------------------------------------------------------------------------------

@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


@dataclass
class Exchanges:
    paper: Server
    real: Server
    accounts: dict[str, dict[str, Any]]  # name -> {"app_key", "app_secret", "account", "tickers"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_accounts(db: Path, profile: str, names: tuple[str, ...], creds_dir: Path) -> dict[str, dict]:
    """Open accounts with HOLDINGS positions on a fresh database, as the server will find them."""
    from paper.exchange import PaperExchange
    from paper.server import write_credentials
    from paper.settings import ExchangeSettings

    exchange = PaperExchange(ExchangeSettings(db=str(db), profile=profile, date=SESSION, time=OPEN_TIME))
    tickers = [instrument.ticker for instrument in exchange.market.instruments()][:HOLDINGS]
    assert len(tickers) == HOLDINGS and TICKER in tickers
    accounts = {}
    for name in names:
        account = exchange.create_account(CASH, dict.fromkeys(tickers, 10))
        path = creds_dir / f"{name}.json"
        write_credentials(account, path)  # the format `rebal paper serve --credentials` writes
        accounts[name] = {**json.loads(path.read_text()), "tickers": tickers}
    exchange.store.close()
    return accounts


def _start(db: Path, profile: str, logs: Path) -> Server:
    port = _free_port()
    log = logs / f"{profile}.log"
    command = [sys.executable, "-m", "agent.commands.cli", "paper", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--profile", profile, "--db", str(db), "--date", SESSION.isoformat(),
               "--time", OPEN_TIME.strftime("%H:%M"), "--rate-limit", "0"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    return Server(f"http://127.0.0.1:{port}", process, log)


def _wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"paper server exited ({server.process.returncode}):\n{server.log.read_text()}")
        try:
            with urllib.request.urlopen(server.url + "/paper/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"paper server not answering at {server.url} after {timeout:.0f}s:\n{server.log.read_text()}")


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def exchanges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchanges]:
    root = tmp_path_factory.mktemp("thirdparty")
    creds = root / "credentials"
    accounts = {**_make_accounts(root / "paper.db", "paper", PAPER_ACCOUNTS, creds),
                **_make_accounts(root / "real.db", "real", REAL_ACCOUNTS, creds)}
    paper = _start(root / "paper.db", "paper", root)
    real = _start(root / "real.db", "real", root)
    try:
        _wait_healthy(paper)
        _wait_healthy(real)
        yield Exchanges(paper, real, accounts)
    finally:
        _stop(paper)
        _stop(real)


@pytest.fixture
def client_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Token caches and config files of the clients land here, never in the real home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.chdir(home)  # mojito2 writes token.dat into the working directory
    return home


def _require(module: str, package: str) -> None:
    """Skip (with the reason) when a client package is not installed."""
    try:
        __import__(module)
    except ImportError as error:
        pytest.skip(f"{package} is not installed ({error}); it is a dev dependency of these checks")


# The servers start only for a client that is installed: each fixture checks first.

@pytest.fixture
def pykis_servers(request: pytest.FixtureRequest, client_home: Path) -> Exchanges:
    _require("pykis", "python-kis")
    return request.getfixturevalue("exchanges")


@pytest.fixture
def mojito_servers(request: pytest.FixtureRequest, client_home: Path) -> Exchanges:
    _require("mojito", "mojito2")
    return request.getfixturevalue("exchanges")


@pytest.fixture
def kis_trader_servers(request: pytest.FixtureRequest, client_home: Path) -> Exchanges:
    _require("kis_trader", "kis-trader")
    return request.getfixturevalue("exchanges")


def _assert_jwt(token: str) -> None:
    """A KIS-style access token: a JWT whose payload names its issuer."""
    assert isinstance(token, str) and token.count(".") == 2, token
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"] and claims["exp"] > claims["iat"]


def _order_no(value: str) -> int:
    assert value.isdigit() and len(value) == 10, value  # KIS: 10-digit, zero-padded
    return int(value)


# --- python-kis (PyPI python-kis, import pykis) -------------------------------------------------

def _pykis(exchanges: Exchanges, monkeypatch: pytest.MonkeyPatch, *, virtual: bool, real_account: str):
    import pykis.kis
    from pykis import PyKis

    # The base URL change: pykis imports its hard-coded domains into pykis.kis.
    monkeypatch.setattr(pykis.kis, "REAL_DOMAIN", exchanges.real.url)
    monkeypatch.setattr(pykis.kis, "VIRTUAL_DOMAIN", exchanges.paper.url)
    real = exchanges.accounts[real_account]
    if not virtual:
        return PyKis(id="tester", account=real["account"], appkey=real["app_key"], secretkey=real["app_secret"],
                     keep_token=False, use_websocket=False)
    paper = exchanges.accounts["pykis"]
    # pykis in paper mode needs a real key too: it reads quotes from the real domain.
    return PyKis(id="tester", account=paper["account"], appkey=real["app_key"], secretkey=real["app_secret"],
                 virtual_id="tester", virtual_appkey=paper["app_key"], virtual_secretkey=paper["app_secret"],
                 keep_token=False, use_websocket=False)


def _pykis_balance_inqr_dvsn_01(kis) -> list[str]:
    """pykis 2.1.6 sends inquire-balance INQR_DVSN=02, which KIS rejects since 2026-02-10 (OPSQ2001,
    Soju06/python-kis#81). Adaptation beyond the base URL: rewrite it to 01 as the upstream fix
    (PR #82) does. Returns the inquire-balance calls made, to show the paging."""
    calls: list[str] = []
    fetch = kis.fetch

    def fetch_01(path: str, **kwargs):
        if path.endswith("/inquire-balance"):
            calls.append("N" if kwargs.get("continuous") else "")  # pykis sends tr_cont N when continuous
            if kwargs.get("params", {}).get("INQR_DVSN") == "02":
                kwargs["params"] = {**kwargs["params"], "INQR_DVSN": "01"}
        return fetch(path, **kwargs)

    kis.fetch = fetch_01
    return calls


def test_python_kis_paper_account(pykis_servers: Exchanges, client_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kis = _pykis(pykis_servers, monkeypatch, virtual=True, real_account="pykis_quotes")
    from pykis.api.stock.order_book import domestic_orderbook
    from pykis.api.stock.quote import domestic_quote

    _assert_jwt(kis.primary_token.token)  # issued by the paper server
    assert kis.primary_token.type == "Bearer"
    _assert_jwt(kis.token.token)  # issued by the real-profile server (pykis quotes go there)

    quote = domestic_quote(kis, TICKER)
    assert quote.low_limit < quote.price < quote.high_limit and quote.price > 0
    book = domestic_orderbook(kis, TICKER)  # on the paper domain
    assert book.asks[0].price > book.bids[0].price > 0 and book.asks[0].volume > 0

    account = kis.account()
    pages = _pykis_balance_inqr_dvsn_01(kis)
    balance = account.balance("KR")
    assert pages == ["", "N"]  # 20 + 5 rows: paper paging exercised
    assert sorted(stock.symbol for stock in balance.stocks) == pykis_servers.accounts["pykis"]["tickers"]
    assert all(stock.qty == 10 for stock in balance.stocks)
    assert balance.deposits["KRW"].amount == CASH

    limit = account.buy("KRX", TICKER, price=int(quote.low_limit), qty=1)
    assert _order_no(limit.number) and limit.branch == "00950"
    with pytest.raises(NotImplementedError):  # pykis: 정정 is not offered for paper accounts
        limit.modify(price=int(quote.low_limit) + 100)
    cancel = limit.cancel()
    assert _order_no(cancel.number) > _order_no(limit.number)
    market = account.buy("KRX", TICKER, qty=1)
    assert _order_no(market.number) > _order_no(cancel.number)

    orders = {o.number: o for o in account.daily_orders(SESSION, SESSION, "KR").orders}
    assert set(orders) == {limit.number, cancel.number, market.number}
    assert orders[limit.number].executed_quantity == 0 and orders[limit.number].pending_quantity == 0
    assert orders[market.number].executed_quantity == 1 and orders[market.number].price > 0
    assert orders[market.number].time_kst.date() == SESSION

    after = account.balance("KR")
    held = {stock.symbol: stock.qty for stock in after.stocks}
    assert len(held) == HOLDINGS and held[TICKER] == 11


def test_python_kis_real_account(pykis_servers: Exchanges, client_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kis = _pykis(pykis_servers, monkeypatch, virtual=False, real_account="pykis_real")
    from pykis.client.exceptions import KisAPIError

    _assert_jwt(kis.token.token)
    account = kis.account()
    with pytest.raises(KisAPIError) as rejected:  # unadapted pykis 2.1.6: INQR_DVSN=02, as KIS answers it
        account.balance("KR")
    assert rejected.value.msg_cd == "OPSQ2001" and "INQR_DVSN" in rejected.value.msg1

    _pykis_balance_inqr_dvsn_01(kis)
    assert len(account.balance("KR").stocks) == HOLDINGS  # one real page (50 rows)

    limit = account.buy("KRX", TICKER, price=40_000, qty=2)
    pending = account.pending_orders("KR").orders  # inquire-psbl-rvsecncl, real only
    assert [(o.number, o.qty, o.pending_qty) for o in pending] == [(limit.number, 2, 2)]
    cancel = limit.cancel()
    assert account.pending_orders("KR").orders == []
    market = account.buy("KRX", TICKER, qty=1)
    orders = {o.number: o for o in account.daily_orders(SESSION, SESSION, "KR").orders}
    assert set(orders) == {limit.number, cancel.number, market.number}
    assert orders[market.number].executed_quantity == 1


def test_python_kis_stock_scope_and_modify(pykis_servers: Exchanges, client_home: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """pykis' main entry point, kis.stock(), and the matching of order numbers that modify() does,
    both read the product master (상품기본조회, search-info CTPF1604R) from the real domain."""
    kis = _pykis(pykis_servers, monkeypatch, virtual=False, real_account="pykis_scope")
    order = kis.account().buy("KRX", TICKER, price=40_000, qty=1)
    stock = kis.stock(TICKER)
    revised = order.modify(price=40_100)
    assert stock.symbol == TICKER and stock.quote().price > 0
    assert _order_no(revised.number) > _order_no(order.number)
    pending = kis.account().pending_orders("KR").orders
    assert [(o.number, o.price) for o in pending] == [(revised.number, 40_100)]


def test_python_kis_integrated_queries(pykis_servers: Exchanges, client_home: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a country, pykis' balance/daily_orders/pending_orders also ask the overseas account
    queries; KIS answers those for a domestic-only account with empty lists."""
    kis = _pykis(pykis_servers, monkeypatch, virtual=False, real_account="pykis_integrated")
    _pykis_balance_inqr_dvsn_01(kis)
    account = kis.account()
    market = account.buy("KRX", TICKER, qty=1)
    balance = account.balance()
    daily = account.daily_orders(SESSION, SESSION)
    assert sorted(stock.symbol for stock in balance.stocks) == pykis_servers.accounts["pykis_integrated"]["tickers"]
    assert [(o.number, o.executed_quantity) for o in daily.orders] == [(market.number, 1)]


# --- mojito2 (PyPI mojito2, import mojito) -------------------------------------------------------

def _mojito(exchanges: Exchanges, monkeypatch: pytest.MonkeyPatch, name: str = "mojito"):
    import mojito

    url = exchanges.paper.url

    def set_base_url(self, mock: bool = True) -> None:  # the base URL change
        self.base_url = url

    monkeypatch.setattr(mojito.KoreaInvestment, "set_base_url", set_base_url)
    creds = exchanges.accounts[name]
    return mojito.KoreaInvestment(creds["app_key"], creds["app_secret"], creds["account"], mock=True)


def test_mojito2_paper_orders(mojito_servers: Exchanges, client_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = _mojito(mojito_servers, monkeypatch)
    assert broker.access_token.startswith("Bearer ")
    _assert_jwt(broker.access_token.removeprefix("Bearer "))
    assert (client_home / "token.dat").exists()

    price = broker.fetch_price(TICKER)
    assert price["rt_cd"] == "0"
    last, lower = int(price["output"]["stck_prpr"]), int(price["output"]["stck_llam"])
    assert 0 < lower < last
    buyable = broker.check_buy_order(TICKER, lower, "00")  # mojito builds //uapi/... here
    assert buyable["rt_cd"] == "0" and int(buyable["output"]["nrcvb_buy_qty"]) > 0

    placed = broker.create_limit_buy_order(TICKER, lower, 1)  # hashkey first, then order-cash
    assert placed["rt_cd"] == "0" and placed["msg_cd"] == "40600000", placed
    org, first = placed["output"]["KRX_FWDG_ORD_ORGNO"], placed["output"]["ODNO"]
    revised = broker.modify_order(org, first, "00", lower + 100, 1, True)
    assert revised["msg_cd"] == "40620000", revised
    second = revised["output"]["ODNO"]
    assert _order_no(second) > _order_no(first)
    stale = broker.cancel_order(org, first, 1, True)  # the original was replaced by the revision
    assert (stale["rt_cd"], stale["msg_cd"]) == ("1", "40330000"), stale
    cancelled = broker.cancel_order(org, second, 1, True)
    assert cancelled["msg_cd"] == "40630000", cancelled
    again = broker.cancel_order(org, second, 1, True)
    assert (again["rt_cd"], again["msg_cd"]) == ("1", "40330000"), again
    # mojito's open-order query uses the real-only TR even in mock mode; KIS refuses it on paper.
    open_orders = broker.fetch_open_order({"CTX_AREA_FK100": "", "CTX_AREA_NK100": "",
                                           "INQR_DVSN_1": "0", "INQR_DVSN_2": "0"})
    assert open_orders["msg_cd"] == "EGW02006"

    market = broker.create_market_buy_order(TICKER, 1)
    assert market["msg_cd"] == "40600000" and _order_no(market["output"]["ODNO"]) > _order_no(second)
    # mojito has no daily-ccld call: the fill shows in the balance (first page; rows sorted by code).
    rows = {row["pdno"]: row for row in broker.fetch_balance()["output1"]}
    assert int(rows[TICKER]["hldg_qty"]) == 11 and int(rows[TICKER]["thdt_buyqty"]) == 1

    chart = broker.fetch_ohlcv(TICKER, "D", "20261101", SESSION_YMD)  # built as //uapi/... too
    assert chart["rt_cd"] == "0" and chart["output2"][0]["stck_bsop_date"] == SESSION_YMD


def test_mojito2_balance_pages(mojito_servers: Exchanges, client_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mojito continues the balance only while the answer's tr_cont is M (KIS's docs: ask the next
    page 'when the output header tr_cont is M'); it sends the keys back without the tr_cont N header."""
    broker = _mojito(mojito_servers, monkeypatch, "mojito_pages")
    first = broker.fetch_balance_domestic()
    assert len(first["output1"]) == PAPER_PAGE and first["tr_cont"] == "M"
    rows = broker.fetch_balance()["output1"]
    assert sorted(row["pdno"] for row in rows) == mojito_servers.accounts["mojito_pages"]["tickers"]


# --- kis-trader (PyPI kis-trader, import kis_trader) ---------------------------------------------

def test_kis_trader_paper_account(kis_trader_servers: Exchanges, client_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kis_trader import KISClient
    from kis_trader._internal import _endpoints
    from kis_trader.errors import KISError
    from kis_trader.report import OrderStatus

    # The base URL change: kis-trader keeps its hosts in one table.
    monkeypatch.setitem(_endpoints._BASE_URL_BY_ENVIRONMENT, "paper", kis_trader_servers.paper.url)
    creds = kis_trader_servers.accounts["kis_trader"]
    tokens = client_home / "tokens"
    kis = KISClient(app_key=creds["app_key"], app_secret=creds["app_secret"], account=creds["account"],
                    environment="paper", token_cache_dir=tokens, throttle=False)

    stock = kis.domestic.stock(TICKER)
    quote = stock.quote()
    assert quote.current_price > 0
    [cache] = list(tokens.iterdir())
    _assert_jwt(json.loads(cache.read_text())["access_token"])
    book = stock.order_book()
    assert book.asks[0].price > book.bids[0].price > 0

    # Like pykis, kis-trader 0.12.2 asks inquire-balance with INQR_DVSN=02 (rejected, OPSQ2001).
    with pytest.raises(KISError, match="INQR_DVSN"):
        kis.account.domestic.portfolio()
    request = kis.transport.request
    balance_pages: list[str] = []

    def request_01(**kwargs):  # adaptation beyond the base URL: INQR_DVSN 02 -> 01
        if kwargs.get("path", "").endswith("/inquire-balance"):
            balance_pages.append(kwargs.get("tr_cont", ""))
            kwargs["params"] = {**kwargs["params"], "INQR_DVSN": "01"}
        return request(**kwargs)

    monkeypatch.setattr(kis.transport, "request", request_01)
    portfolio = kis.account.domestic.portfolio()
    assert balance_pages == ["", "N"]  # two pages, the second asked with tr_cont N
    assert sorted(p.symbol for p in portfolio.positions) == creds["tickers"]
    assert portfolio.balance.deposit == CASH

    placed = stock.buy(quantity=1, limit_price=38_400)
    assert placed.status is OrderStatus.NEW and _order_no(placed.order_id)
    revised = kis.orders.modify(placed.client_order_id, limit_price=38_500)
    assert revised.status is OrderStatus.PENDING_REPLACE and _order_no(revised.order_id) > _order_no(placed.order_id)
    cancelled = kis.orders.cancel(placed.client_order_id)
    assert cancelled.status is OrderStatus.PENDING_CANCEL
    market = stock.buy(quantity=1)
    assert _order_no(market.order_id) > _order_no(cancelled.order_id)

    history = kis.account.domestic.order_history(start=SESSION_YMD, end=SESSION_YMD)
    rows = {o.order_id: o for o in history.orders}
    assert set(rows) == {placed.order_id, revised.order_id, cancelled.order_id, market.order_id}
    assert rows[revised.order_id].original_order_id == placed.order_id
    assert rows[cancelled.order_id].canceled and rows[cancelled.order_id].original_order_id == revised.order_id
    assert rows[market.order_id].filled_quantity == 1 and rows[market.order_id].average_price > 0
    assert history.total_filled_quantity == 1
