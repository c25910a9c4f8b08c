"""Endpoints general KIS clients call beyond the core: product info, minute bars, overseas lists."""

from __future__ import annotations

from support.kiswire import QUOTES
from support.paperkit import SESSION, moment, out


async def test_search_info(wire):
    body = out(await wire.get(QUOTES + "search-info", "CTPF1604R", PDNO="069500", PRDT_TYPE_CD="300"))
    info = body["output"]
    assert (info["shtn_pdno"], info["std_pdno"], info["prdt_abrv_name"]) == ("069500", "KR7069500007", "KODEX 200")


async def test_minute_bars_come_from_the_intraday_path(wire, h):
    h.at(SESSION, 10, 30)
    rows = out(await wire.get(QUOTES + "inquire-time-itemchartprice", "FHKST03010200", FID_ETC_CLS_CODE="",
                              FID_COND_MRKT_DIV_CODE="J", FID_INPUT_ISCD="069500", FID_INPUT_HOUR_1="102000",
                              FID_PW_DATA_INCU_YN="N"))["output2"]
    assert len(rows) == 30
    assert [r["stck_cntg_hour"] for r in rows[:2]] == ["102000", "101900"]
    path = h.exchange.market.path("069500", SESSION)
    first = rows[0]
    assert int(first["stck_prpr"]) == path.last_price(moment(SESSION, 10, 20))
    assert int(first["cntg_vol"]) == path.volume_between(moment(SESSION, 10, 19), moment(SESSION, 10, 20))
    assert all(int(r["stck_lwpr"]) <= int(r["stck_prpr"]) <= int(r["stck_hgpr"]) for r in rows)


async def test_overseas_account_queries_are_empty(wire):
    trading = "/uapi/overseas-stock/v1/trading/"
    present = out(await wire.get(trading + "inquire-present-balance", "VTRP6504R", CANO=wire.cano,
                                 ACNT_PRDT_CD="01", WCRC_FRCR_DVSN_CD="02", NATN_CD="000", TR_MKET_CD="00",
                                 INQR_DVSN_CD="00"))
    assert present["output1"] == [] and present["output2"] == []
    for path, tr_id in (("inquire-ccnl", "VTTS3035R"), ("inquire-nccs", "VTTS3018R")):
        response = await wire.get(trading + path, tr_id, CANO=wire.cano, ACNT_PRDT_CD="01")
        assert out(response)["output"] == [] and response.headers["tr_cont"] == "D"
    assert out(await wire.get(trading + "inquire-balance", "VTTS3012R", CANO=wire.cano,
                              ACNT_PRDT_CD="01"))["output1"] == []


