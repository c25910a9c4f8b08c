"""Quotes: current price, the 10-level book, period charts with paging back in time, daily prices."""

from __future__ import annotations

import datetime as dt

from support.kiswire import QUOTES
from support.paperkit import SESSION, moment, out, rejected

from tools.market import InstrumentKind, is_on_tick, price_limits, tick_size


async def test_inquire_price_matches_the_market(wire, h):
    body = out(await wire.price("069500"))
    q = body["output"]
    assert body["msg_cd"] == "MCA00000"
    price, base = int(q["stck_prpr"]), int(q["stck_sdpr"])
    assert base == h.exchange.market.base_price("069500", SESSION)
    assert (int(q["stck_llam"]), int(q["stck_mxpr"])) == price_limits(base, InstrumentKind.ETF)
    assert int(q["prdy_vrss"]) == price - base
    assert q["aspr_unit"] == "5"
    assert int(q["stck_lwpr"]) <= price <= int(q["stck_hgpr"])
    assert int(q["acml_vol"]) > 0
    assert q["stck_shrn_iscd"] == "069500"
    path = h.exchange.market.path("069500", SESSION)
    assert price == path.last_price(moment(SESSION, 10))


async def test_stock_tick_follows_the_price_band(wire):
    q = out(await wire.price("005930"))["output"]
    assert int(q["aspr_unit"]) == tick_size(int(q["stck_prpr"]), InstrumentKind.STOCK)


async def test_unknown_ticker_and_malformed_code(wire):
    rejected(await wire.price("999999"), "40070000")
    rejected(await wire.price("69500"), "40070000")
    for padded in ("069500\n", " 069500", "０６９５００"):  # not stripped or normalised: refused as sent
        rejected(await wire.price(padded), "40070000")


async def test_order_book_has_ten_sorted_levels_on_the_grid(wire):
    book = out(await wire.book("069500"))["output1"]
    asks = [int(book[f"askp{i}"]) for i in range(1, 11)]
    bids = [int(book[f"bidp{i}"]) for i in range(1, 11)]
    assert asks == sorted(asks) and bids == sorted(bids, reverse=True)
    assert bids[0] < asks[0]
    assert all(is_on_tick(p, InstrumentKind.ETF) for p in asks + bids)
    assert all(int(book[f"askp_rsqn{i}"]) > 0 and int(book[f"bidp_rsqn{i}"]) > 0 for i in range(1, 11))
    assert int(book["total_askp_rsqn"]) == sum(int(book[f"askp_rsqn{i}"]) for i in range(1, 11))
    assert book["new_mkop_cls_code"].startswith("2")


async def test_resting_order_shows_in_the_book(wire):
    book = out(await wire.book("069500"))["output1"]
    bid5 = int(book["bidp5"])
    before = int(book["bidp_rsqn5"])
    out(await wire.order("buy", "069500", 7, bid5))
    after = out(await wire.book("069500"))["output1"]
    assert int(after["bidp5"]) == bid5 and int(after["bidp_rsqn5"]) == before + 7


async def chart(wire, start: str, end: str, period: str = "D"):
    return await wire.get(QUOTES + "inquire-daily-itemchartprice", "FHKST03010100", FID_COND_MRKT_DIV_CODE="J",
                          FID_INPUT_ISCD="069500", FID_INPUT_DATE_1=start, FID_INPUT_DATE_2=end,
                          FID_PERIOD_DIV_CODE=period, FID_ORG_ADJ_PRC="0")


async def test_chart_pages_back_in_time_100_bars_at_a_time(wire, h):
    body = out(await chart(wire, "20250101", "20261120"))
    rows = body["output2"]
    assert len(rows) == 100
    dates = [r["stck_bsop_date"] for r in rows]
    assert dates == sorted(dates, reverse=True) and dates[0] == "20261120"  # today's bar so far
    oldest = dt.datetime.strptime(dates[-1], "%Y%m%d").date()
    older = out(await chart(wire, "20250101", (oldest - dt.timedelta(days=1)).strftime("%Y%m%d")))["output2"]
    assert older[0]["stck_bsop_date"] < dates[-1]
    bar = h.exchange.market.bar("069500", dt.date(2026, 11, 19))
    row = next(r for r in rows if r["stck_bsop_date"] == "20261119")
    assert (int(row["stck_oprc"]), int(row["stck_hgpr"]), int(row["stck_lwpr"]), int(row["stck_clpr"]),
            int(row["acml_vol"])) == (bar.open, bar.high, bar.low, bar.close, bar.volume)
    assert body["output1"]["hts_kor_isnm"] == "KODEX 200"


async def test_chart_weekly_and_monthly_aggregate_the_daily_bars(wire, h):
    monthly = out(await chart(wire, "20260801", "20261031", "M"))["output2"]
    assert [r["stck_bsop_date"][:6] for r in monthly] == ["202610", "202609", "202608"]
    october = h.exchange.market.bars("069500", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert int(monthly[0]["stck_oprc"]) == october[0].open
    assert int(monthly[0]["stck_clpr"]) == october[-1].close
    assert int(monthly[0]["stck_hgpr"]) == max(b.high for b in october)
    assert int(monthly[0]["acml_vol"]) == sum(b.volume for b in october)
    weekly = out(await chart(wire, "20261101", "20261120", "W"))["output2"]
    assert len(weekly) == 3


async def test_inquire_daily_price_gives_thirty_rows(wire):
    rows = out(await wire.get(QUOTES + "inquire-daily-price", "FHKST01010400", FID_COND_MRKT_DIV_CODE="J",
                              FID_INPUT_ISCD="069500", FID_PERIOD_DIV_CODE="D", FID_ORG_ADJ_PRC="0"))["output"]
    assert len(rows) == 30
    assert rows[0]["stck_bsop_date"] == "20261120"
    prev = int(rows[1]["stck_clpr"])
    assert int(rows[0]["prdy_vrss"]) == int(rows[0]["stck_clpr"]) - prev


async def test_quote_before_the_open_stands_at_the_base_price(wire, h):
    h.exchange.clock.set(moment(dt.date(2026, 11, 23), 8, 10))
    q = out(await wire.price("069500"))["output"]
    assert int(q["stck_prpr"]) == int(q["stck_sdpr"]) == h.exchange.market.bar("069500", SESSION).close
    assert q["acml_vol"] == "0"
