"""Account and order endpoints: balance, buying power, orders and fills, order-cash, revise/cancel."""

from __future__ import annotations

from typing import Any

from paper import errors
from paper.errors import PaperError
from paper.exchange import PaperExchange
from paper.ledger import Order, OrderStatus, Side
from paper.wire import CallContext, Endpoint, envelope, hms, num, parse_int, parse_ymd, ymd
from tools.market import OrderType, is_valid_ticker


def _tr(*ids: str) -> frozenset[str]:
    return frozenset(ids)


def _paper(ids: frozenset[str]) -> frozenset[str]:
    return frozenset("V" + i[1:] for i in ids)


_BALANCE = _tr("TTTC8434R")
_PSBL_ORDER = _tr("TTTC8908R")
_BUY = _tr("TTTC0012U", "TTTC0802U")
_SELL = _tr("TTTC0011U", "TTTC0801U")
_RVSECNCL = _tr("TTTC0013U", "TTTC0803U")
_CCLD = _tr("TTTC0081R", "CTSC9215R", "TTTC8001R", "CTSC9115R")

BALANCE = Endpoint("inquire-balance", _BALANCE, _paper(_BALANCE))
PSBL_ORDER = Endpoint("inquire-psbl-order", _PSBL_ORDER, _paper(_PSBL_ORDER))
ORDER_CASH = Endpoint("order-cash", _BUY | _SELL, _paper(_BUY | _SELL))
RVSECNCL = Endpoint("order-rvsecncl", _RVSECNCL, _paper(_RVSECNCL))
DAILY_CCLD = Endpoint("inquire-daily-ccld", _CCLD, _paper(_CCLD))
PSBL_RVSECNCL = Endpoint("inquire-psbl-rvsecncl", _tr("TTTC0084R", "TTTC8036R"), None)  # 모의투자 미지원


# --- paging (연속조회) ---------------------------------------------------------------------------

def _context(*parts: str) -> str:
    return ("^".join(parts) + "^").ljust(100)


def page(rows: list[Any], ctx: CallContext, size: int) -> tuple[list[Any], str, str, str]:
    """Slice one page; returns (rows, tr_cont header, ctx_area_fk100, ctx_area_nk100).

    The offset travels in NK100 so a client that copies the keys back (with or without the
    ``tr_cont: N`` header) gets the next page.
    """
    account = ctx.account
    nk = ctx.params.get("CTX_AREA_NK100").strip()
    offset = 0
    if nk:
        fields = nk.split("^")
        if len(fields) < 3 or fields[0] != account.cano or not fields[2].isdigit():
            raise PaperError(errors.BAD_INPUT, "CTX_AREA_NK100")
        offset = int(fields[2])
    chunk = rows[offset:offset + size]
    more = offset + size < len(rows)
    # "M" while more follows and "D" on the last page: KIS's own first pages say M (python-kis#20),
    # and some clients (mojito) only continue on M.
    tr_cont = "M" if more else "D"
    fk = _context(account.cano, account.product_code, "N", "N", "01", "01", "N")
    next_nk = _context(account.cano, account.product_code, str(offset + size)) if more else "".ljust(100)
    return chunk, tr_cont, fk, next_nk


def is_follow_up(ctx: CallContext) -> bool:
    return ctx.tr_cont == "N" or bool(ctx.params.get("CTX_AREA_NK100").strip())


def query_ok(profile: str, tr_cont: str, continued: bool = False) -> tuple[str, str]:
    if profile == "paper":
        return "20310000", "모의투자 조회가 완료되었습니다."
    if tr_cont in ("F", "M"):
        return "KIOK0490", "조회가 계속됩니다"
    if continued:
        return "KIOK0460", "조회 되었습니다. (마지막 자료)"
    return "KIOK0510", "조회가 완료되었습니다"


# --- inquire-balance ----------------------------------------------------------------------------

