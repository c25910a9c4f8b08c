"""상품기본조회 (search-info, CTPF1604R): the product master Rebal reads before quoting a target.

A listed code answers with its names and ISIN; a well-formed code that is not listed is refused
in KIS's envelope, on both profiles; Rebal's client reads both answers into its own terms.
"""

from __future__ import annotations

import pytest
from support.kiskit import client
from support.kiswire import QUOTES
from support.paperkit import out, rejected

from tools.kis import UnknownTicker
from tools.kis.models import ProductInfo

UNLISTED = "123456"  # six digits, and no instrument of the paper exchange


async def _search_info(wire, ticker: str):
    return await wire.get(QUOTES + "search-info", "CTPF1604R", PDNO=ticker, PRDT_TYPE_CD="300")


async def test_a_listed_code_answers_with_its_names_and_isin(wire):
    info = out(await _search_info(wire, "005930"))["output"]
    assert (info["pdno"], info["shtn_pdno"], info["std_pdno"]) == ("005930", "005930", "KR7005930003")
    assert info["prdt_abrv_name"] == "삼성전자" and info["prdt_clsf_name"] == "주권"


async def test_an_unlisted_code_is_refused_and_nothing_else_changes(wire, h, account):
    orders_before = dict(h.exchange.orders)
    body = rejected(await _search_info(wire, UNLISTED), "40070000")
    assert UNLISTED in body["msg1"] and "output" not in body
    assert h.exchange.orders == orders_before


@pytest.mark.parametrize("profile", ["paper", "real"])
async def test_rebals_client_reads_the_product_master(make_harness, tmp_path, profile):
    async with make_harness(profile=profile) as h:
        account = h.exchange.create_account(1_000_000)
        async with client(h, account, tmp_path) as kis:
            info = await kis.product_info("069500")
            assert info == ProductInfo(ticker="069500", name="KODEX 200", standard_code="KR7069500007", kind="ETF")
            assert info.exists
            with pytest.raises(UnknownTicker) as refused:
                await kis.product_info(UNLISTED)
            assert refused.value.msg_cd == "40070000"


async def test_a_malformed_code_is_not_sent(make_harness, tmp_path):
    async with make_harness() as h:
        account = h.exchange.create_account(1_000_000)
        async with client(h, account, tmp_path) as kis:
            with pytest.raises(ValueError, match="not a KRX code"):
                await kis.product_info("12345\n")


def test_an_answer_without_a_product_is_no_product():
    """KIS may answer an unknown code with rt_cd 0 and empty fields: that is no product either."""
    empty = ProductInfo.from_wire(UNLISTED, {"pdno": "", "prdt_name": "", "std_pdno": "", "prdt_abrv_name": ""})
    assert empty.ticker == UNLISTED and not empty.exists
