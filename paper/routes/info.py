"""Quote endpoints some clients need beyond the core set: product info and today's minute bars."""

from __future__ import annotations

import datetime as dt

from paper import errors
from paper.errors import PaperError
from paper.exchange import PaperExchange
from paper.routes.quotations import OK, _change_fields, _ticker
from paper.wire import CallContext, Endpoint, envelope, hms, num, ymd
from tools.market import KST, InstrumentKind, is_valid_ticker

SEARCH_INFO = Endpoint("search-info", frozenset({"CTPF1604R"}), frozenset({"CTPF1604R"}))
MINUTE_CHART = Endpoint("inquire-time-itemchartprice", frozenset({"FHKST03010200"}), frozenset({"FHKST03010200"}))
MINUTE_ROWS = 30


def isin(ticker: str) -> str:
    """The KRX standard code (ISIN) of a common share or fund: KR7 + code + 00 + check digit."""
    body = f"KR7{ticker}00"
    digits = "".join(str(int(c, 36)) for c in body)  # letters as 10..35, as ISIN does
    total = 0
    for i, d in enumerate(reversed(digits)):  # Luhn from the right, doubling every other digit
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n // 10 + n % 10
    return body + str((10 - total % 10) % 10)


def search_info(exchange: PaperExchange, ctx: CallContext) -> dict:
    ticker = ctx.params.get("PDNO")  # as sent: a ticker is exactly its six digits
    if not is_valid_ticker(ticker):
        raise PaperError(errors.UNKNOWN_TICKER, f"PDNO={ticker!r}")
    instrument = exchange.instrument(ticker)
    kind = {InstrumentKind.ETF: "ETF", InstrumentKind.ETN: "ETN"}.get(instrument.kind, "주권")
    output = {
        "pdno": ticker, "prdt_type_cd": ctx.params.get("PRDT_TYPE_CD", "300") or "300", "prdt_name": instrument.name,
        "prdt_name120": instrument.name, "prdt_abrv_name": instrument.name, "prdt_eng_name": ticker,
        "prdt_eng_name120": ticker, "prdt_eng_abrv_name": ticker, "std_pdno": isin(ticker), "shtn_pdno": ticker,
        "prdt_sale_stat_cd": "", "prdt_risk_grad_cd": "", "prdt_clsf_cd": "", "prdt_clsf_name": kind,
        "sale_strt_dt": "", "sale_end_dt": "", "wrap_asst_type_cd": "", "ivst_prdt_type_cd": "",
        "ivst_prdt_type_cd_name": "", "frst_erlm_dt": "",
    }
    return envelope(*OK, output=output)


def inquire_time_itemchartprice(exchange: PaperExchange, ctx: CallContext) -> dict:
    """Up to 30 one-minute bars of today, newest first, ending at FID_INPUT_HOUR_1 (HHMMSS)."""
    ticker = _ticker(ctx)
    quote = exchange.quote(ticker)
    now = exchange.clock.now()
    day = quote.day
    open_at, close_at = exchange.calendar.session_bounds(day)
    hour = ctx.params.get("FID_INPUT_HOUR_1", "").strip() or hms(now)
    try:
        until = dt.datetime.combine(day, dt.datetime.strptime(hour, "%H%M%S").time(), KST)
    except ValueError:
        raise PaperError(errors.BAD_INPUT, f"FID_INPUT_HOUR_1={hour!r}") from None
    until = min(until, now, close_at)
    path = exchange.market.path(ticker, day)
    rows = []
    minute_end = until.replace(second=0, microsecond=0)
    while minute_end > open_at and len(rows) < MINUTE_ROWS:
        start = minute_end - dt.timedelta(minutes=1)
        span = path.range_between(start, minute_end)
        volume = path.volume_between(start, minute_end)
        close = path.last_price(minute_end)
        opening = path.last_price(start) if start > open_at else path.bar.open
        rows.append({"stck_bsop_date": ymd(day), "stck_cntg_hour": hms(minute_end), "stck_prpr": num(close),
                     "stck_oprc": num(opening), "stck_hgpr": num(max(span.high, opening)),
                     "stck_lwpr": num(min(span.low, opening)), "cntg_vol": num(volume),
                     "acml_tr_pbmn": num(path.cum_volume(minute_end) * close)})
        minute_end = start
    summary = {**_change_fields(quote), "stck_prdy_clpr": num(quote.base_price), "acml_vol": num(quote.volume),
               "acml_tr_pbmn": num(quote.traded_value), "hts_kor_isnm": quote.instrument.name,
               "stck_prpr": num(quote.price)}
    return envelope(*OK, output1=summary, output2=rows)
