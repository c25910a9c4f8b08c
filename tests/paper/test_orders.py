"""Orders in the continuous session: limit, market, 최유리/최우선, IOC/FOK, partial fills, revise, cancel."""

from __future__ import annotations

from support.paperkit import SESSION, out, rejected

from tools.market import InstrumentKind, price_limits


async def _book(wire, ticker="069500"):
    book = out(await wire.book(ticker))["output1"]
    asks = [(int(book[f"askp{i}"]), int(book[f"askp_rsqn{i}"])) for i in range(1, 11)]
    bids = [(int(book[f"bidp{i}"]), int(book[f"bidp_rsqn{i}"])) for i in range(1, 11)]
    return bids, asks


async def _order_row(wire, odno: str) -> dict:
    rows = out(await wire.orders("20261120", ODNO=odno))["output1"]
    assert len(rows) == 1, rows
    return rows[0]


async def test_marketable_limit_buy_fills_at_the_ask(h, wire):
    _, asks = await _book(wire)
    body = out(await wire.order("buy", "069500", 10, asks[0][0]))
    assert body["msg_cd"] == "40600000" and body["msg1"].strip() == "모의투자 매수주문이 완료 되었습니다."
    ack = body["output"]
    assert set(ack) == {"KRX_FWDG_ORD_ORGNO", "ODNO", "ORD_TMD"}
    assert len(ack["ODNO"]) == 10 and ack["KRX_FWDG_ORD_ORGNO"] == "00950" and ack["ORD_TMD"] == "100000"
    row = await _order_row(wire, ack["ODNO"])
    assert (row["tot_ccld_qty"], row["rmn_qty"], row["avg_prvs"]) == ("10", "0", str(asks[0][0]))
    held = {r["pdno"]: r for r in out(await wire.balance())["output1"]}["069500"]
    assert (held["hldg_qty"], held["thdt_buyqty"]) == ("110", "10")
    totals = out(await wire.balance())["output2"][0]
    amount = 10 * asks[0][0]
    fee = int(amount * 0.000147)
    assert int(totals["prvs_rcdl_excc_amt"]) == 10_000_000 - amount - fee
    assert int(totals["dnca_tot_amt"]) == 10_000_000
    assert int(totals["thdt_buy_amt"]) == amount and int(totals["thdt_tlex_amt"]) == fee


async def test_resting_limit_reserves_cash_and_can_be_cancelled(h, wire):
    bids, _ = await _book(wire)
    price = bids[4][0]
    before = int(out(await wire.buying_power("069500", price))["output"]["ord_psbl_cash"])
    ack = out(await wire.order("buy", "069500", 20, price))["output"]
    row = await _order_row(wire, ack["ODNO"])
    assert (row["ord_qty"], row["tot_ccld_qty"], row["rmn_qty"]) == ("20", "0", "20")
    after = int(out(await wire.buying_power("069500", price))["output"]["ord_psbl_cash"])
    assert before - after == 20 * (price + int(price * 0.000147) + 1)
    partial = out(await wire.cancel(ack["ODNO"], 5))
    assert partial["msg_cd"] == "40630000"
    assert (await _order_row(wire, ack["ODNO"]))["rmn_qty"] == "15"
    cancel = out(await wire.cancel(ack["ODNO"]))["output"]
    record = await _order_row(wire, cancel["ODNO"])
    assert (record["cncl_yn"], record["orgn_odno"], record["ord_qty"]) == ("Y", ack["ODNO"], "15")
    original = await _order_row(wire, ack["ODNO"])
    assert (original["rmn_qty"], original["cnc_cfrm_qty"]) == ("0", "20")
    assert int(out(await wire.buying_power("069500", price))["output"]["ord_psbl_cash"]) == before
    rejected(await wire.cancel(ack["ODNO"]), "40330000")