def inquire_balance(exchange: PaperExchange, ctx: CallContext) -> tuple[dict, str]:
    if ctx.params.get("INQR_DVSN", "01").strip() not in ("01", ""):
        raise PaperError(errors.INVALID_INQR_DVSN)  # KIS accepts only 01 since 2026-02-10
    account = ctx.account
    faults = exchange.settings.faults
    if faults.endless_balance_paging and (ctx.tr_cont == "N" or ctx.params.get("CTX_AREA_NK100").strip()):
        raise PaperError(errors.PAGING_CHANGED)
    view = exchange.holdings_view(account)
    rows = []
    for pos, quote, sellable in view:
        value = pos.quantity * quote.price
        profit = value - pos.purchase_amount
        rows.append({
            "pdno": pos.ticker, "prdt_name": quote.instrument.name, "trad_dvsn_name": "현금",
            "bfdy_buy_qty": num(pos.bought_yesterday), "bfdy_sll_qty": num(pos.sold_yesterday),
            "thdt_buyqty": num(pos.bought_today), "thdt_sll_qty": num(pos.sold_today),
            "hldg_qty": num(pos.quantity), "ord_psbl_qty": num(max(sellable, 0)),
            "pchs_avg_pric": num(pos.average_price, 4), "pchs_amt": num(pos.purchase_amount),
            "prpr": num(quote.price), "evlu_amt": num(value), "evlu_pfls_amt": num(profit),
            "evlu_pfls_rt": num(profit / pos.purchase_amount * 100 if pos.purchase_amount else 0.0, 2),
            "evlu_erng_rt": "0.00000000", "loan_dt": "", "loan_amt": "0", "stln_slng_chgs": "0", "expd_dt": "",
            "fltt_rt": num((quote.price - quote.base_price) / quote.base_price * 100, 8),
            "bfdy_cprs_icdc": num(quote.price - quote.base_price), "item_mgna_rt_name": "20%",
            "grta_rt_name": "", "sbst_pric": "0", "stck_loan_unpr": "0.0000",
        })
    securities = sum(pos.quantity * quote.price for pos, quote, _ in view)
    purchases = sum(pos.purchase_amount for pos, _, _ in view)
    today = exchange.clock.now().date()
    next_day = exchange.calendar.next_session(today)
    cash_d2 = account.cash_d2
    total = securities + cash_d2
    totals = {
        "dnca_tot_amt": num(account.deposit), "nxdy_excc_amt": num(account.cash_due_by(next_day)),
        "prvs_rcdl_excc_amt": num(cash_d2), "cma_evlu_amt": "0",
        "bfdy_buy_amt": num(account.yesterday.buy_amount), "thdt_buy_amt": num(account.today.buy_amount),
        "nxdy_auto_rdpt_amt": "0", "bfdy_sll_amt": num(account.yesterday.sell_amount),
        "thdt_sll_amt": num(account.today.sell_amount), "d2_auto_rdpt_amt": "0",
        "bfdy_tlex_amt": num(account.yesterday.costs), "thdt_tlex_amt": num(account.today.costs),
        "tot_loan_amt": "0", "scts_evlu_amt": num(securities), "tot_evlu_amt": num(total),
        "nass_amt": num(total), "fncg_gld_auto_rdpt_yn": "N", "pchs_amt_smtl_amt": num(purchases),
        "evlu_amt_smtl_amt": num(securities), "evlu_pfls_smtl_amt": num(securities - purchases),
        "tot_stln_slng_chgs": "0", "bfdy_tot_asst_evlu_amt": num(account.previous_total_value),
        "asst_icdc_amt": num(total - account.previous_total_value), "asst_icdc_erng_rt": "0.00000000",
    }
    chunk, tr_cont, fk, nk = page(rows, ctx, exchange.settings.balance_page_size)
    if faults.endless_balance_paging and len(rows) >= exchange.settings.balance_page_size:
        tr_cont = "M"  # KIS's quirk: claims more although this was the last page
    body = envelope(*query_ok(exchange.settings.profile, tr_cont, is_follow_up(ctx)), ctx_area_fk100=fk, ctx_area_nk100=nk,
                    output1=chunk, output2=[totals])
    return body, tr_cont


