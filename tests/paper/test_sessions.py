"""Market hours, call auctions, conditional limits, day orders lapsing, D+2 settlement, the day roll."""

from __future__ import annotations

import datetime as dt

from support.paperkit import NEXT_SESSION, SESSION, out, rejected

from tools.market import InstrumentKind, price_limits

TUESDAY = dt.date(2026, 11, 24)


async def _row(wire, day: str, odno: str) -> dict:
    rows = out(await wire.orders(day, ODNO=odno))["output1"]
    assert len(rows) == 1
    return rows[0]


async def test_orders_outside_the_session_are_refused(h, wire):
    h.at(SESSION, 15, 45)
    body = rejected(await wire.order("buy", "069500", 1, 0, "01"), "40580000")
    assert body["msg1"].strip() == "모의투자 장종료 입니다."
    h.at(dt.date(2026, 11, 21), 10)  # Saturday
    rejected(await wire.order("buy", "069500", 1, 0, "01"), "40580000")
    h.at(NEXT_SESSION, 8, 10)
    body = rejected(await wire.order("buy", "069500", 1, 0, "01"), "40570000")
    assert body["msg1"].strip() == "모의투자 장시작전 입니다."


async def test_opening_auction_clears_at_the_open(h, wire):
    h.at(NEXT_SESSION, 8, 40)
    base = h.exchange.market.base_price("069500", NEXT_SESSION)
    lower, upper = price_limits(base, InstrumentKind.ETF)
    rejected(await wire.order("buy", "069500", 5, 0, "03"), "40100000")  # no 최유리 in a call auction
    buy = out(await wire.order("buy", "069500", 5, upper))["output"]
    sell = out(await wire.order("sell", "069500", 4, lower))["output"]
    assert (await _row(wire, "20261123", buy["ODNO"]))["rmn_qty"] == "5"  # nothing trades before 09:00
    h.at(NEXT_SESSION, 9, 0, )
    h.advance(0.1)
    bar = h.exchange.market.bar("069500", NEXT_SESSION)
    for odno, qty in ((buy["ODNO"], "5"), (sell["ODNO"], "4")):
        row = await _row(wire, "20261123", odno)
        assert (row["tot_ccld_qty"], row["avg_prvs"]) == (qty, str(bar.open))


async def test_closing_auction_clears_at_the_close(h, wire):
    h.at(SESSION, 15, 25)
    base = h.exchange.market.base_price("069500", SESSION)
    lower, _ = price_limits(base, InstrumentKind.ETF)
    rejected(await wire.order("sell", "069500", 5, 0, "04"), "40100000")
    sell = out(await wire.order("sell", "069500", 5, lower))["output"]
    assert (await _row(wire, "20261120", sell["ODNO"]))["tot_ccld_qty"] == "0"
    h.at(SESSION, 15, 31)
    row = await _row(wire, "20261120", sell["ODNO"])
    assert (row["tot_ccld_qty"], row["avg_prvs"]) == ("5", str(h.exchange.market.bar("069500", SESSION).close))


async def test_conditional_limit_goes_to_the_close_at_market(h, wire):
    base = h.exchange.market.base_price("069500", SESSION)
    lower, _ = price_limits(base, InstrumentKind.ETF)
    h.at(SESSION, 15, 0)
    conditional = out(await wire.order("buy", "069500", 6, lower, "02"))["output"]
    plain = out(await wire.order("buy", "069500", 6, lower, "00"))["output"]
    h.at(SESSION, 15, 31)
    close = h.exchange.market.bar("069500", SESSION).close
    row = await _row(wire, "20261120", conditional["ODNO"])
    assert (row["tot_ccld_qty"], row["avg_prvs"]) == ("6", str(close))
    lapsed = await _row(wire, "20261120", plain["ODNO"])
    assert (lapsed["tot_ccld_qty"], lapsed["rmn_qty"]) == ("0", "0")  # a day order lapses at the close


async def test_lapsed_order_releases_its_cash(h, wire):
    base = h.exchange.market.base_price("069500", SESSION)
    lower, _ = price_limits(base, InstrumentKind.ETF)
    full = int(out(await wire.buying_power())["output"]["ord_psbl_cash"])
    out(await wire.order("buy", "069500", 100, lower))
    assert int(out(await wire.buying_power())["output"]["ord_psbl_cash"]) < full
    h.at(NEXT_SESSION, 10)
    assert int(out(await wire.buying_power())["output"]["ord_psbl_cash"]) == full


async def test_sale_settles_two_sessions_later(h, wire):
    ack = out(await wire.order("sell", "069500", 100, 0, "01"))["output"]
    row = await _row(wire, "20261120", ack["ODNO"])
    amount = int(row["tot_ccld_amt"])
    proceeds = amount - int(amount * 0.000147)
    friday = out(await wire.balance())["output2"][0]
    assert (int(friday["dnca_tot_amt"]), int(friday["nxdy_excc_amt"]), int(friday["prvs_rcdl_excc_amt"])) == \
        (10_000_000, 10_000_000, 10_000_000 + proceeds)
    assert int(out(await wire.buying_power())["output"]["ord_psbl_cash"]) == 10_000_000 + proceeds
    assert int(out(await wire.buying_power())["output"]["ruse_psbl_amt"]) == proceeds
    h.at(NEXT_SESSION, 10)  # Monday: D+1
    monday = out(await wire.balance())
    totals = monday["output2"][0]
    assert (int(totals["dnca_tot_amt"]), int(totals["nxdy_excc_amt"])) == (10_000_000, 10_000_000 + proceeds)
    sold = {r["pdno"]: r for r in monday["output1"]}["069500"]
    assert (sold["hldg_qty"], sold["bfdy_sll_qty"], sold["thdt_sll_qty"]) == ("0", "100", "0")
    assert int(totals["bfdy_sll_amt"]) == amount and totals["thdt_sll_amt"] == "0"
    h.at(TUESDAY, 10)  # D+2: the proceeds are now settled cash
    tuesday = out(await wire.balance())
    assert int(tuesday["output2"][0]["dnca_tot_amt"]) == 10_000_000 + proceeds
    assert "069500" not in {r["pdno"] for r in tuesday["output1"]}
