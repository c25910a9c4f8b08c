"""Every method of the client against the paper exchange, in-process and over loopback HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from support.kiskit import client

from tools.kis import InsufficientCash, MarketClosed, NothingToRevise, PriceError, UnknownTicker
from tools.market import InstrumentKind, OrderType, price_limits

DAY = dt.date(2026, 11, 20)


@pytest.fixture
async def kis(h, account, tmp_path):
    async with client(h, account, tmp_path) as kis:
        yield kis


async def test_quote_and_book(kis, h):
    quote = await kis.quote("069500")
    assert quote.base_price == h.exchange.market.base_price("069500", DAY)
    assert (quote.lower_limit, quote.upper_limit) == price_limits(quote.base_price, InstrumentKind.ETF)
    assert quote.tick == 5 and quote.low <= quote.price <= quote.high and quote.change == quote.price - quote.base_price
    book = await kis.order_book("069500")
    assert len(book.asks) == len(book.bids) == 10
    assert book.best_bid < book.best_ask
    with pytest.raises(UnknownTicker) as error:
        await kis.quote("999999")
    assert error.value.msg_cd == "40070000" and "999999" in str(error.value)
    with pytest.raises(ValueError):
        await kis.quote("abc")


async def test_daily_bars_page_back_in_time(kis, h):
    start = dt.date(2025, 6, 1)
    bars = await kis.daily_bars("069500", start, DAY)
    expected = h.exchange.market.bars("069500", start, dt.date(2026, 11, 19))
    assert [b.date for b in bars[:-1]] == [b.date for b in expected]  # + today's bar so far
    assert bars[:-1] == expected
    assert len(bars) > 300 and bars[-1].date == DAY
    assert kis.session.calls >= 4  # 100 bars a call


async def test_balance_reads_every_page(h, tmp_path):
    holdings = {i.ticker: 5 + n for n, i in enumerate(h.exchange.market.instruments()[:25])}
    account = h.exchange.create_account(7_000_000, holdings)
    async with client(h, account, tmp_path) as kis:
        balance = await kis.balance()
    assert balance.pages == 2
    assert {x.ticker: x.quantity for x in balance.holdings} == holdings
    assert balance.summary.cash_d0 == balance.summary.cash_d2 == 7_000_000
    assert balance.summary.total_value == balance.summary.securities_value + 7_000_000
    assert balance.summary.securities_value == sum(x.value for x in balance.holdings)


async def test_buying_power(kis, h):
    power = await kis.buying_power("069500", 40_000)
    assert power.cash == 10_000_000 and power.price_used == 40_000
    assert power.quantity == 10_000_000 // (40_000 + int(40_000 * 0.000147) + 1)
    market = await kis.buying_power("069500", 0, OrderType.MARKET)
    assert market.price_used == (await kis.quote("069500")).upper_limit


async def test_place_revise_cancel_and_list(kis, h):
    book = await kis.order_book("069500")
    resting = await kis.place_order("buy", "069500", 10, OrderType.LIMIT, book.bids[4].price)
    assert len(resting.order_no) == 10 and resting.branch == "00950"
    assert resting.request.ticker == "069500" and resting.request.quantity == 10
    revised = await kis.revise_order(resting.order_no, price=book.bids[3].price, branch=resting.branch)
    partial = await kis.cancel_order(revised.order_no, quantity=4, branch=revised.branch)
    filled = await kis.place_order("buy", "069500", 3, OrderType.BEST_COUNTER)
    sold = await kis.place_order("sell", "005930", 2, OrderType.MARKET)
    orders = await kis.orders_today(day=DAY)
    by_no = {o.order_no: o for o in orders}
    assert by_no[resting.order_no].remaining_quantity == 0 and by_no[resting.order_no].cancelled_quantity == 10
    assert by_no[revised.order_no].original_order_no == resting.order_no
    assert by_no[revised.order_no].remaining_quantity == 6
    assert by_no[partial.order_no].is_cancel_record
    assert by_no[filled.order_no].filled_quantity == 3 and by_no[filled.order_no].price == book.best_ask
    assert by_no[sold.order_no].side == "sell" and by_no[sold.order_no].filled_quantity == 2
    open_orders = await kis.orders_today(day=DAY, status="open")
    assert [o.order_no for o in open_orders] == [revised.order_no]
    sells = await kis.orders_today(day=DAY, side="sell")
    assert [o.order_no for o in sells] == [sold.order_no]
    only_005930 = await kis.orders_today(day=DAY, ticker="005930")
    assert {o.ticker for o in only_005930} == {"005930"}
    filled_only = await kis.orders_today(day=DAY, status="filled")
    assert {o.order_no for o in filled_only} == {filled.order_no, sold.order_no}
    await kis.cancel_order(revised.order_no)
    with pytest.raises(NothingToRevise):
        await kis.cancel_order(revised.order_no)


async def test_business_errors_are_typed_and_readable(kis, h):
    quote = await kis.quote("069500")
    with pytest.raises(InsufficientCash) as error:
        await kis.place_order("buy", "069500", 10_000, OrderType.LIMIT, quote.upper_limit)
    assert str(error.value).startswith("모의투자 주문가능금액이 부족합니다.")
    assert error.value.msg_cd == "40250000" and "buy 10000 069500" in str(error.value)
    with pytest.raises(PriceError):
        await kis.place_order("buy", "069500", 1, OrderType.LIMIT, quote.upper_limit + 5)
    h.at(DAY, 16)
    with pytest.raises(MarketClosed):
        await kis.place_order("buy", "069500", 1, OrderType.MARKET)
    with pytest.raises(ValueError):
        await kis.place_order("buy", "069500", 0, OrderType.MARKET)


async def test_orders_list_pages_past_fifteen_rows(kis, h):
    book = await kis.order_book("069500")
    placed = [await kis.place_order("buy", "069500", 1, OrderType.LIMIT, book.bids[9].price) for _ in range(17)]
    orders = await kis.orders_today(day=DAY)
    assert [o.order_no for o in orders] == [a.order_no for a in placed]