# --- inquire-psbl-order ---------------------------------------------------------------------------

def inquire_psbl_order(exchange: PaperExchange, ctx: CallContext) -> dict:
    ticker = ctx.params.get("PDNO")  # as sent: a ticker is exactly its six digits
    if ticker and not is_valid_ticker(ticker):
        raise PaperError(errors.UNKNOWN_TICKER, f"PDNO={ticker!r}")
    price = parse_int(ctx.params.get("ORD_UNPR"), "ORD_UNPR", allow_blank=True)
    order_type = _order_type(ctx.params.get("ORD_DVSN", "00") or "00")
    power = exchange.buying_power(ctx.account, ticker or None, price, order_type)
    output = {
        "ord_psbl_cash": num(power.cash), "ord_psbl_sbst": "0", "ruse_psbl_amt": num(power.reusable_sale_proceeds),
        "fund_rpch_chgs": "0", "psbl_qty_calc_unpr": num(power.price_used), "nrcvb_buy_amt": num(power.cash),
        "nrcvb_buy_qty": num(power.quantity), "max_buy_amt": num(power.cash), "max_buy_qty": num(power.quantity),
        "cma_evlu_amt": "0", "ovrs_re_use_amt_wcrc": "0", "ord_psbl_frcr_amt_wcrc": "0",
    }
    return envelope(*query_ok(exchange.settings.profile, ""), output=output)


# --- orders -------------------------------------------------------------------------------------

def _order_type(code: str) -> OrderType:
    try:
        return OrderType(code.strip())
    except ValueError:
        raise PaperError(errors.ORDER_TYPE, f"ORD_DVSN={code!r}") from None


def _check_exchange_id(exchange: PaperExchange, ctx: CallContext) -> None:
    venue = ctx.params.get("EXCG_ID_DVSN_CD", "KRX").strip().upper() or "KRX"
    allowed = ("KRX",) if exchange.settings.profile == "paper" else ("KRX", "SOR")
    if venue not in allowed:
        raise PaperError(errors.BAD_EXCHANGE, f"EXCG_ID_DVSN_CD={venue}")


def _order_ok(exchange: PaperExchange, action: str, side: Side) -> tuple[str, str]:
    if exchange.settings.profile == "real":
        return "APBK0013", "주문 전송 완료 되었습니다."
    if action == "cancel":
        return "40630000", "모의투자 취소주문이 완료 되었습니다."
    if action == "revise":
        return "40620000", "모의투자 정정주문이 완료 되었습니다."
    return "40600000", f"모의투자 {side.korean_name}주문이 완료 되었습니다."


def _ack(order: Order) -> dict[str, str]:
    return {"KRX_FWDG_ORD_ORGNO": order.org_no, "ODNO": f"{order.order_no:010d}", "ORD_TMD": hms(order.placed_at)}


def order_cash(exchange: PaperExchange, ctx: CallContext) -> tuple[dict, Order]:
    side = Side.SELL if ctx.tr_id[1:] in {i[1:] for i in _SELL} else Side.BUY
    ticker = ctx.params.get("PDNO")  # as sent: a ticker is exactly its six digits
    if not is_valid_ticker(ticker):
        raise PaperError(errors.UNKNOWN_TICKER, f"PDNO={ticker!r}")
    _check_exchange_id(exchange, ctx)
    sell_type = ctx.params.get("SLL_TYPE", "01").strip() or "01"
    if side is Side.SELL and sell_type != "01":
        raise PaperError(errors.ORDER_TYPE, f"SLL_TYPE={sell_type}: 일반매도(01)만 가능")
    order_type = _order_type(ctx.params.get("ORD_DVSN"))
    quantity = parse_int(ctx.params.get("ORD_QTY"), "ORD_QTY")
    price = parse_int(ctx.params.get("ORD_UNPR"), "ORD_UNPR", allow_blank=True)
    order = exchange.place_order(ctx.account, ticker, side, order_type, quantity, price)
    return envelope(*_order_ok(exchange, "new", side), output=_ack(order)), order