async def test_revise_to_a_marketable_price_fills(h, wire):
    bids, asks = await _book(wire)
    ack = out(await wire.order("buy", "069500", 8, bids[3][0]))["output"]
    revised = out(await wire.revise(ack["ODNO"], asks[0][0]))
    assert revised["msg_cd"] == "40620000"
    new = await _order_row(wire, revised["output"]["ODNO"])
    assert (new["orgn_odno"], new["tot_ccld_qty"], new["ord_unpr"]) == (ack["ODNO"], "8", str(asks[0][0]))
    old = await _order_row(wire, ack["ODNO"])
    assert (old["rmn_qty"], old["cnc_cfrm_qty"]) == ("0", "8")


async def test_market_order_walks_the_book(h):
    account = h.exchange.create_account(10_000_000_000)
    wire = await h.open_wire(account)
    _, asks = await _book(wire)
    quantity = asks[0][1] + asks[1][1] // 2
    ack = out(await wire.order("buy", "069500", quantity, 0, "01"))["output"]
    row = await _order_row(wire, ack["ODNO"])
    assert row["tot_ccld_qty"] == str(quantity) and row["ord_unpr"] == "0"
    expected = asks[0][0] * asks[0][1] + asks[1][0] * (quantity - asks[0][1])
    assert int(row["tot_ccld_amt"]) == expected
    fills = h.exchange.account_fills(account, int(ack["ODNO"]))
    assert [(f.price, f.quantity) for f in fills] == [(asks[0][0], asks[0][1]), (asks[1][0], quantity - asks[0][1])]


async def test_partial_fill_rests_the_remainder_and_fills_later(h):
    account = h.exchange.create_account(10_000_000_000)
    wire = await h.open_wire(account)
    _, asks = await _book(wire)
    top_price, top_qty = asks[0]
    ack = out(await wire.order("buy", "069500", top_qty + 500, top_price))["output"]
    row = await _order_row(wire, ack["ODNO"])
    assert (row["tot_ccld_qty"], row["rmn_qty"]) == (str(top_qty), "500")
    # The path trades through the price at some point of the day; the remainder then fills.
    path = h.exchange.market.path("069500", SESSION)
    assert path.range_between(path.open_time, path.continuous_end).low < top_price
    h.advance(330)
    row = await _order_row(wire, ack["ODNO"])
    assert int(row["tot_ccld_qty"]) + int(row["rmn_qty"]) == top_qty + 500
    assert int(row["tot_ccld_qty"]) > top_qty


async def test_ioc_and_fok(h):
    wire = await h.open_wire(h.exchange.create_account(10_000_000_000))
    _, asks = await _book(wire)
    ioc = out(await wire.order("buy", "069500", asks[0][1] + 100, asks[0][0], "11"))["output"]
    row = await _order_row(wire, ioc["ODNO"])
    assert (row["tot_ccld_qty"], row["rmn_qty"], row["cnc_cfrm_qty"]) == (str(asks[0][1]), "0", "100")
    _, asks = await _book(wire)
    fok = out(await wire.order("buy", "069500", asks[0][1] + 1, asks[0][0], "12"))["output"]
    row = await _order_row(wire, fok["ODNO"])
    assert (row["tot_ccld_qty"], row["rmn_qty"], row["cnc_cfrm_qty"]) == ("0", "0", str(asks[0][1] + 1))


async def test_best_counter_and_best_own_prices(h, wire):
    bids, asks = await _book(wire)
    counter = out(await wire.order("buy", "069500", 3, 0, "03"))["output"]
    row = await _order_row(wire, counter["ODNO"])
    assert (row["ord_unpr"], row["tot_ccld_qty"], row["ord_dvsn_name"]) == (str(asks[0][0]), "3", "최유리지정가")
    own = out(await wire.order("buy", "069500", 3, 0, "04"))["output"]
    row = await _order_row(wire, own["ODNO"])
    assert (row["ord_unpr"], row["rmn_qty"]) == (str(bids[0][0]), "3")


