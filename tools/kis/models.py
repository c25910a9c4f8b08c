"""Typed results of the KIS client. Korean wire names stop here: ``from_wire`` converts them.

KRW amounts and prices are ``int``; rates are ``float``. Every model is frozen and forbids
unknown fields, so a change in what KIS sends surfaces here rather than deep inside Rebal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.market import OrderType

Side = Literal["buy", "sell"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _int(value: Any) -> int:
    text = str(value or "0").strip()
    return int(float(text)) if text else 0


def _float(value: Any) -> float:
    text = str(value or "0").strip()
    return float(text) if text else 0.0


class BookLevel(_Model):
    price: int
    quantity: int


class Quote(_Model):
    ticker: str
    price: int
    base_price: int  # 기준가, normally the previous close
    change: int
    change_rate: float  # %
    open: int
    high: int
    low: int
    volume: int
    traded_value: int
    upper_limit: int
    lower_limit: int
    tick: int

    @classmethod
    def from_wire(cls, ticker: str, o: dict[str, Any]) -> Quote:
        return cls(ticker=o.get("stck_shrn_iscd") or ticker, price=_int(o["stck_prpr"]),
                   base_price=_int(o["stck_sdpr"]), change=_int(o["prdy_vrss"]), change_rate=_float(o["prdy_ctrt"]),
                   open=_int(o["stck_oprc"]), high=_int(o["stck_hgpr"]), low=_int(o["stck_lwpr"]),
                   volume=_int(o["acml_vol"]), traded_value=_int(o["acml_tr_pbmn"]),
                   upper_limit=_int(o["stck_mxpr"]), lower_limit=_int(o["stck_llam"]), tick=_int(o["aspr_unit"]))


class OrderBook(_Model):
    ticker: str
    asks: tuple[BookLevel, ...]  # best (lowest) first
    bids: tuple[BookLevel, ...]  # best (highest) first
    quoted_at: str  # HHMMSS
    price: int = 0  # last price (output2), 0 when KIS does not send it
    base_price: int = 0  # 기준가 (output2)

    @classmethod
    def from_wire(cls, ticker: str, o: dict[str, Any], expected: dict[str, Any] | None = None) -> OrderBook:
        def side(price_key: str, qty_key: str) -> tuple[BookLevel, ...]:
            levels = (BookLevel(price=_int(o.get(f"{price_key}{i}")), quantity=_int(o.get(f"{qty_key}{i}")))
                      for i in range(1, 11))
            return tuple(level for level in levels if level.price > 0)

        expected = expected or {}
        return cls(ticker=ticker, asks=side("askp", "askp_rsqn"), bids=side("bidp", "bidp_rsqn"),
                   quoted_at=str(o.get("aspr_acpt_hour", "")), price=_int(expected.get("stck_prpr")),
                   base_price=_int(expected.get("stck_sdpr")))

    @property
    def best_ask(self) -> int | None:
        return self.asks[0].price if self.asks else None

    @property
    def best_bid(self) -> int | None:
        return self.bids[0].price if self.bids else None


class ProductInfo(_Model):
    """상품기본조회 (search-info): the product master's entry for a code. An entry without a name
    and a standard code (ISIN) is no product: KIS answers some unknown codes that way."""

    ticker: str
    name: str
    standard_code: str  # std_pdno, the ISIN
    kind: str  # prdt_clsf_name as KIS writes it (주권, ETF, ETN, …)

    @classmethod
    def from_wire(cls, ticker: str, o: dict[str, Any]) -> ProductInfo:
        name = str(o.get("prdt_abrv_name") or o.get("prdt_name") or "").strip()
        return cls(ticker=str(o.get("shtn_pdno") or o.get("pdno") or ticker).strip(), name=name,
                   standard_code=str(o.get("std_pdno") or "").strip(), kind=str(o.get("prdt_clsf_name") or "").strip())

    @property
    def exists(self) -> bool:
        return bool(self.name or self.standard_code)


class Holding(_Model):
    ticker: str
    name: str
    quantity: int
    sellable_quantity: int
    average_price: float
    purchase_amount: int
    price: int
    value: int
    profit: int
    bought_today: int
    sold_today: int

    @classmethod
    def from_wire(cls, o: dict[str, Any]) -> Holding:
        return cls(ticker=o["pdno"], name=o.get("prdt_name", ""), quantity=_int(o["hldg_qty"]),
                   sellable_quantity=_int(o["ord_psbl_qty"]), average_price=_float(o["pchs_avg_pric"]),
                   purchase_amount=_int(o["pchs_amt"]), price=_int(o["prpr"]), value=_int(o["evlu_amt"]),
                   profit=_int(o["evlu_pfls_amt"]), bought_today=_int(o.get("thdt_buyqty")),
                   sold_today=_int(o.get("thdt_sll_qty")))


class AccountSummary(_Model):
    cash_d0: int  # 예수금 (settled)
    cash_d1: int
    cash_d2: int  # what the cash will be once today's trades settle
    securities_value: int
    total_value: int  # securities + D+2 cash
    purchase_amount: int
    bought_today: int
    sold_today: int
    costs_today: int  # commission and tax

    @classmethod
    def from_wire(cls, o: dict[str, Any]) -> AccountSummary:
        return cls(cash_d0=_int(o["dnca_tot_amt"]), cash_d1=_int(o["nxdy_excc_amt"]),
                   cash_d2=_int(o["prvs_rcdl_excc_amt"]), securities_value=_int(o["scts_evlu_amt"]),
                   total_value=_int(o["tot_evlu_amt"]), purchase_amount=_int(o.get("pchs_amt_smtl_amt")),
                   bought_today=_int(o.get("thdt_buy_amt")), sold_today=_int(o.get("thdt_sll_amt")),
                   costs_today=_int(o.get("thdt_tlex_amt")))


class Balance(_Model):
    holdings: tuple[Holding, ...]
    summary: AccountSummary
    pages: int

    def holding(self, ticker: str) -> Holding | None:
        return next((h for h in self.holdings if h.ticker == ticker), None)


class BuyingPower(_Model):
    cash: int  # orderable cash without credit (미수 없는 매수금액)
    quantity: int  # whole shares affordable at ``price_used``
    price_used: int
    reusable_sale_proceeds: int

    @classmethod
    def from_wire(cls, o: dict[str, Any]) -> BuyingPower:
        return cls(cash=_int(o["nrcvb_buy_amt"]), quantity=_int(o["nrcvb_buy_qty"]),
                   price_used=_int(o["psbl_qty_calc_unpr"]), reusable_sale_proceeds=_int(o.get("ruse_psbl_amt")))


class OrderRequest(_Model):
    """What Rebal asked for: kept with every order error so nothing is re-sent blindly."""

    action: Literal["new", "revise", "cancel"] = "new"
    side: Side | None = None
    ticker: str | None = None
    quantity: int | None = Field(None, ge=0)  # None on revise/cancel = all remaining
    order_type: OrderType = OrderType.LIMIT
    price: int = 0
    original_order_no: str | None = None
    sent_at: dt.datetime | None = None


class OrderAck(_Model):
    order_no: str  # ODNO, 10 digits
    branch: str  # KRX_FWDG_ORD_ORGNO, needed to revise or cancel
    time: str  # HHMMSS
    message: str
    request: OrderRequest

    @classmethod
    def from_wire(cls, o: dict[str, Any], message: str, request: OrderRequest) -> OrderAck:
        get = {k.upper(): v for k, v in o.items()}  # KIS sends these upper case, samples read lower
        return cls(order_no=str(get["ODNO"]), branch=str(get.get("KRX_FWDG_ORD_ORGNO", "")),
                   time=str(get.get("ORD_TMD", "")), message=message.strip(), request=request)


class OrderRecord(_Model):
    """One row of inquire-daily-ccld: an order (or a revise/cancel record) and its fills."""

    order_no: str
    original_order_no: str | None
    branch: str
    date: dt.date
    time: str
    ticker: str
    name: str
    side: Side
    order_type: str  # ORD_DVSN code
    quantity: int
    price: int
    filled_quantity: int
    filled_amount: int
    average_fill_price: float
    remaining_quantity: int
    cancelled_quantity: int
    is_cancel_record: bool

    @classmethod
    def from_wire(cls, o: dict[str, Any]) -> OrderRecord:
        return cls(order_no=o["odno"], original_order_no=o.get("orgn_odno") or None, branch=o.get("ord_gno_brno", ""),
                   date=dt.datetime.strptime(o["ord_dt"], "%Y%m%d").date(), time=o.get("ord_tmd", ""),
                   ticker=o["pdno"], name=o.get("prdt_name", ""),
                   side="sell" if o["sll_buy_dvsn_cd"] == "01" else "buy", order_type=o.get("ord_dvsn_cd", ""),
                   quantity=_int(o["ord_qty"]), price=_int(o["ord_unpr"]), filled_quantity=_int(o["tot_ccld_qty"]),
                   filled_amount=_int(o["tot_ccld_amt"]), average_fill_price=_float(o.get("avg_prvs")),
                   remaining_quantity=_int(o["rmn_qty"]), cancelled_quantity=_int(o.get("cnc_cfrm_qty")),
                   is_cancel_record=o.get("cncl_yn") == "Y")

    @property
    def is_open(self) -> bool:
        return self.remaining_quantity > 0 and not self.is_cancel_record
