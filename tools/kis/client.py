"""``KisClient``: the one place Rebal talks to KIS — the real host, the paper host, or the paper
exchange in-process (pass its transport). Async, with ``SyncKisClient`` for the CLI.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

import httpx

from tools.kis.config import Credentials, KisConfig
from tools.kis.errors import KisConfigError
from tools.kis.models import (
    AccountSummary,
    Balance,
    BuyingPower,
    Holding,
    OrderAck,
    OrderBook,
    OrderRecord,
    OrderRequest,
    ProductInfo,
    Quote,
    Side,
)
from tools.kis.ratelimit import limiter_for
from tools.kis.redact import REDACTOR, install_log_redaction, mask_account
from tools.kis.session import KisSession
from tools.kis.tokens import TokenCache, TokenManager
from tools.market import KST, OrderType, is_valid_ticker
from tools.prices import DailyBar

QUOTES = "/uapi/domestic-stock/v1/quotations/"
TRADING = "/uapi/domestic-stock/v1/trading/"

# (real, paper) tr_ids; the legacy ones only when configured.
_TR = {
    "balance": ("TTTC8434R", "VTTC8434R"), "buying_power": ("TTTC8908R", "VTTC8908R"),
    "buy": ("TTTC0012U", "VTTC0012U"), "sell": ("TTTC0011U", "VTTC0011U"), "revise": ("TTTC0013U", "VTTC0013U"),
    "orders": ("TTTC0081R", "VTTC0081R"),
}
_LEGACY_TR = {
    "buy": ("TTTC0802U", "VTTC0802U"), "sell": ("TTTC0801U", "VTTC0801U"), "revise": ("TTTC0803U", "VTTC0803U"),
    "orders": ("TTTC8001R", "VTTC8001R"),
}
CHART_PAGE = 100
T = TypeVar("T")


def _ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


class KisClient:
    def __init__(self, config: KisConfig, credentials: Credentials, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if credentials.account != config.account:
            raise KisConfigError(f"credentials are for account {mask_account(credentials.account)}, the config "
                                 f"names {mask_account(config.account)}")
        install_log_redaction()
        credentials.register_secrets()
        self.config = config
        key, secret = credentials.app_key.get_secret_value(), credentials.app_secret.get_secret_value()
        self._http = httpx.AsyncClient(base_url=config.url, transport=transport, timeout=config.timeout,
                                       headers={"content-type": "application/json; charset=utf-8"})
        cache = TokenCache(config.token_cache_dir, config.url, key)
        self.tokens = TokenManager(self._http, cache, key, secret, config.token_throttle_wait)
        limiter = limiter_for(config.url, config.account, config.rate)
        self.session = KisSession(config, self._http, self.tokens, limiter, key, secret)

    def __repr__(self) -> str:
        return f"KisClient(profile={self.config.profile!r}, url={self.config.url!r}, " \
               f"account={mask_account(self.config.account)!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> KisClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _tr(self, name: str) -> str:
        table = _LEGACY_TR if self.config.legacy_tr_ids and name in _LEGACY_TR else _TR
        real, paper = table[name]
        return real if self.config.profile == "real" else paper

    def _account(self) -> dict[str, str]:
        return {"CANO": self.config.cano, "ACNT_PRDT_CD": self.config.product_code}

    @staticmethod
    def _check_ticker(ticker: str) -> None:
        if not is_valid_ticker(ticker):
            raise ValueError(f"{ticker!r} is not a KRX code (6 digits, or Q and 6 digits for an ETN)")

    # --- quotes ---------------------------------------------------------------------------------

    async def quote(self, ticker: str) -> Quote:
        self._check_ticker(ticker)
        payload, _ = await self.session.call(
            "GET", QUOTES + "inquire-price", "FHKST01010100", operation=f"quote {ticker}",
            params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": ticker})
        return Quote.from_wire(ticker, payload["output"])

    async def order_book(self, ticker: str) -> OrderBook:
        self._check_ticker(ticker)
        payload, _ = await self.session.call(
            "GET", QUOTES + "inquire-asking-price-exp-ccn", "FHKST01010200", operation=f"order book {ticker}",
            params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": ticker})
        second = payload.get("output2")
        return OrderBook.from_wire(ticker, payload["output1"], second if isinstance(second, dict) else None)

    async def product_info(self, ticker: str) -> ProductInfo:
        """상품기본조회 (search-info, CTPF1604R): the product master's entry for ``ticker``.

        KIS documents it as not offered on its paper server (모의투자 미지원); the Rebal paper
        exchange serves it on both profiles."""
        self._check_ticker(ticker)
        payload, _ = await self.session.call(
            "GET", QUOTES + "search-info", "CTPF1604R", operation=f"product info {ticker}",
            params={"PDNO": ticker, "PRDT_TYPE_CD": "300"})
        output = payload.get("output")
        return ProductInfo.from_wire(ticker, output if isinstance(output, dict) else {})

    async def daily_bars(self, ticker: str, start: dt.date, end: dt.date) -> list[DailyBar]:
        """Daily bars from ``start`` to ``end``, ascending, paging back 100 bars a call."""
        self._check_ticker(ticker)
        bars: dict[dt.date, DailyBar] = {}
        cursor = end
        for _ in range(self.config.max_pages):
            payload, _ = await self.session.call(
                "GET", QUOTES + "inquire-daily-itemchartprice", "FHKST03010100", operation=f"daily bars {ticker}",
                params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": ticker, "FID_INPUT_DATE_1": _ymd(start),
                        "FID_INPUT_DATE_2": _ymd(cursor), "FID_PERIOD_DIV_CODE": "D", "FID_ORG_ADJ_PRC": "0"})
            rows = [r for r in payload.get("output2") or [] if r.get("stck_bsop_date")]
            for r in rows:
                day = dt.datetime.strptime(r["stck_bsop_date"], "%Y%m%d").date()
                bars[day] = DailyBar(date=day, open=int(r["stck_oprc"]), high=int(r["stck_hgpr"]),
                                     low=int(r["stck_lwpr"]), close=int(r["stck_clpr"]), volume=int(r["acml_vol"]))
            if len(rows) < CHART_PAGE:
                break
            oldest = min(bars)
            if oldest <= start:
                break
            cursor = oldest - dt.timedelta(days=1)
        return [bars[d] for d in sorted(bars) if start <= d <= end]

    # --- account --------------------------------------------------------------------------------

    async def balance(self) -> Balance:
        """Every holding (all pages) and the account's cash and totals."""
        params = {**self._account(), "AFHR_FLPR_YN": "N", "OFL_YN": "", "INQR_DVSN": "01", "UNPR_DVSN": "01",
                  "FUND_STTL_ICLD_YN": "N", "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00"}
        holdings: list[Holding] = []
        summary: AccountSummary | None = None
        pages = 0
        async for payload in self.session.pages(TRADING + "inquire-balance", self._tr("balance"), params,
                                                operation="balance"):
            pages += 1
            holdings.extend(Holding.from_wire(row) for row in payload.get("output1") or [])
            totals = payload.get("output2") or []
            if totals:
                summary = AccountSummary.from_wire(totals[0] if isinstance(totals, list) else totals)
        if summary is None:
            raise KisConfigError("balance: KIS returned no account totals (output2)")
        return Balance(holdings=tuple(holdings), summary=summary, pages=pages)

    async def buying_power(self, ticker: str | None = None, price: int = 0,
                           order_type: OrderType = OrderType.LIMIT) -> BuyingPower:
        """Cash orderable without credit, and the whole shares of ``ticker`` it buys at ``price``."""
        if ticker:
            self._check_ticker(ticker)
        payload, _ = await self.session.call(
            "GET", TRADING + "inquire-psbl-order", self._tr("buying_power"), operation="buying power",
            params={**self._account(), "PDNO": ticker or "", "ORD_UNPR": str(price) if price else "",
                    "ORD_DVSN": order_type.value, "CMA_EVLU_AMT_ICLD_YN": "N", "OVRS_ICLD_YN": "N"})
        return BuyingPower.from_wire(payload["output"])

    # --- orders ---------------------------------------------------------------------------------

    async def place_order(self, side: Side, ticker: str, quantity: int, order_type: OrderType = OrderType.LIMIT,
                          price: int = 0) -> OrderAck:
        """Send one cash order. Never retried on an ambiguous answer: see ``OrderOutcomeUnknown``."""
        self._check_ticker(ticker)
        if quantity <= 0:
            raise ValueError("quantity must be a positive whole number of shares")
        if order_type.needs_price and price <= 0:
            raise ValueError(f"a {order_type.korean_name} order needs a price")
        request = OrderRequest(action="new", side=side, ticker=ticker, quantity=quantity, order_type=order_type,
                               price=price if order_type.needs_price else 0, sent_at=dt.datetime.now(KST))
        payload, _ = await self.session.call(
            "POST", TRADING + "order-cash", self._tr(side), operation=f"{side} {quantity} {ticker}", order=request,
            body={**self._account(), "PDNO": ticker, "ORD_DVSN": order_type.value, "ORD_QTY": str(quantity),
                  "ORD_UNPR": str(request.price), "EXCG_ID_DVSN_CD": "KRX", "SLL_TYPE": "01" if side == "sell" else "",
                  "CNDT_PRIC": ""})
        return OrderAck.from_wire(payload["output"], str(payload.get("msg1", "")), request)

    async def _revise_or_cancel(self, action: Literal["revise", "cancel"], order_no: str, order_type: OrderType,
                                price: int, quantity: int | None, branch: str) -> OrderAck:
        request = OrderRequest(action=action, original_order_no=order_no, quantity=quantity, order_type=order_type,
                               price=price, sent_at=dt.datetime.now(KST))
        payload, _ = await self.session.call(
            "POST", TRADING + "order-rvsecncl", self._tr("revise"), operation=f"{action} order {order_no}",
            order=request,
            body={**self._account(), "KRX_FWDG_ORD_ORGNO": branch, "ORGN_ODNO": order_no,
                  "ORD_DVSN": order_type.value, "RVSE_CNCL_DVSN_CD": "01" if action == "revise" else "02",
                  "ORD_QTY": str(quantity or 0), "ORD_UNPR": str(price),
                  "QTY_ALL_ORD_YN": "N" if quantity else "Y", "EXCG_ID_DVSN_CD": "KRX"})
        return OrderAck.from_wire(payload["output"], str(payload.get("msg1", "")), request)

    async def revise_order(self, order_no: str, *, price: int, order_type: OrderType = OrderType.LIMIT,
                           quantity: int | None = None, branch: str = "") -> OrderAck:
        """Re-price (all or ``quantity`` of) an open order; KIS gives the remainder a new order number."""
        return await self._revise_or_cancel("revise", order_no, order_type, price, quantity, branch)

    async def cancel_order(self, order_no: str, *, quantity: int | None = None, branch: str = "") -> OrderAck:
        return await self._revise_or_cancel("cancel", order_no, OrderType.LIMIT, 0, quantity, branch)

    async def orders_today(self, *, ticker: str | None = None, side: Side | None = None,
                           status: Literal["all", "open", "filled"] = "all",
                           day: dt.date | None = None) -> list[OrderRecord]:
        """Today's orders (inquire-daily-ccld, all pages), oldest first."""
        day = day or dt.datetime.now(KST).date()
        params = {**self._account(), "INQR_STRT_DT": _ymd(day), "INQR_END_DT": _ymd(day),
                  "SLL_BUY_DVSN_CD": {"sell": "01", "buy": "02", None: "00"}[side], "INQR_DVSN": "01",
                  "PDNO": ticker or "", "CCLD_DVSN": {"all": "00", "filled": "01", "open": "02"}[status],
                  "ORD_GNO_BRNO": "", "ODNO": "", "INQR_DVSN_3": "00", "INQR_DVSN_1": "", "EXCG_ID_DVSN_CD": "KRX"}
        records: list[OrderRecord] = []
        async for payload in self.session.pages(TRADING + "inquire-daily-ccld", self._tr("orders"), params,
                                                operation="today's orders"):
            records.extend(OrderRecord.from_wire(row) for row in payload.get("output1") or [])
        return records

    async def revoke_token(self) -> bool:
        return await self.tokens.revoke()


class SyncKisClient:
    """The same client for synchronous code (the CLI): a private event loop on a daemon thread."""

    def __init__(self, config: KisConfig, credentials: Credentials, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kis-client", daemon=True)
        self._thread.start()
        self.client: KisClient = self._run(self._make(config, credentials, transport))

    @staticmethod
    async def _make(config: KisConfig, credentials: Credentials, transport) -> KisClient:
        return KisClient(config, credentials, transport=transport)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:  # Ctrl-C while waiting: the request is abandoned, not left running
            future.cancel()
            raise

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if not asyncio.iscoroutinefunction(method):
            return method
        return lambda *args, **kwargs: self._run(method(*args, **kwargs))

    def close(self) -> None:
        self._run(self.client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> SyncKisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["REDACTOR", "KisClient", "SyncKisClient"]
