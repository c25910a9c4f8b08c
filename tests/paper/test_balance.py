"""inquire-balance: holdings, totals, and paging (20 rows a page on paper, 50 on real)."""

from __future__ import annotations

from support.paperkit import out, rejected


def _holdings(h, count: int) -> dict[str, int]:
    tickers = [i.ticker for i in h.exchange.market.instruments()][:count]
    assert len(tickers) == count
    return {t: 10 + i for i, t in enumerate(tickers)}


async def test_paging_across_more_than_twenty_holdings(h):
    holdings = _holdings(h, 25)
    wire = await h.open_wire(h.exchange.create_account(5_000_000, holdings))
    rows, pages = await wire.balance_all()
    assert [p.headers["tr_cont"] for p in pages] == ["M", "D"]
    assert [len(p.json()["output1"]) for p in pages] == [20, 5]
    assert {r["pdno"]: int(r["hldg_qty"]) for r in rows} == holdings
    totals = pages[-1].json()["output2"][0]
    assert int(totals["scts_evlu_amt"]) == sum(int(r["evlu_amt"]) for r in rows)
    assert int(totals["tot_evlu_amt"]) == int(totals["scts_evlu_amt"]) + int(totals["prvs_rcdl_excc_amt"])
    assert pages[0].json()["ctx_area_fk100"].startswith(wire.cano)
    assert len(pages[0].json()["ctx_area_nk100"]) == 100


async def test_follow_up_without_tr_cont_header_also_pages(h):
    # Some clients (mojito) resend the context keys without the "N" header.
    wire = await h.open_wire(h.exchange.create_account(5_000_000, _holdings(h, 22)))
    first = (await wire.balance()).json()
    second = await wire.balance("", first["ctx_area_fk100"], first["ctx_area_nk100"])
    assert second.headers["tr_cont"] == "D" and len(second.json()["output1"]) == 2


async def test_real_profile_pages_fifty_rows(make_harness):
    async with make_harness(profile="real") as h:
        wire = await h.open_wire(h.exchange.create_account(5_000_000, _holdings(h, 25)))
        rows, pages = await wire.balance_all()
        assert len(pages) == 1 and pages[0].headers["tr_cont"] == "D" and len(rows) == 25
        assert pages[0].json()["msg_cd"] == "KIOK0510"


async def test_position_fields(wire, h):
    body = out(await wire.balance())
    row = next(r for r in body["output1"] if r["pdno"] == "069500")
    base = h.exchange.market.base_price("069500", h.exchange.clock.now().date())
    assert row["hldg_qty"] == row["ord_psbl_qty"] == "100"
    assert int(row["pchs_amt"]) == 100 * base
    assert float(row["pchs_avg_pric"]) == base
    assert int(row["evlu_amt"]) == 100 * int(row["prpr"])
    assert int(row["evlu_pfls_amt"]) == int(row["evlu_amt"]) - int(row["pchs_amt"])
    totals = body["output2"][0]
    assert totals["dnca_tot_amt"] == totals["nxdy_excc_amt"] == totals["prvs_rcdl_excc_amt"] == "10000000"


async def test_inqr_dvsn_02_is_rejected_as_kis_does_since_2026(wire):
    response = await wire.get("/uapi/domestic-stock/v1/trading/inquire-balance", "VTTC8434R", CANO=wire.cano,
                              ACNT_PRDT_CD="01", INQR_DVSN="02")
    body = rejected(response, "OPSQ2001")
    assert body["rt_cd"] == "2" and body["msg1"].strip() == "ERROR : INPUT INVALID_CHECK_INQR_DVSN"


async def test_endless_paging_quirk_can_be_reproduced(h):
    wire = await h.open_wire(h.exchange.create_account(5_000_000, _holdings(h, 20)))
    h.exchange.settings.faults.endless_balance_paging = True
    first = await wire.balance()
    assert first.headers["tr_cont"] == "M"
    body = first.json()
    follow = await wire.balance("N", body["ctx_area_fk100"], body["ctx_area_nk100"])
    assert follow.json()["rt_cd"] == "7" and follow.json()["msg_cd"] == "SYDB0050"
