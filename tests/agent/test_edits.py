"""A person's edits are recomputed, never patched: the edited plan is measured from scratch, judged
by the guardrails on its own numbers, keeps its trade ids, and edits naming nothing are refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rich.console import Console
from support.runkit import ScriptedApprover, edit, exchange_orders, make_config, reject, runner

from agent.approval import Edit, EditError, check_edits
from agent.nodes.compute_trades import netting_options
from agent.review.terminal import TerminalApprover
from agent.state import RunState
from tools.netting.evaluate import evaluate_trades, signed_quantities
from tools.netting.models import NettingResult


def trade_of(request: dict, ticker: str | None = None, side: str | None = None) -> dict:
    return next(t for t in request["trades"] if (ticker is None or t["ticker"] == ticker)
                and (side is None or t["side"] == side))


def failures(request: dict) -> dict[str, dict]:
    return {f["rule_id"]: f for f in request["failures"]}


def weight_rule(state: dict) -> dict:
    return next(r for r in state["guardrails"]["results"] if r["rule_id"] == "weight_tolerance")


class Recorder(ScriptedApprover):
    """Also keeps the state each request was shown with."""

    def __init__(self, *steps) -> None:
        super().__init__(*steps)
        self.states: list[dict] = []

    def __call__(self, request: dict, state: dict):
        self.states.append(state)
        return super().__call__(request, state)


def edit_quantity(ticker: str, side: str, quantity: int):
    def answer(request: dict, state: dict):
        trade = trade_of(request, ticker, side)
        return edit(Edit(kind="quantity", trade_id=trade["trade_id"], quantity=quantity))(request, state)

    return answer


def test_a_quantity_edit_is_recomputed_from_scratch_and_can_fail_weight_tolerance(tmp_path):
    # The case: the 069500 sale of 41 edited to 30 leaves the account ~1.8 pp off its target.
    approver = Recorder(edit_quantity("069500", "sell", 30), reject)
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        assert exchange_orders(r) == []
        config = r.config
    first, second = approver.requests
    shown, edited = approver.states
    assert trade_of(first, "069500", "sell")["quantity"] == 41 and first["guardrails_passed"]

    # The state after the edit equals a from-scratch evaluation of the edited quantities.
    state = RunState.model_validate(edited)
    netting = state.netting
    assert netting is not None and state.targets is not None
    quantities = signed_quantities(NettingResult.model_validate(shown["netting"])) | {"069500": -30}
    expected = evaluate_trades(state.targets.targets, state.snapshot,
                               netting_options(SimpleNamespace(config=config), state.edits), quantities)
    for field in ("weights_after", "quantities_after", "cash_after", "equity_after", "commission", "tax",
                  "turnover", "error", "lower_bound", "max_deviation", "objective", "effective_targets"):
        assert getattr(netting, field) == getattr(expected, field), field
    assert [t.model_dump(exclude={"reason"}) for t in netting.trades] == \
        [t.model_dump(exclude={"reason"}) for t in expected.trades]
    sale = trade_of(second, "069500", "sell")
    assert sale["quantity"] == 30 and sale["notional"] == 30 * sale["reference_price"]
    assert "quantity set to 30 by the person" in sale["reason"]
    assert netting.cash_after < NettingResult.model_validate(shown["netting"]).cash_after
    assert netting.weights_after["069500"] - netting.target_weights["069500"] > 0.015

    # ... so the guardrail judges the edited plan, and fails it.
    assert not second["guardrails_passed"] and "weight_tolerance" in failures(second)
    assert "069500" in weight_rule(edited)["figures"]["outside"]
    assert result.outcome == "rejected"


def test_a_buy_edited_to_one_share_fails_weight_tolerance(tmp_path):
    def largest_buy(request, state):
        buy = max((t for t in request["trades"] if t["side"] == "buy"), key=lambda t: t["quantity"])
        assert buy["quantity"] > 50
        return edit(Edit(kind="quantity", trade_id=buy["trade_id"], quantity=1))(request, state)

    approver = Recorder(largest_buy, reject)
    with runner(make_config(tmp_path)) as r:
        r.start(approver)
    first, second = approver.requests
    buy = max((t for t in first["trades"] if t["side"] == "buy"), key=lambda t: t["quantity"])
    after = trade_of(second, buy["ticker"], "buy")
    assert (after["trade_id"], after["quantity"]) == (buy["trade_id"], 1)
    assert after["weight_after"] < after["target_weight"] - 0.03 < buy["weight_after"]  # stale before the fix
    assert not second["guardrails_passed"] and buy["ticker"] in weight_rule(approver.states[1])["figures"]["outside"]


def test_a_small_edit_within_the_tolerance_still_passes(tmp_path):
    approver = Recorder(edit_quantity("069500", "sell", 40), reject)
    with runner(make_config(tmp_path)) as r:
        r.start(approver)
    second = approver.requests[1]
    assert trade_of(second, "069500", "sell")["quantity"] == 40 and second["guardrails_passed"]


def test_exclude_then_type_in_one_answer_applies_both_and_keeps_the_ids(tmp_path):
    chosen = {}

    def exclude_then_type(request, state):
        sell = trade_of(request, "360750", "sell")
        buy = [t for t in request["trades"] if t["side"] == "buy"][-1]  # numbered after the excluded sale
        assert sell["trade_id"] < buy["trade_id"]
        chosen.update(buy)
        return edit(Edit(kind="exclude", ticker="360750"),
                    Edit(kind="order_type", trade_id=buy["trade_id"], order_type="03"))(request, state)

    approver = Recorder(exclude_then_type, reject)
    with runner(make_config(tmp_path)) as r:
        r.start(approver)
    first, second = approver.requests
    assert "360750" not in {t["ticker"] for t in second["trades"]}
    ids_before = {(t["ticker"], t["side"]): t["trade_id"] for t in first["trades"]}
    for trade in second["trades"]:  # no renumbering: same ticker and side, same id
        assert trade["trade_id"] == ids_before.get((trade["ticker"], trade["side"]), trade["trade_id"])
    assert trade_of(second, chosen["ticker"], "buy")["trade_id"] == chosen["trade_id"]
    orders = [o for o in second["orders"] if o["trade_id"] == chosen["trade_id"]]
    assert orders and {o["order_type"] for o in orders} == {"03"}
    assert not second["problem"]


def test_edits_naming_no_trade_or_ticker_are_refused(tmp_path):
    approver = Recorder(edit(Edit(kind="order_type", trade_id="T09-999999-BUY", order_type="03")),
                        edit(Edit(kind="exclude", ticker="005930")),
                        edit(Edit(kind="quantity", trade_id="T01-069500-SELL", quantity=10_000)),
                        reject)
    with runner(make_config(tmp_path)) as r:
        result = r.start(approver)
        assert exchange_orders(r) == []
    first, no_trade, no_ticker, too_many = approver.requests
    assert "edit refused: no trade 'T09-999999-BUY' in this plan" in no_trade["problem"]
    assert "edit refused: cannot exclude '005930': it is not traded in this plan" in no_ticker["problem"]
    assert "edit refused: T01-069500-SELL: at most" in too_many["problem"]
    # Nothing was applied: the plan is the one first shown.
    assert first["plan_hash"] == no_trade["plan_hash"] == no_ticker["plan_hash"] == too_many["plan_hash"]
    assert approver.states[-1]["edits"] == [] and result.outcome == "rejected"


TRADES = [{"trade_id": "T01-069500-SELL", "ticker": "069500", "side": "sell", "quantity": 41},
          {"trade_id": "T02-152380-BUY", "ticker": "152380", "side": "buy", "quantity": 17}]


def test_check_edits_resolves_and_refuses() -> None:
    checked = check_edits([Edit(kind="quantity", trade_id="T01-069500-SELL", quantity=30),
                           Edit(kind="order_type", trade_id="T02-152380-BUY", order_type="03")], TRADES, {"069500": 50})
    assert [(e.ticker, e.side) for e in checked] == [("069500", "sell"), ("152380", "buy")]
    cases = [
        ([Edit(kind="quantity", trade_id="T03-069500-BUY", quantity=1)], "no trade 'T03-069500-BUY'"),
        ([Edit(kind="exclude", ticker="360750")], "cannot exclude '360750'"),
        ([Edit(kind="exclude", ticker="069500"), Edit(kind="quantity", trade_id="T01-069500-SELL", quantity=3)],
         "excluded by the same answer"),
        ([Edit(kind="quantity", trade_id="T01-069500-SELL")], "needs the new quantity"),
        ([Edit(kind="order_type", trade_id="T01-069500-SELL")], "needs the order type"),
        ([Edit(kind="quantity", trade_id="T01-069500-SELL", quantity=51)], "at most 50 shares"),
        ([Edit(kind="quantity", trade_id="T01-069500-SELL", ticker="152380", quantity=3)], "is a sell of 069500"),
    ]
    for edits, message in cases:
        with pytest.raises(EditError, match=message):
            check_edits(edits, TRADES, {"069500": 50})


def test_the_terminal_prints_why_an_edit_is_refused() -> None:
    console = Console(record=True, width=140)
    approver = TerminalApprover(console, ask=lambda prompt: "")
    request = {"trades": TRADES}
    assert approver._parse_edit("qty NOPE 3", request, []) is None
    assert approver._parse_edit("exclude 005930", request, []) is None
    kept = approver._parse_edit("exclude 069500", request, [])
    assert kept is not None and approver._parse_edit("type T01-069500-SELL 03", request, [kept]) is None
    assert approver._parse_edit("qty T01-069500-SELL 30", request, []) == \
        Edit(kind="quantity", trade_id="T01-069500-SELL", quantity=30)
    text = console.export_text()
    assert "Edit refused: no trade 'NOPE' in this plan" in text
    assert "cannot exclude '005930'" in text and "excluded by the same answer" in text
