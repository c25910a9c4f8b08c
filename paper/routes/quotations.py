"""Quote endpoints: inquire-price, the 10-level book, period charts and daily prices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import groupby

from paper import errors
from paper.errors import PaperError
from paper.exchange import PaperExchange, Quote
from paper.wire import CallContext, Endpoint, envelope, hms, num, parse_ymd, ymd
from tools.market import Phase, is_valid_ticker
from tools.prices import DailyBar

QUOTE_TR = frozenset({"FHKST01010100"})
PRICE = Endpoint("inquire-price", QUOTE_TR, QUOTE_TR)
BOOK = Endpoint("inquire-asking-price-exp-ccn", frozenset({"FHKST01010200"}), frozenset({"FHKST01010200"}))
CHART = Endpoint("inquire-daily-itemchartprice", frozenset({"FHKST03010100"}), frozenset({"FHKST03010100"}))
DAILY = Endpoint("inquire-daily-price", frozenset({"FHKST01010400"}), frozenset({"FHKST01010400"}))

OK = ("MCA00000", "정상처리 되었습니다.")
CHART_MAX_ROWS = 100
DAILY_ROWS = 30


def _ticker(ctx: CallContext) -> str:
    market = ctx.params.get("FID_COND_MRKT_DIV_CODE", "J").strip().upper() or "J"
    if market not in ("J", "UN", "NX"):
        raise PaperError(errors.BAD_INPUT, f"FID_COND_MRKT_DIV_CODE={market}")
    ticker = ctx.params.get("FID_INPUT_ISCD")  # as sent, not stripped
    if not is_valid_ticker(ticker):
        raise PaperError(errors.UNKNOWN_TICKER, f"FID_INPUT_ISCD={ticker!r}")
    return ticker


def _sign(change: int, price: int, quote: Quote) -> str:
    """1 upper limit, 2 up, 3 flat, 4 lower limit, 5 down."""
    if change > 0:
        return "1" if price >= quote.upper_limit else "2"
    if change < 0:
        return "4" if price <= quote.lower_limit else "5"
    return "3"


def _change_fields(quote: Quote) -> dict[str, str]:
    change = quote.price - quote.base_price
    rate = change / quote.base_price * 100 if quote.base_price else 0.0
    return {"prdy_vrss": num(change), "prdy_vrss_sign": _sign(change, quote.price, quote), "prdy_ctrt": num(rate, 2)}


def inquire_price(exchange: PaperExchange, ctx: CallContext) -> dict:
    quote = exchange.quote(_ticker(ctx))
    inst = quote.instrument
    year_high, year_low = exchange.year_range(inst.ticker, quote.day)
    highs = [year_high] + ([quote.high] if quote.high else [])
    lows = [p for p in (year_low, quote.low) if p]
    output = {
        "iscd_stat_cls_code": "55", "marg_rate": "20.00", "rprs_mrkt_kor_name": inst.market,
        "bstp_kor_isnm": "ETF" if inst.kind.value == "etf" else "일반", "temp_stop_yn": "N",
        "oprc_rang_cont_yn": "N", "clpr_rang_cont_yn": "N", "crdt_able_yn": "Y", "grmn_rate_cls_code": "40",
        "elw_pblc_yn": "N", "stck_prpr": num(quote.price), **_change_fields(quote),
        "acml_tr_pbmn": num(quote.traded_value), "acml_vol": num(quote.volume),
        "prdy_vrss_vol_rate": "0.00", "stck_oprc": num(quote.open), "stck_hgpr": num(quote.high),
        "stck_lwpr": num(quote.low), "stck_mxpr": num(quote.upper_limit), "stck_llam": num(quote.lower_limit),
        "stck_sdpr": num(quote.base_price), "wghn_avrg_stck_prc": num(quote.price, 2),
        "hts_frgn_ehrt": "0.00", "frgn_ntby_qty": "0", "pgtr_ntby_qty": "0", "pvt_scnd_dmrs_prc": "0",
        "pvt_frst_dmrs_prc": "0", "pvt_pont_val": "0", "pvt_frst_dmsp_prc": "0", "pvt_scnd_dmsp_prc": "0",
        "dmrs_val": "0", "dmsp_val": "0", "cpfn": "0", "rstc_wdth_prc": num(quote.upper_limit - quote.base_price),
        "stck_fcam": "0", "stck_sspr": num(quote.price), "aspr_unit": num(quote.tick), "hts_deal_qty_unit_val": "1",
        "lstn_stcn": "0", "hts_avls": "0", "per": "0.00", "pbr": "0.00", "stac_month": "12", "vol_tnrt": "0.00",
        "eps": "0.00", "bps": "0.00", "d250_hgpr": num(max(highs, default=0)), "d250_lwpr": num(min(lows, default=0)),
        "w52_hgpr": num(max(highs, default=0)), "w52_lwpr": num(min(lows, default=0)),
        "stck_dryy_hgpr": num(max(highs, default=0)), "stck_dryy_lwpr": num(min(lows, default=0)),
        "frgn_hldn_qty": "0", "vi_cls_code": "N", "ovtm_vi_cls_code": "N", "last_ssts_cntg_qty": "0",
        "invt_caful_yn": "N", "mrkt_warn_cls_code": "00", "short_over_yn": "N", "sltr_yn": "N",
        "mang_issu_cls_code": "N", "stck_shrn_iscd": inst.ticker,
    }
    return envelope(*OK, output=output)


def _market_status(phase: Phase) -> str:
    """new_mkop_cls_code: first digit 1 before, 2 during, 3 after the session."""
    if phase in (Phase.PRE_OPEN, Phase.OPENING_AUCTION):
        return "10"
    if phase in (Phase.CONTINUOUS, Phase.CLOSING_AUCTION):
        return "20"
    return "30"


def inquire_asking_price(exchange: PaperExchange, ctx: CallContext) -> dict:
    quote, bids, asks = exchange.book(_ticker(ctx))
    now = exchange.clock.now()
    book: dict[str, str] = {"aspr_acpt_hour": hms(now)}
    for i in range(10):
        ask = asks[i] if i < len(asks) else (0, 0)
        bid = bids[i] if i < len(bids) else (0, 0)
        book[f"askp{i + 1}"], book[f"bidp{i + 1}"] = num(ask[0]), num(bid[0])
        book[f"askp_rsqn{i + 1}"], book[f"bidp_rsqn{i + 1}"] = num(ask[1]), num(bid[1])
        book[f"askp_rsqn_icdc{i + 1}"] = book[f"bidp_rsqn_icdc{i + 1}"] = "0"
    book.update({
        "total_askp_rsqn": num(sum(q for _, q in asks)), "total_bidp_rsqn": num(sum(q for _, q in bids)),
        "total_askp_rsqn_icdc": "0", "total_bidp_rsqn_icdc": "0", "ovtm_total_askp_icdc": "0",
        "ovtm_total_bidp_icdc": "0", "ovtm_total_askp_rsqn": "0", "ovtm_total_bidp_rsqn": "0",
        "ntby_aspr_rsqn": num(sum(q for _, q in bids) - sum(q for _, q in asks)),
        "new_mkop_cls_code": _market_status(quote.phase),
    })
    auction = quote.phase in (Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION)
    expected = {
        "antc_mkop_cls_code": "311" if auction else "112", "stck_prpr": num(quote.price),
        "stck_oprc": num(quote.open), "stck_hgpr": num(quote.high), "stck_lwpr": num(quote.low),
        "stck_sdpr": num(quote.base_price), "antc_cnpr": num(quote.price if auction else 0),
        "antc_cntg_vrss_sign": "3", "antc_cntg_vrss": "0", "antc_cntg_prdy_ctrt": "0.00", "antc_vol": "0",
        "stck_shrn_iscd": quote.instrument.ticker, "vi_cls_code": "N",
    }
    return envelope(*OK, output1=book, output2=expected)


def _period_key(period: str) -> Callable[[DailyBar], object]:
    if period == "W":
        return lambda b: b.date.isocalendar()[:2]
    if period == "M":
        return lambda b: (b.date.year, b.date.month)
    if period == "Y":
        return lambda b: b.date.year
    return lambda b: b.date


def aggregate(bars: list[DailyBar], period: str) -> list[DailyBar]:
    """Daily bars into weekly/monthly/yearly ones (dated by their last session), ascending."""
    if period == "D":
        return bars
    out = []
    for _, group in groupby(bars, key=_period_key(period)):
        g = list(group)
        out.append(DailyBar(date=g[-1].date, open=g[0].open, high=max(b.high for b in g),
                            low=min(b.low for b in g), close=g[-1].close, volume=sum(b.volume for b in g)))
    return out


def _bar_row(bar: DailyBar, previous_close: int | None) -> dict[str, str]:
    change = bar.close - previous_close if previous_close else 0
    sign = "2" if change > 0 else "5" if change < 0 else "3"
    return {
        "stck_bsop_date": ymd(bar.date), "stck_clpr": num(bar.close), "stck_oprc": num(bar.open),
        "stck_hgpr": num(bar.high), "stck_lwpr": num(bar.low), "acml_vol": num(bar.volume),
        "acml_tr_pbmn": num(bar.volume * bar.close), "flng_cls_code": "00", "prtt_rate": "0.00",
        "mod_yn": "N", "prdy_vrss_sign": sign, "prdy_vrss": num(change), "revl_issu_reas": "",
    }


def inquire_daily_itemchartprice(exchange: PaperExchange, ctx: CallContext) -> dict:
    ticker = _ticker(ctx)
    start = parse_ymd(ctx.params.get("FID_INPUT_DATE_1"), "FID_INPUT_DATE_1")
    end = parse_ymd(ctx.params.get("FID_INPUT_DATE_2"), "FID_INPUT_DATE_2")
    period = ctx.params.get("FID_PERIOD_DIV_CODE", "D").strip().upper() or "D"
    if period not in ("D", "W", "M", "Y") or start > end:
        raise PaperError(errors.BAD_INPUT, "FID_PERIOD_DIV_CODE / 조회기간")
    # One extra day of history gives the first row its change versus the previous close.
    lookback = {"D": 7, "W": 14, "M": 62, "Y": 400}[period]
    try:
        bars = aggregate(exchange.daily_bars(ticker, start - dt.timedelta(days=lookback), end), period)
    except KeyError:
        bars = []
    rows = []
    for i in range(len(bars) - 1, -1, -1):  # newest first, as KIS sends them
        if bars[i].date < start or len(rows) == CHART_MAX_ROWS:
            break
        rows.append(_bar_row(bars[i], bars[i - 1].close if i > 0 else None))
    quote = exchange.quote(ticker)
    summary = {
        **_change_fields(quote), "stck_prdy_clpr": num(quote.base_price), "acml_vol": num(quote.volume),
        "acml_tr_pbmn": num(quote.traded_value), "hts_kor_isnm": quote.instrument.name,
        "stck_prpr": num(quote.price), "stck_shrn_iscd": ticker, "prdy_vol": "0", "stck_mxpr": num(quote.upper_limit),
        "stck_llam": num(quote.lower_limit), "stck_oprc": num(quote.open), "stck_hgpr": num(quote.high),
        "stck_lwpr": num(quote.low), "stck_prdy_oprc": "0", "stck_prdy_hgpr": "0", "stck_prdy_lwpr": "0",
        "askp": "0", "bidp": "0", "prdy_vrss_vol": "0", "vol_tnrt": "0.00", "stck_fcam": "0", "lstn_stcn": "0",
        "cpfn": "0", "hts_avls": "0", "per": "0.00", "eps": "0.00", "pbr": "0.00", "itewhol_loan_rmnd_ratem": "0.00",
    }
    return envelope(*OK, output1=summary, output2=rows)


def inquire_daily_price(exchange: PaperExchange, ctx: CallContext) -> dict:
    ticker = _ticker(ctx)
    period = ctx.params.get("FID_PERIOD_DIV_CODE", "D").strip().upper() or "D"
    if period not in ("D", "W", "M"):
        raise PaperError(errors.BAD_INPUT, f"FID_PERIOD_DIV_CODE={period}")
    today = exchange.clock.now().date()
    span = {"D": 60, "W": 250, "M": 1000}[period]
    bars = aggregate(exchange.daily_bars(ticker, today - dt.timedelta(days=span), today), period)
    rows = []
    for i in range(len(bars) - 1, max(len(bars) - 1 - DAILY_ROWS, -1), -1):
        bar, prev = bars[i], bars[i - 1].close if i > 0 else None
        change = bar.close - prev if prev else 0
        rows.append({
            "stck_bsop_date": ymd(bar.date), "stck_oprc": num(bar.open), "stck_hgpr": num(bar.high),
            "stck_lwpr": num(bar.low), "stck_clpr": num(bar.close), "acml_vol": num(bar.volume),
            "prdy_vrss_vol_rate": "0.00", "prdy_vrss": num(change),
            "prdy_vrss_sign": "2" if change > 0 else "5" if change < 0 else "3",
            "prdy_ctrt": num(change / prev * 100 if prev else 0.0, 2), "hts_frgn_ehrt": "0.00",
            "frgn_ntby_qty": "0", "flng_cls_code": "00", "acml_prtt_rate": "0.00",
        })
    return envelope(*OK, output=rows)
