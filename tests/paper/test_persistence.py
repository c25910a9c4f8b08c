"""A restarted exchange keeps accounts, orders, fills, tokens and resting orders."""

from __future__ import annotations

import httpx
from support.kiswire import KisWire
from support.paperkit import moment, out, settings

from paper.app import create_app, transport
from paper.exchange import PaperExchange
from paper.store import Store


async def test_restart_keeps_everything(tmp_path, market):
    db = tmp_path / "paper.db"
    first = PaperExchange(settings(db=str(db)), market=market)
    account = first.create_account(10_000_000, {"069500": 100})
    async with httpx.AsyncClient(transport=transport(create_app(first)), base_url="http://p") as http:
        wire = KisWire(http, account.app_key, account.app_secret, account.number)
        await wire.issue_token()
        filled = out(await wire.order("buy", "069500", 10, 0, "01"))["output"]["ODNO"]
        book = out(await wire.book("069500"))["output1"]
        resting = out(await wire.order("buy", "069500", 7, int(book["bidp5"])))["output"]["ODNO"]
        balance_before = out(await wire.balance())
        orders_before = out(await wire.orders("20261120"))["output1"]
        token = wire.token
    first.store.close()

    second = PaperExchange(settings(db=str(db)), market=market)
    async with httpx.AsyncClient(transport=transport(create_app(second)), base_url="http://p") as http:
        wire = KisWire(http, account.app_key, account.app_secret, account.number, token=token)
        assert out(await wire.balance())["output1"] == balance_before["output1"]
        assert out(await wire.orders("20261120"))["output1"] == orders_before
        assert [o.order_no for o in second.engine.open_orders()] == [int(resting)]
        cancel = out(await wire.cancel(resting))["output"]["ODNO"]
        assert int(cancel) == int(resting) + 1  # order numbers continue
        assert int(filled) < int(resting)


async def test_restart_with_an_earlier_clock_does_not_rewind(tmp_path, market):
    db = tmp_path / "paper.db"
    first = PaperExchange(settings(db=str(db)), market=market)
    first.clock.set(moment(first.clock.now().date(), 14))
    first.create_account(1_000_000)  # a change at 14:00 records the market's mark
    first.store.close()
    second = PaperExchange(settings(db=str(db)), market=market)
    assert second.clock.now() >= moment(second.clock.now().date(), 14)


def test_reset_forgets_everything(tmp_path, market):
    db = tmp_path / "paper.db"
    exchange = PaperExchange(settings(db=str(db)), market=market)
    exchange.create_account(1_000_000)
    exchange.store.close()
    store = Store(db)
    store.reset()
    assert store.load_accounts() == [] and store.load_orders() == []
