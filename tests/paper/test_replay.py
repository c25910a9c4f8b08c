"""Replaying real history from ../shared/data/prices through the KIS API."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from support.kiswire import QUOTES, KisWire
from support.paperkit import out, settings
from support.shared_data import require_shared_prices

from paper.app import create_app, transport
from paper.exchange import PaperExchange
from paper.market import MarketData
from tools.market import krx_calendar
from tools.prices import read_price_csv


@pytest.fixture(scope="module")
def real_market() -> MarketData:
    return MarketData(krx_calendar(), seed=0, data_dir=require_shared_prices())


async def test_real_bars_replay_on_their_date(real_market, shared_prices):
    exchange = PaperExchange(settings(date=dt.date(2023, 12, 22), time=dt.time(15, 40)), market=real_market)
    account = exchange.create_account(10_000_000)
    file_rows = {b.date: b for b in read_price_csv(shared_prices / "KRX_069500.csv").bars}
    async with httpx.AsyncClient(transport=transport(create_app(exchange)), base_url="http://p") as http:
        wire = KisWire(http, account.app_key, account.app_secret, account.number)
        await wire.issue_token()
        quote = out(await wire.price("069500"))["output"]
        last = file_rows[dt.date(2023, 12, 22)]
        assert (int(quote["stck_oprc"]), int(quote["stck_hgpr"]), int(quote["stck_lwpr"]), int(quote["stck_prpr"])) \
            == (last.open, last.high, last.low, last.close)
        assert int(quote["stck_sdpr"]) == file_rows[dt.date(2023, 12, 21)].close
        chart = out(await wire.get(QUOTES + "inquire-daily-itemchartprice", "FHKST03010100",
                                   FID_COND_MRKT_DIV_CODE="J", FID_INPUT_ISCD="069500", FID_INPUT_DATE_1="20231101",
                                   FID_INPUT_DATE_2="20231222", FID_PERIOD_DIV_CODE="D", FID_ORG_ADJ_PRC="0"))
        for row in chart["output2"]:
            bar = file_rows[dt.datetime.strptime(row["stck_bsop_date"], "%Y%m%d").date()]
            assert (int(row["stck_clpr"]), int(row["acml_vol"])) == (bar.close, bar.volume)
        assert len(chart["output2"]) == len([d for d in file_rows if dt.date(2023, 11, 1) <= d])


def test_days_after_the_data_continue_as_a_seeded_walk(real_market):
    after = real_market.bar("069500", dt.date(2023, 12, 26))
    again = MarketData(krx_calendar(), seed=0, data_dir=require_shared_prices()).bar("069500", dt.date(2023, 12, 26))
    assert after == again
    assert after.open > 0 and after.low <= after.close <= after.high