def order_rvsecncl(exchange: PaperExchange, ctx: CallContext) -> tuple[dict, Order]:
    _check_exchange_id(exchange, ctx)
    original = parse_int(ctx.params.get("ORGN_ODNO"), "ORGN_ODNO")
    action = ctx.params.get("RVSE_CNCL_DVSN_CD").strip()
    everything = ctx.params.get("QTY_ALL_ORD_YN", "N").strip().upper() == "Y"
    quantity = None if everything else parse_int(ctx.params.get("ORD_QTY"), "ORD_QTY")
    if quantity is not None and quantity <= 0:
        raise PaperError(errors.NOTHING_TO_REVISE)
    if action == "02":
        record = exchange.cancel_order(ctx.account, original, quantity)
        verb = "cancel"
    elif action == "01":
        order_type = _order_type(ctx.params.get("ORD_DVSN"))
        price = parse_int(ctx.params.get("ORD_UNPR"), "ORD_UNPR", allow_blank=True)
        record = exchange.revise_order(ctx.account, original, order_type, quantity, price)
        verb = "revise"
    else:
        raise PaperError(errors.BAD_INPUT, f"RVSE_CNCL_DVSN_CD={action!r}")
    return envelope(*_order_ok(exchange, verb, record.side), output=_ack(record)), record


# --- inquire-daily-ccld ---------------------------------------------------------------------------

def _ccld_row(exchange: PaperExchange, order: Order) -> dict[str, str]:
    fills = exchange.account_fills(exchange.accounts[order.account], order.order_no)
    last_fill = fills[-1].at if fills else None
    return {
        "ord_dt": ymd(order.day), "ord_gno_brno": order.org_no, "odno": f"{order.order_no:010d}",
        "orgn_odno": f"{order.original_order_no:010d}" if order.original_order_no else "",
        "ord_dvsn_name": order.order_type.korean_name, "sll_buy_dvsn_cd": order.side.value,
        "sll_buy_dvsn_cd_name": f"현금{order.side.korean_name}" if order.action == "new"
        else f"{order.side.korean_name}{'취소' if order.action == 'cancel' else '정정'}",
        "pdno": order.ticker, "prdt_name": order.name, "ord_qty": num(order.quantity), "ord_unpr": num(order.price),
        "ord_tmd": hms(order.placed_at), "tot_ccld_qty": num(order.filled_quantity),
        "avg_prvs": num(round(order.average_fill_price)), "cncl_yn": "Y" if order.action == "cancel" else "N",
        "tot_ccld_amt": num(order.filled_amount), "loan_dt": "", "ordr_empno": "OpenAPI",
        "ord_dvsn_cd": order.order_type.value,
        "cnc_cfrm_qty": num(order.cancelled_quantity if order.status is not OrderStatus.EXPIRED else 0),
        "rmn_qty": num(order.remaining), "rjct_qty": "0", "ccld_cndt_name": "없음",
        "infm_tmd": hms(last_fill) if last_fill else "", "ctac_tlno": "", "prdt_type_cd": "300",
        "excg_dvsn_cd": "02", "inqr_ip_addr": "", "cpbc_ordp_ord_rcit_dvsn_cd": "", "cpbc_ordp_infm_mthd_dvsn_cd": "",
        "rsvn_ord_end_dt": "", "excg_id_dvsn_Cd": "KRX", "stpm_cndt_pric": "0", "stpm_efct_occr_dtmd": "",
    }


