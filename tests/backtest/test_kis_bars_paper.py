"""Daily bars through Rebal's KIS client from the paper exchange, paged back and cached locally."""

from __future__ import annotations

import datetime as dt

from support.kiskit import client

from tools.backtest.data import fetch_kis_bars


async def test_bars_from_the_paper_exchange_are_paged_and_cached(h, tmp_path):
    account = h.exchange.create_account(1_000_000)
    start, end = dt.date(2025, 6, 2), dt.date(2026, 11, 19)
    async with client(h, account, tmp_path / "tokens") as kis:
        first = await fetch_kis_bars(kis, ["069500", "152380"], start, end, tmp_path / "cache")
        calls = kis.session.calls
        again = await fetch_kis_bars(kis, ["069500", "152380"], start, end, tmp_path / "cache")
        assert kis.session.calls == calls  # everything came from the cache
        wider = await fetch_kis_bars(kis, ["069500"], dt.date(2025, 1, 2), end, tmp_path / "cache")
        assert kis.session.calls > calls  # only the missing early months were asked for
    for ticker in ("069500", "152380"):
        expected = h.exchange.market.bars(ticker, start, end)
        assert list(first[ticker].bars) == expected and len(expected) > 300  # > 100 bars: paged back
        assert again[ticker].bars == first[ticker].bars
    assert wider["069500"].bars[0].date < start
    assert list(wider["069500"].bars) == h.exchange.market.bars("069500", dt.date(2025, 1, 2), end)
