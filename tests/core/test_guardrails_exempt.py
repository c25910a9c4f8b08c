"""weight_tolerance exempts exactly the tickers a person chose to leave as they are."""

from __future__ import annotations

from guardrails import GuardrailContext, GuardrailLimits, check_all
from tools.netting import NettingOptions, compute_trades
from tools.portfolio import AccountSnapshot, PositionInput


def test_locked_overweight_ticker_is_exempt_and_the_rest_still_checked():
    snapshot = AccountSnapshot(cash=1_000_000, positions=(
        PositionInput(ticker="069500", quantity=100, price=50_000),
        PositionInput(ticker="360750", quantity=100, price=20_000)))
    targets = {"069500": 0.4, "360750": 0.55}
    netting = compute_trades(targets, snapshot, NettingOptions(locked=frozenset({"069500"})))
    plain = check_all(GuardrailContext.from_netting(netting, snapshot), rules=["weight_tolerance"])
    assert not plain.passed and "069500" in plain.results[0].figures["outside"]
    exempt = check_all(GuardrailContext.from_netting(
        netting, snapshot, limits=GuardrailLimits(tolerance_exempt=frozenset({"069500"}))), rules=["weight_tolerance"])
    result = exempt.results[0]
    assert "069500" not in result.figures["outside"] and result.figures["exempt"] == ["069500"]
    tight = check_all(GuardrailContext.from_netting(
        netting, snapshot, limits=GuardrailLimits(tolerance_exempt=frozenset({"069500"}), weight_tolerance=1e-6)),
        rules=["weight_tolerance"])
    assert not tight.passed  # the other weights are still held to the tolerance


def test_one_share_is_the_least_tolerance_of_a_dear_instrument():
    # 1,000,000 KRW account, a 66,000 KRW ETF: one share is 6.6% of equity, more than the 1 pp tolerance.
    snapshot = AccountSnapshot(cash=1_000_000, prices={"069500": 66_000})
    netting = compute_trades({"069500": 0.5}, snapshot, NettingOptions(min_trade_value=0))
    result = check_all(GuardrailContext.from_netting(netting, snapshot), rules=["weight_tolerance"]).results[0]
    deviation = netting.weights_after["069500"] - 0.5
    assert abs(deviation) > 0.01 and result.passed, result.message
    shifted = netting.model_copy(update={"weights_after": {"069500": 0.5 + 0.07}})
    beyond = check_all(GuardrailContext.from_netting(shifted, snapshot), rules=["weight_tolerance"]).results[0]
    assert not beyond.passed  # more than one share off still fails