def inquire_daily_ccld(exchange: PaperExchange, ctx: CallContext) -> tuple[dict, str]:
    p = ctx.params
    start = parse_ymd(p.get("INQR_STRT_DT"), "INQR_STRT_DT")
    end = parse_ymd(p.get("INQR_END_DT"), "INQR_END_DT")
    side = p.get("SLL_BUY_DVSN_CD", "00").strip() or "00"
    ticker = p.get("PDNO").strip()
    order_no = p.get("ODNO").strip()
    filled = p.get("CCLD_DVSN", "00").strip() or "00"
    if side not in ("00", "01", "02") or filled not in ("00", "01", "02") or start > end:
        raise PaperError(errors.BAD_INPUT, "SLL_BUY_DVSN_CD / CCLD_DVSN / 조회기간")
    orders = exchange.account_orders(ctx.account, start, end)
    orders = [o for o in orders
              if (side == "00" or o.side.value == side) and (not ticker or o.ticker == ticker)
              and (not order_no or o.order_no == parse_int(order_no, "ODNO"))
              and (filled == "00" or (filled == "01" and o.filled_quantity > 0)
                   or (filled == "02" and o.remaining > 0))]
    orders.sort(key=lambda o: o.order_no, reverse=(p.get("INQR_DVSN", "00").strip() or "00") == "00")
    rows = [_ccld_row(exchange, o) for o in orders]
    chunk, tr_cont, fk, nk = page(rows, ctx, exchange.settings.orders_page_size)
    fills = [f for o in orders for f in exchange.account_fills(ctx.account, o.order_no)]
    qty = sum(o.filled_quantity for o in orders)
    amount = sum(o.filled_amount for o in orders)
    totals = {"tot_ord_qty": num(sum(o.quantity for o in orders if o.action != "cancel")),
              "tot_ccld_qty": num(qty), "tot_ccld_amt": num(amount),
              "prsm_tlex_smtl": num(sum(f.commission + f.tax for f in fills)),
              "pchs_avg_pric": num(amount / qty if qty else 0, 4)}
    body = envelope(*query_ok(exchange.settings.profile, tr_cont, is_follow_up(ctx)), ctx_area_fk100=fk, ctx_area_nk100=nk,
                    output1=chunk, output2=totals)
    return body, tr_cont


def inquire_psbl_rvsecncl(exchange: PaperExchange, ctx: CallContext) -> tuple[dict, str]:
    today = exchange.clock.now().date()
    side = ctx.params.get("INQR_DVSN_2", "0").strip() or "0"
    wanted = {"0": None, "1": Side.SELL, "2": Side.BUY}.get(side)
    orders = [o for o in exchange.account_orders(ctx.account, today, today)
              if o.is_open and (wanted is None or o.side is wanted)]
    if (ctx.params.get("INQR_DVSN_1", "0").strip() or "0") == "1":
        orders.sort(key=lambda o: (o.ticker, o.order_no))
    rows = [{
        "ord_gno_brno": o.org_no, "odno": f"{o.order_no:010d}",
        "orgn_odno": f"{o.original_order_no:010d}" if o.original_order_no else "",
        "ord_dvsn_name": o.order_type.korean_name, "pdno": o.ticker, "prdt_name": o.name,
        "rvse_cncl_dvsn_name": "정정" if o.action == "revise" else "", "ord_qty": num(o.quantity),
        "ord_unpr": num(o.price), "ord_tmd": hms(o.placed_at), "tot_ccld_qty": num(o.filled_quantity),
        "tot_ccld_amt": num(o.filled_amount), "psbl_qty": num(o.remaining), "sll_buy_dvsn_cd": o.side.value,
        "ord_dvsn_cd": o.order_type.value, "mgco_aptm_odno": "", "excg_dvsn_cd": "02", "excg_id_dvsn_cd": "KRX",
        "excg_id_dvsn_name": "한국거래소", "stpm_cndt_pric": "0", "stpm_efct_occr_yn": "N",
    } for o in orders]
    chunk, tr_cont, fk, nk = page(rows, ctx, 50)
    return envelope(*query_ok("real", tr_cont, is_follow_up(ctx)), ctx_area_fk100=fk, ctx_area_nk100=nk, output=chunk), tr_cont

