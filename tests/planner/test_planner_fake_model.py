"""The LLM planner through a scripted chat model on the real with_structured_output path."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from planner.planner_kit import (
    Scenario,
    assert_traded_unchanged,
    choice,
    scripted,
    tool_answer,
    valid_answer,
)

from agent.planner import PlannerSettings, plan_execution
from agent.planner.llm import llm_plan
from agent.planner.rules import rules_plan

SETTINGS = PlannerSettings()


def test_valid_answer_becomes_the_plan(scenario: Scenario) -> None:
    inp = scenario.features()
    model = scripted(tool_answer(valid_answer()))
    result = plan_execution(inp, SETTINGS, model=model)
    assert (result.planner, result.reason) == ("llm", "LLM plan accepted")
    assert result.plan.planner == "llm:ScriptedToolModel"
    sell, stock_buy, big_buy = result.plan.choices
    assert (sell.order_type, sell.price_rule, stock_buy.order_type, big_buy.slices, big_buy.schedule) == (
        "00", "bid1", "03", 2, "twap")
    (call,) = result.calls
    assert (call.attempt, call.finish_reason, call.error, call.input_tokens, call.output_tokens) == (
        1, "STOP", None, 900, 120)
    assert call.cost_usd == 0.0 and "no price for model 'ScriptedToolModel'" in (call.cost_note or "")
    assert [m["role"] for m in call.messages] == ["system", "user"]
    assert '"T03-360750-BUY"' in (call.raw_text or "")
    assert_traded_unchanged(scenario.trades, result.plan, scenario.quotes)


def test_invalid_then_valid_uses_the_repair(scenario: Scenario) -> None:
    inp = scenario.features()
    bad = valid_answer()
    bad["choices"][2]["slices"] = 9  # above max_slices 5
    model = scripted(tool_answer(bad), tool_answer(valid_answer()))
    result = llm_plan(inp, model, SETTINGS)
    assert result.planner == "llm" and result.reason.startswith("LLM plan accepted after one repair")
    assert [c.attempt for c in result.calls] == [1, 2]
    assert "choices.2.slices" in (result.calls[0].error or "") and result.calls[1].error is None
    # The repair request repeats the first one, then the rejected answer, then the error.
    first, repair = model.seen
    assert [m.type for m in repair] == ["system", "human", "ai", "human"]
    assert repair[:2] == first
    assert "Validation error" in repair[3].content and "choices.2.slices" in repair[3].content
    assert '"slices": 9' in repair[2].content
    assert_traded_unchanged(scenario.trades, result.plan, scenario.quotes)


def test_invalid_twice_falls_back_to_rules(scenario: Scenario) -> None:
    inp = scenario.features()
    unknown = valid_answer()
    unknown["choices"][0]["trade_id"] = "T09-TSLA-SELL"
    model = scripted(tool_answer(unknown), tool_answer(unknown))
    result = llm_plan(inp, model, SETTINGS)
    assert result.planner == "rules" and result.plan == rules_plan(inp)
    assert result.reason.startswith("LLM answer failed validation twice: 1) ")
    assert "T09-TSLA-SELL" in result.reason
    assert [c.attempt for c in result.calls] == [1, 2] and all(c.error for c in result.calls)
    assert_traded_unchanged(scenario.trades, result.plan, scenario.quotes)


def _answer(**change: object) -> dict:
    answer = valid_answer()
    answer["choices"][0] = choice("T01-069500-SELL", **change)  # type: ignore[arg-type]
    return answer


BAD_ANSWERS = {
    "extra quantity field": (tool_answer(_answer(quantity=9_999)), "Extra inputs are not permitted"),
    "extra ticker field": (tool_answer(_answer(ticker="TSLA")), "Extra inputs are not permitted"),
    "top-level extra": (tool_answer(valid_answer() | {"trades": [{"ticker": "005930", "quantity": 10_000}]}),
                        "Extra inputs are not permitted"),
    "order type outside the enum": (tool_answer(_answer(order_type="07")), "order_type"),
    "limit without a price rule": (tool_answer(_answer(price_rule=None)), "needs a price_rule"),
    "missing trade": (tool_answer({"choices": valid_answer()["choices"][:2]}), "at least 3"),
    "duplicate trade": (tool_answer({"choices": [valid_answer()["choices"][0]] * 3}),
                        "3 choices for one trade"),
    "best-price order in the auction": (tool_answer(_answer(order_type="03", price_rule=None,
                                                            schedule="closing_auction")),
                                        "is not accepted in the closing auction"),
    "market order larger than the touch": (tool_answer(_answer(order_type="01", price_rule=None)),
                                           None),
    "wrong tool name": (tool_answer(valid_answer(), name="SomethingElse"), "Unknown tool type"),
    "prose instead of a tool call": (AIMessage(content="I recommend selling everything.",
                                               response_metadata={"finish_reason": "STOP"}), "parsed is None"),
    "cut off": (tool_answer(valid_answer(), finish="MAX_TOKENS"), "finish_reason MAX_TOKENS"),
    "no finish reason": (tool_answer(valid_answer(), finish=None), "finish_reason None"),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_bad_answers_never_change_what_is_traded(scenario: Scenario, case: str) -> None:
    answer, expected_error = BAD_ANSWERS[case]
    if case == "market order larger than the touch":
        # 01 is in the allow-list, but a 30-share market sell may not exceed the 20 shares at the bid.
        scenario.books["069500"] = scenario.books["069500"].model_copy(update={"bids": (
            scenario.books["069500"].bids[0].model_copy(update={"quantity": 20}),)})
        expected_error = "exceeds depth_at_touch 20"
    inp = scenario.features()
    result = llm_plan(inp, scripted(answer, answer), SETTINGS)
    assert result.planner == "rules" and result.plan == rules_plan(inp)
    assert len(result.calls) == 2
    assert expected_error in (result.calls[0].error or ""), result.calls[0].error
    assert_traded_unchanged(scenario.trades, result.plan, scenario.quotes)


def test_model_without_structured_output_falls_back(scenario: Scenario) -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    result = llm_plan(scenario.features(), GenericFakeChatModel(messages=iter([])), SETTINGS)
    assert result.planner == "rules" and "could not be set up: NotImplementedError" in result.reason
    assert result.calls == []


def test_no_llm_call_when_no_session_is_left(scenario: Scenario) -> None:
    import datetime as dt

    from tools.market import KST

    inp = scenario.features(now=dt.datetime(2026, 3, 10, 16, 0, tzinfo=KST))
    model = scripted()
    result = llm_plan(inp, model, SETTINGS)
    assert result.planner == "rules" and "no session left today (phase post_close)" in result.reason
    assert model.seen == [] and result.calls == []
