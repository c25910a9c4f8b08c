"""Overseas account queries answered for domestic-only accounts: empty, in KIS's shapes.

The paper exchange trades KRX only, but general clients (python-kis) read the overseas balance
and order lists as part of "the whole account"; KIS answers those with empty lists.
"""

from __future__ import annotations

from paper.exchange import PaperExchange
from paper.routes.trading import query_ok
from paper.wire import CallContext, Endpoint, envelope

_TRADING = "/uapi/overseas-stock/v1/trading/"


def _both(real: str) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset({real}), frozenset({"V" + real[1:]})


PRESENT_BALANCE = Endpoint("overseas inquire-present-balance", *_both("CTRP6504R"))
BALANCE = Endpoint("overseas inquire-balance", *_both("TTTS3012R"))
FILLS = Endpoint("overseas inquire-ccnl", *_both("TTTS3035R"))
OPEN_ORDERS = Endpoint("overseas inquire-nccs", *_both("TTTS3018R"))

PATHS = {
    _TRADING + "inquire-present-balance": PRESENT_BALANCE,
    _TRADING + "inquire-balance": BALANCE,
    _TRADING + "inquire-ccnl": FILLS,
    _TRADING + "inquire-nccs": OPEN_ORDERS,
}

_ZERO_TOTALS = {"pchs_amt_smtl": "0", "evlu_amt_smtl": "0", "evlu_pfls_amt_smtl": "0", "dncl_amt": "0",
                "cma_evlu_amt": "0", "tot_dncl_amt": "0", "etc_mgna": "0", "wdrw_psbl_tot_amt": "0",
                "frcr_evlu_tota": "0", "evlu_erng_rt1": "0.00000000", "pchs_amt_smtl_amt": "0",
                "evlu_amt_smtl_amt": "0", "tot_evlu_pfls_amt": "0", "tot_asst_amt": "0", "frcr_use_psbl_amt": "0",
                "ustl_sll_amt_smtl": "0", "ustl_buy_amt_smtl": "0", "tot_frcr_cblc_smtl": "0",
                "tot_loan_amt": "0"}


def empty(endpoint: Endpoint):
    def handler(exchange: PaperExchange, ctx: CallContext) -> tuple[dict, str]:
        ok = query_ok(exchange.settings.profile, "D")
        context = {"ctx_area_fk200": "".ljust(200), "ctx_area_nk200": "".ljust(200)}
        if endpoint is PRESENT_BALANCE:
            return envelope(*ok, output1=[], output2=[], output3=dict(_ZERO_TOTALS)), "D"
        if endpoint is BALANCE:
            return envelope(*ok, **context, output1=[], output2=dict(_ZERO_TOTALS)), "D"
        return envelope(*ok, **context, output=[]), "D"

    return handler
