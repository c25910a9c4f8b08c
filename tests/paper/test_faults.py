"""Fault injection: server errors, rate-limit bursts, token expiry, slow answers, lost order answers."""

from __future__ import annotations

import time

import httpx
import pytest
from support.paperkit import out, rejected


async def test_error_rate_answers_500(h, wire):
    h.exchange.settings.faults.error_rate = 1.0
    rejected(await wire.price("069500"), "EGW00500", 500)
    h.exchange.settings.faults.error_rate = 0.0
    out(await wire.price("069500"))


async def test_rate_limit_burst(h, wire):
    h.exchange.settings.faults.rate_limit_burst = 2
    rejected(await wire.price("069500"), "EGW00201", 500)
    rejected(await wire.price("069500"), "EGW00201", 500)
    out(await wire.price("069500"))


async def test_token_expiry_at_a_chosen_moment(h, wire):
    h.exchange.settings.faults.expire_tokens_at = time.time()
    rejected(await wire.price("069500"), "EGW00123", 500)
    h.exchange.settings.token_reuse_window = 0  # the old token expired: a re-issue mints a new one
    await wire.issue_token()
    out(await wire.price("069500"))


async def test_slow_answers(h, wire):
    h.exchange.settings.faults.slow_seconds = 0.2
    started = time.perf_counter()
    out(await wire.price("069500"))
    assert time.perf_counter() - started >= 0.2


async def test_lost_order_answer_still_books_the_order_once(h, wire):
    h.exchange.settings.faults.lose_order_responses = 1
    with pytest.raises(httpx.TransportError):
        await wire.order("buy", "069500", 3, 0, "01")
    rows = out(await wire.orders("20261120"))["output1"]
    assert [(r["pdno"], r["ord_qty"], r["tot_ccld_qty"]) for r in rows] == [("069500", "3", "3")]
    again = out(await wire.order("buy", "069500", 2, 0, "01"))  # later answers arrive normally
    assert again["output"]["ODNO"] == f"{int(rows[0]['odno']) + 1:010d}"