async def test_our_orders_trade_after_the_markets_own_quotes_at_a_price(h):
    seller_account = h.exchange.create_account(0, {"069500": 1_000})
    seller = await h.open_wire(seller_account)
    buyer = await h.open_wire(h.exchange.create_account(10_000_000_000))
    _, asks = await _book(seller)
    sell = out(await seller.order("sell", "069500", 40, asks[0][0]))["output"]
    assert (await _order_row(seller, sell["ODNO"]))["rmn_qty"] == "40"
    out(await buyer.order("buy", "069500", asks[0][1] + 25, asks[0][0]))
    row = await _order_row(seller, sell["ODNO"])
    assert (row["tot_ccld_qty"], row["rmn_qty"]) == ("25", "15")
    assert {r["pdno"]: r for r in out(await seller.balance())["output1"]}["069500"]["thdt_sll_qty"] == "25"


async def test_sells_are_limited_to_the_sellable_quantity(h, wire):
    _bids, asks = await _book(wire)
    out(await wire.order("sell", "069500", 60, asks[3][0]))
    held = {r["pdno"]: r for r in out(await wire.balance())["output1"]}["069500"]
    assert (held["hldg_qty"], held["ord_psbl_qty"]) == ("100", "40")
    body = rejected(await wire.order("sell", "069500", 41, asks[3][0]), "40240000")
    assert "40" in body["msg1"]
    rejected(await wire.order("sell", "229200", 1, 0, "01"), "40240000")  # never short


async def test_stock_sale_pays_tax_and_etf_sale_does_not(h):
    account = h.exchange.create_account(0, {"005930": 10, "069500": 10})
    wire = await h.open_wire(account)
    out(await wire.order("sell", "005930", 10, 0, "01"))
    out(await wire.order("sell", "069500", 10, 0, "01"))
    fills = {f.ticker: f for f in h.exchange.fills if f.account == account.number}
    stock, etf = fills["005930"], fills["069500"]
    assert stock.tax == int(stock.amount * 0.002) > 0 and etf.tax == 0
    totals = out(await wire.balance())["output2"][0]
    expected = stock.amount - stock.commission - stock.tax + etf.amount - etf.commission
    assert int(totals["prvs_rcdl_excc_amt"]) == expected
    assert int(totals["thdt_tlex_amt"]) == stock.commission + stock.tax + etf.commission


async def test_business_errors(h, wire):
    base = h.exchange.market.base_price("069500", SESSION)
    lower, upper = price_limits(base, InstrumentKind.ETF)
    rejected(await wire.order("buy", "069500", 10_000, upper), "40250000")  # insufficient cash
    rejected(await wire.order("buy", "069500", 1, upper - 2), "40080000")  # off the 5-won grid
    rejected(await wire.order("buy", "069500", 1, upper + 5), "40090000")  # beyond +30%
    rejected(await wire.order("buy", "069500", 1, lower - 5), "40090000")  # below −30%
    rejected(await wire.order("buy", "069500", 0, upper), "OPSQ2001")
    rejected(await wire.order("buy", "999999", 1, 1000), "40070000")
    rejected(await wire.order("buy", "069500\n", 1, upper), "40070000")  # never bought as 069500
    rejected(await wire.order("buy", "069500", 1, upper, "99"), "40100000")
    rejected(await wire.order("buy", "069500", 1, upper, "05"), "40100000")  # after-hours: not on paper
    rejected(await wire.order("sell", "069500", 1, upper, "11"), "40100000")  # paper: no IOC sells
    rejected(await wire.order("buy", "069500", 1, upper, EXCG_ID_DVSN_CD="NXT"), "40110000")


async def test_market_buy_reserves_at_the_upper_limit(h):
    base = h.exchange.market.base_price("069500", SESSION)
    _, upper = price_limits(base, InstrumentKind.ETF)
    wire = await h.open_wire(h.exchange.create_account(100 * base))
    power = out(await wire.buying_power("069500", 0, "01"))["output"]
    assert int(power["psbl_qty_calc_unpr"]) == upper
    assert int(power["nrcvb_buy_qty"]) == 100 * base // (upper + int(upper * 0.000147) + 1)
    rejected(await wire.order("buy", "069500", 95, 0, "01"), "40250000")
    out(await wire.order("buy", "069500", int(power["nrcvb_buy_qty"]), 0, "01"))

