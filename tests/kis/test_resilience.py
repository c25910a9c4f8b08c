"""Rate limiting, retries of reads, never-blind orders, and paging limits."""

from __future__ import annotations

import time

import pytest
from support.kiskit import client

from tools.kis import KisTransportError, OrderOutcomeUnknown, PagingError, RateLimited
from tools.kis.ratelimit import _LIMITERS
from tools.market import OrderType


@pytest.fixture(autouse=True)
def _fresh_limiters():
    _LIMITERS.clear()


@pytest.fixture
def no_gc_pauses():
    """In-process, client and server share one garbage collector: a full collection (tens of ms in a
    large test process) between a request leaving the client and reaching the server's counter
    squeezes the schedule in a way two real processes never see. Pause collection while measuring."""
    import gc

    gc.collect()
    gc.disable()
    yield
    gc.enable()


async def test_limiter_holds_the_servers_limit(make_harness, tmp_path, no_gc_pauses):
    async with make_harness(profile="real", rate_limit=20) as h:
        account = h.exchange.create_account(1_000_000)
        async with client(h, account, tmp_path, requests_per_second=20) as kis:
            await kis.quote("069500")
            started = time.monotonic()
            for _ in range(60):
                await kis.quote("069500")
            elapsed = time.monotonic() - started
        assert h.app.state.gateway.rate_limited == 0  # never over the limit
        assert kis.session.calls == 61
        assert elapsed >= 2.0  # 60 calls at 20/s need at least two more windows after the first


async def test_two_clients_of_one_account_share_the_limit(make_harness, tmp_path, no_gc_pauses):
    async with make_harness(profile="real", rate_limit=10) as h:
        account = h.exchange.create_account(1_000_000)
        async with client(h, account, tmp_path, requests_per_second=10) as a, \
                client(h, account, tmp_path, requests_per_second=10) as b:
            for _ in range(15):
                await a.quote("069500")
                await b.quote("069500")
        assert h.app.state.gateway.rate_limited == 0


async def test_rate_limit_burst_is_backed_off(h, account, tmp_path):
    async with client(h, account, tmp_path) as kis:
        await kis.quote("069500")
        h.exchange.settings.faults.rate_limit_burst = 3
        calls = kis.session.calls
        await kis.place_order("buy", "069500", 1, OrderType.MARKET)  # EGW00201 is a definite refusal
        assert kis.session.calls - calls == 4
        h.exchange.settings.faults.rate_limit_burst = 50
        with pytest.raises(RateLimited):
            await kis.quote("069500")


async def test_reads_retry_server_errors(h, account, tmp_path):
    async with client(h, account, tmp_path) as kis:
        await kis.quote("069500")
        h.exchange.settings.faults.server_error_burst = 2
        assert (await kis.balance()).summary.cash_d0 == 10_000_000
        h.exchange.settings.faults.server_error_burst = 10
        with pytest.raises(Exception) as error:
            await kis.quote("069500")
        assert "EGW00500" in str(error.value)


async def test_an_order_is_never_retried_on_a_server_error(h, account, tmp_path):
    async with client(h, account, tmp_path) as kis:
        await kis.quote("069500")
        h.exchange.settings.faults.server_error_burst = 1
        calls = kis.session.calls
        with pytest.raises(OrderOutcomeUnknown) as error:
            await kis.place_order("buy", "069500", 2, OrderType.MARKET)
        assert kis.session.calls - calls == 1
        assert error.value.request.ticker == "069500" and error.value.request.quantity == 2
        assert await kis.orders_today(day=h.exchange.clock.now().date()) == []


async def test_lost_order_answer_carries_what_was_sent(h, account, tmp_path):
    async with client(h, account, tmp_path) as kis:
        h.exchange.settings.faults.lose_order_responses = 1
        with pytest.raises(OrderOutcomeUnknown) as error:
            await kis.place_order("sell", "005930", 3, OrderType.MARKET)
        sent = error.value.request
        assert (sent.side, sent.ticker, sent.quantity, sent.order_type) == ("sell", "005930", 3, OrderType.MARKET)
        assert "check today's orders" in str(error.value)
        orders = await kis.orders_today(day=h.exchange.clock.now().date(), ticker="005930")
        assert [(o.side, o.quantity, o.filled_quantity) for o in orders] == [("sell", 3, 3)]  # booked exactly once


async def test_unreachable_server_is_a_transport_error(account, tmp_path, h):
    from support.kiskit import credentials

    from tools.kis import KisClient, KisConfig

    config = KisConfig(account=account.number, base_url="http://127.0.0.1:9", requests_per_second=0,
                       token_cache_dir=tmp_path, read_retries=1, backoff_base=0.01)
    async with KisClient(config, credentials(account)) as kis:
        with pytest.raises(KisTransportError) as error:
            await kis.quote("069500")
    assert "token issue failed" in str(error.value)


async def test_endless_paging_quirk_becomes_a_clear_error(h, tmp_path):
    holdings = {i.ticker: 1 for i in h.exchange.market.instruments()[:20]}
    account = h.exchange.create_account(1_000_000, holdings)
    h.exchange.settings.faults.endless_balance_paging = True
    async with client(h, account, tmp_path) as kis:
        with pytest.raises(PagingError) as error:
            await kis.balance()
    assert "SYDB0050" in str(error.value) and "endless-paging quirk" in str(error.value)


async def test_page_count_is_bounded(h, tmp_path):
    holdings = {i.ticker: 1 for i in h.exchange.market.instruments()[:25]}
    account = h.exchange.create_account(1_000_000, holdings)
    async with client(h, account, tmp_path, max_pages=1) as kis:
        with pytest.raises(PagingError) as error:
            await kis.balance()
    assert "more than 1 pages" in str(error.value)
