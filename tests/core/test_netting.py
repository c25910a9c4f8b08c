"""Netting: the worked example, optimality against brute force, and safety properties."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tools.drift import TriggerPolicy, evaluate_triggers, measure_drift
from tools.market import DEFAULT_COMMISSION, STOCK_SELL_TAX, InstrumentKind
from tools.money import MoneyRules
from tools.netting import NettingError, NettingOptions, compute_trades
from tools.portfolio import AccountSnapshot, PositionInput
from tools.targets import load_targets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"
TICKERS = ("069500", "360750", "152380", "132030")
NO_BUFFER = NettingOptions(money=MoneyRules(cash_buffer=0.0))  # the worked example keeps no cash buffer


# --- the worked example -----------------------------------------------------------------------


def worked_example_account() -> AccountSnapshot:
    """V = 10,000,000 KRW with 069500 at 27.1 % against 22.5/22.5/22.5/22.5/10 targets."""
    return AccountSnapshot(cash=5_000, positions=(
        PositionInput(ticker="069500", quantity=271, price=10_000),  # 27.10 %
        PositionInput(ticker="360750", quantity=144, price=15_000),  # 21.60 %
        PositionInput(ticker="152380", quantity=40, price=55_000),  # 22.00 %
        PositionInput(ticker="132030", quantity=175, price=12_000),  # 21.00 %
        PositionInput(ticker="329750", quantity=75, price=11_000),  # 8.25 %
    ))


def test_worked_example_threshold_rebalance() -> None:
    targets = load_targets(EXAMPLES / "flat.csv")
    account = worked_example_account()
    assert account.equity == 10_000_000
    verdict = evaluate_triggers(measure_drift(targets, account),
                                TriggerPolicy(mp_band=None, sub_band=None, relative_band=0.2))
    assert verdict.triggered and [b.asset for b in verdict.breaches] == ["069500"]

    result = compute_trades(targets, account, NO_BUFFER)
    assert result.solver == "milp"
    sides = {t.ticker: t.side for t in result.trades}
    assert sides["069500"] == "sell"
    assert all(side == "buy" for ticker, side in sides.items() if ticker != "069500")
    for ticker, target in targets.flat().items():
        one_share = account.price_of(ticker) / result.equity_after
        assert abs(result.weights_after[ticker] - target) <= one_share, ticker
    after = account.model_copy(update={"cash": result.cash_after, "positions": tuple(
        PositionInput(ticker=t, quantity=q, price=account.price_of(t)) for t, q in result.quantities_after.items()
        if q > 0)})
    assert not evaluate_triggers(measure_drift(targets, after),
                                 TriggerPolicy(mp_band=None, sub_band=None, relative_band=0.2)).triggered


def test_result_reports_trades_costs_and_bound() -> None:
    result = compute_trades(load_targets(EXAMPLES / "flat.csv"), worked_example_account())
    assert result.trades[0].trade_id == "T01-069500-SELL"  # sells first
    assert all(t.trade_id == f"T{i:02d}-{t.ticker}-{t.side.upper()}" for i, t in enumerate(result.trades, 1))
    for trade in result.trades:
        assert trade.notional == trade.quantity * trade.reference_price
        assert trade.commission == int(trade.notional * DEFAULT_COMMISSION[InstrumentKind.ETF])
        assert trade.tax == 0  # ETFs pay no sell tax
        assert trade.reason
    assert result.commission == sum(t.commission for t in result.trades)
    assert result.cash_after == (5_000 + sum(t.notional - t.est_costs for t in result.sells)
                                 - sum(t.notional + t.commission for t in result.buys))
    assert result.lower_bound <= result.error + 1e-12
    assert result.gap == pytest.approx(result.error - result.lower_bound)


def test_stock_sales_pay_tax() -> None:
    account = AccountSnapshot(cash=0, positions=(
        PositionInput(ticker="005930", quantity=100, price=70_000, kind=InstrumentKind.STOCK),))
    result = compute_trades({"005930": 0.5}, account)
    (trade,) = result.trades
    assert trade.side == "sell" and trade.quantity == 50
    assert trade.tax == int(trade.notional * STOCK_SELL_TAX) == 7_000


def test_missing_reference_price_is_an_error() -> None:
    with pytest.raises(NettingError, match="no reference price for target instrument"):
        compute_trades({"069500": 1.0}, AccountSnapshot(cash=1_000_000))


def test_milp_failure_falls_back_to_greedy(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("solver unavailable")

    monkeypatch.setattr("tools.netting.solve.solve_windowed", broken)
    result = compute_trades(load_targets(EXAMPLES / "flat.csv"), worked_example_account())
    assert result.solver == "greedy"
    assert "solver unavailable" in (result.fallback_reason or "")
    assert result.trades  # still a usable plan


def test_general_formulation_is_used_when_windows_are_too_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tools.netting.solve.solve_windowed", lambda *a, **k: None)
    wide = compute_trades(load_targets(EXAMPLES / "flat.csv"), worked_example_account())
    exact = compute_trades(load_targets(EXAMPLES / "flat.csv"), worked_example_account())
    assert wide.solver == "milp" and "choices" not in wide.solver_status
    assert wide.objective == pytest.approx(exact.objective, abs=1e-9)


# --- brute force ------------------------------------------------------------------------------


@st.composite
def small_cases(draw: st.DrawFn) -> tuple[AccountSnapshot, dict[str, float], NettingOptions]:
    """≤ 4 instruments in a small account, with every option in play."""
    count = draw(st.integers(1, 4))
    tickers = TICKERS[:count]
    prices = {t: draw(st.integers(20, 120)) * 1_000 for t in tickers}
    kinds = {t: draw(st.sampled_from([InstrumentKind.ETF, InstrumentKind.STOCK])) for t in tickers}
    positions = []
    for ticker in tickers:
        held = draw(st.integers(0, 6))
        if held:
            sellable = draw(st.integers(0, held))
            positions.append(PositionInput(ticker=ticker, quantity=held, sellable_quantity=sellable,
                                           price=prices[ticker], kind=kinds[ticker]))
    account = AccountSnapshot(cash=draw(st.integers(0, 40)) * 10_000, positions=tuple(positions),
                              prices=prices, kinds=kinds)
    assume(account.equity > 0)
    raw = [draw(st.integers(0, 10)) for _ in tickers]
    invested = draw(st.sampled_from([1.0, 0.9]))
    total = sum(raw)
    weights = {t: invested * r / total for t, r in zip(tickers, raw, strict=True) if r} if total else {}
    options = NettingOptions(
        buy_only=draw(st.booleans()),
        money=MoneyRules(cash_buffer=draw(st.sampled_from([0.0, 0.02])), margin=draw(st.sampled_from([0.0, 0.01]))),
        min_trade_value=draw(st.sampled_from([0, 10_000, 50_000])),
        locked=frozenset(draw(st.sets(st.sampled_from(tickers), max_size=1))),
        excluded=frozenset(draw(st.sets(st.sampled_from(tickers), max_size=1))),
    )
    return account, weights, options


def brute_force(account: AccountSnapshot, effective: dict[str, float], options: NettingOptions
                ) -> tuple[float, int]:
    """Minimum of error + λ·costs/V over every allowed whole-share trade vector, written from the
    problem statement (not from the solver's code). Returns (objective, vectors tried)."""
    equity = account.equity
    tickers = sorted(effective)
    money = options.money
    margin = money.margin
    room = max(account.cash - math.ceil(money.cash_buffer * equity), 0)
    sellable_value = 0.0
    choices = []
    for ticker in tickers:
        price, kind = account.price_of(ticker), account.kind_of(ticker)
        held = account.quantity_of(ticker)
        rate = money.commission_rates[kind]
        tax = money.stock_sell_tax if kind is InstrumentKind.STOCK else 0.0
        can_sell = 0 if options.buy_only or ticker in options.locked else account.sellable_of(ticker)
        sellable_value += can_sell * price * (1 - rate - tax) / (1 + margin) ** 2
        choices.append((ticker, price, held, rate, tax, can_sell))
    vectors = []
    for ticker, price, _held, rate, _tax, can_sell in choices:
        min_shares = max(1, -(-options.min_trade_value // price))
        can_buy = 0 if ticker in options.locked or ticker in options.excluded else \
            int((room + sellable_value) // (price * (1 + rate) * (1 + margin)))
        allowed = [0]
        allowed += [d for d in range(1, can_buy + 1) if d >= min_shares]
        allowed += [-d for d in range(1, can_sell + 1) if d >= min(min_shares, can_sell)]
        vectors.append(allowed)
    best, tried = math.inf, 0
    for trade in itertools.product(*vectors):
        tried += 1
        cash_use, error, cost = 0.0, 0.0, 0.0
        for d, (ticker, price, held, rate, tax, _) in zip(trade, choices, strict=True):
            # tools.money's cash row, with buys one margin above and sells one margin below the reference.
            if d > 0:
                cash_use += price * (1 + margin) * d * (1 + rate)
            else:
                cash_use += price / (1 + margin) * d * (1 - rate - tax) / (1 + margin)
            error += abs(price * (held + d) / equity - effective[ticker])
            cost += price * (rate * abs(d) + tax * max(-d, 0))
        if cash_use <= room + 1e-3:
            best = min(best, error + options.cost_penalty * cost / equity)
    return best, tried


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(small_cases())
def test_milp_is_optimal_against_brute_force(case: tuple) -> None:
    account, weights, options = case
    result = compute_trades(weights, account, options)
    assert result.solver in ("milp", "none"), result.fallback_reason
    best, tried = brute_force(account, result.effective_targets, options)
    assert tried <= 2_000_000
    assert result.objective == pytest.approx(best, rel=1e-6, abs=1e-9)
    greedy = compute_trades(weights, account, options.model_copy(update={"solver": "greedy"}))
    assert greedy.objective >= best - 1e-9


# --- properties on larger random accounts -----------------------------------------------------


@st.composite
def accounts(draw: st.DrawFn) -> tuple[AccountSnapshot, dict[str, float], NettingOptions]:
    count = draw(st.integers(1, 12))
    tickers = [f"{100_000 + i:06d}" for i in range(count)]
    prices = {t: draw(st.integers(1_000, 200_000)) for t in tickers}
    kinds = {t: draw(st.sampled_from(list(InstrumentKind))) for t in tickers}
    positions = []
    for ticker in tickers:
        held = draw(st.integers(0, 500))
        if held:
            positions.append(PositionInput(ticker=ticker, quantity=held, price=prices[ticker], kind=kinds[ticker],
                                           sellable_quantity=draw(st.integers(0, held))))
    account = AccountSnapshot(cash=draw(st.integers(0, 50_000_000)), positions=tuple(positions), prices=prices,
                              kinds=kinds)
    assume(account.equity > 0)
    targeted = draw(st.lists(st.sampled_from(tickers), min_size=1, unique=True))
    raw = np.array([draw(st.integers(1, 100)) for _ in targeted], dtype=float)
    invested = draw(st.floats(0.5, 1.0))
    weights = dict(zip(targeted, invested * raw / raw.sum(), strict=True))
    options = NettingOptions(
        buy_only=draw(st.booleans()),
        money=MoneyRules(cash_buffer=draw(st.sampled_from([0.0, 0.01, 0.05])),
                         margin=draw(st.sampled_from([0.0, 0.01, 0.03]))),
        min_trade_value=draw(st.sampled_from([0, 10_000, 1_000_000])),
        locked=frozenset(draw(st.sets(st.sampled_from(tickers), max_size=2))),
        excluded=frozenset(draw(st.sets(st.sampled_from(tickers), max_size=2))),
        solver=draw(st.sampled_from(["auto", "greedy"])),
    )
    return account, weights, options


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_safety_properties(case: tuple) -> None:
    account, weights, options = case
    result = compute_trades(weights, account, options)
    money = options.money
    buffer = money.cash_kept(account.equity)
    # No overdraft: exact post-trade cash never below the buffer (or below today's cash if already under it).
    assert result.cash_after >= min(buffer, account.cash) >= 0
    # tools.money's cash row holds at the reference prices, in integer won.
    proceeds = sum(money.sell_proceeds(t.quantity, t.reference_price, t.kind) for t in result.sells)
    assert proceeds == sum(t.notional - t.est_costs for t in result.sells)
    committed = sum(money.buy_commitment(t.quantity, t.reference_price, t.kind) for t in result.buys)
    assert committed == sum(t.notional + t.commission for t in result.buys)
    assert committed <= money.available(account.cash, account.equity, proceeds)
    seen = set()
    for trade in result.trades:
        assert trade.ticker not in seen  # netted: one trade per ticker, never sold and bought back
        seen.add(trade.ticker)
        assert trade.quantity > 0
        if trade.side == "sell":
            assert trade.quantity <= account.sellable_of(trade.ticker)  # no short sale
            assert not options.buy_only
            if trade.quantity < account.sellable_of(trade.ticker):
                assert trade.notional >= options.min_trade_value
        else:
            assert trade.ticker not in options.excluded
            assert trade.notional >= options.min_trade_value
        assert trade.ticker not in options.locked
    assert all(q >= 0 for q in result.quantities_after.values())
    assert result.lower_bound <= result.error + 1e-9


@settings(max_examples=150, deadline=None)
@given(accounts(), st.data())
def test_netting_plans_pass_cash_flow_at_the_touch(case: tuple, data: st.DataObject) -> None:
    """Whatever netting proposes passes the cash_flow guardrail when its orders are limits at the
    touch (or the mid) and the touch lies within the margin of the reference price; unpriced sells
    count at the reference price. Slices, order types 00/02 and offsets of 0 are drawn at random."""
    from guardrails import GuardrailContext, GuardrailLimits, check_all
    from tools.market import round_to_tick
    from tools.plan import ExecutionPlan, OrderChoice, Quote, build_orders

    account, weights, options = case
    # Mostly fully invested targets with selling allowed: the cash row then binds and the sales fund the buys.
    invested = data.draw(st.sampled_from([1.0, 1.0, 0.995, sum(weights.values())]))
    weights = {t: w * invested / sum(weights.values()) for t, w in weights.items()}
    options = options.model_copy(update={"buy_only": options.buy_only and data.draw(st.booleans())
                                         and data.draw(st.booleans())})
    result = compute_trades(weights, account, options)
    money = options.money
    quotes, choices = {}, []
    for trade in result.trades:
        ref, kind = trade.reference_price, trade.kind
        edge = st.one_of(st.just(1.0), st.floats(0, 1))  # often at the margin's edge, where it binds
        up, down = data.draw(edge), data.draw(edge)
        ask = round_to_tick(ref * (1 + up * money.margin), kind)  # on the grid, ≤ ref × (1 + m)
        bid = round_to_tick(ref / (1 + down * money.margin), kind, up=True)  # on the grid, ≥ ref ÷ (1 + m)
        assert ask <= ref * (1 + money.margin) and bid * (1 + money.margin) >= ref
        quotes[trade.ticker] = Quote(ticker=trade.ticker, bid=bid, ask=ask, base_price=ref, kind=kind)
        if trade.side == "buy":
            choice = {"order_type": data.draw(st.sampled_from(["00", "02"])),
                      "price_rule": data.draw(st.sampled_from(["ask1", "mid"]))}
        else:
            choice = data.draw(st.sampled_from([{"order_type": "00", "price_rule": "bid1"},
                                                {"order_type": "02", "price_rule": "mid"},
                                                {"order_type": "01"}, {"order_type": "03"}]))
        choices.append(OrderChoice(trade_id=trade.trade_id, slices=data.draw(st.integers(1, 5)), **choice))
    plan = ExecutionPlan(choices=tuple(choices))
    orders = build_orders(result.trades, plan, quotes)
    ctx = GuardrailContext.from_netting(result, account, plan=plan, orders=orders, quotes=quotes,
                                        limits=GuardrailLimits(money=money))
    (verdict,) = check_all(ctx, rules=["cash_flow"], headless=False).results
    assert verdict.passed, verdict.message
    assert all(isinstance(verdict.figures[k], int) for k in ("committed", "available", "sell_proceeds", "cash_kept"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1_000, 150_000), st.integers(1, 300)), min_size=1, max_size=8),
       st.integers(0, 5_000_000))
def test_a_portfolio_at_target_yields_no_trades(holdings: list[tuple[int, int]], cash: int) -> None:
    positions = tuple(PositionInput(ticker=f"{100_000 + i:06d}", quantity=q, price=p)
                      for i, (p, q) in enumerate(holdings))
    account = AccountSnapshot(cash=cash, positions=positions)
    weights = {p.ticker: p.value / account.equity for p in positions}  # exactly where it stands
    result = compute_trades(weights, account)
    assert result.trades == ()
    assert result.cash_after == cash


@settings(max_examples=60, deadline=None)
@given(accounts())
def test_buy_only_never_sells(case: tuple) -> None:
    account, weights, options = case
    result = compute_trades(weights, account, options.model_copy(update={"buy_only": True}))
    assert result.sells == ()
    for ticker, quantity in result.quantities_after.items():
        assert quantity >= account.quantity_of(ticker)


def test_holdings_outside_targets_are_sold_unless_locked() -> None:
    account = AccountSnapshot(cash=0, positions=(
        PositionInput(ticker="069500", quantity=100, price=10_000),
        PositionInput(ticker="005930", quantity=3, price=2_000, kind=InstrumentKind.STOCK)))
    result = compute_trades({"069500": 1.0}, account)
    sold = {t.ticker: t for t in result.sells}
    assert sold["005930"].quantity == 3  # dust below the minimum trade is still cleared
    assert "not in targets" in sold["005930"].reason
    kept = compute_trades({"069500": 1.0}, account, NettingOptions(locked=frozenset({"005930"})))
    assert "005930" not in {t.ticker for t in kept.trades}


def test_large_instance_is_fast_and_near_its_bound() -> None:
    rng = np.random.default_rng(7)
    count = 500
    tickers = [f"{100_000 + i:06d}" for i in range(count)]
    prices = np.exp(rng.uniform(np.log(5_000), np.log(150_000), count)).astype(int)
    account = AccountSnapshot(cash=500_000_000, prices=dict(zip(tickers, map(int, prices), strict=True)))
    weights = dict(zip(tickers, rng.dirichlet(np.ones(count)), strict=True))
    result = compute_trades(weights, account)
    assert result.solver == "milp" and result.solve_seconds < 5
    assert result.gap < 0.001  # within 0.1 % of equity of the integrality bound


def test_invalid_weight_mappings_are_rejected() -> None:
    account = AccountSnapshot(cash=1_000_000, prices={"069500": 10_000, "152380": 50_000})
    with pytest.raises(NettingError, match="sum to at most 100%"):
        compute_trades({"069500": 0.6, "152380": 0.6}, account)
    with pytest.raises(NettingError, match="negative"):
        compute_trades({"069500": -0.1, "152380": 0.6}, account)


@settings(max_examples=40, deadline=None)
@given(accounts())
def test_windowed_milp_agrees_with_the_general_formulation(case: tuple) -> None:
    """Beyond brute-force sizes: the windowed model and the general-integer model reach the same optimum."""
    from tools.netting import build_problem
    from tools.netting.greedy import solve_greedy
    from tools.netting.milp import solve_milp
    from tools.netting.windows import solve_windowed

    account, weights, options = case
    problem = build_problem(weights, 1 - sum(weights.values()), account, options)
    assume(problem.size > 0)
    greedy = solve_greedy(problem)
    windowed = solve_windowed(problem, greedy, time_limit=20, mip_rel_gap=1e-9)
    general = solve_milp(problem, time_limit=20, mip_rel_gap=1e-9)
    assume(windowed.optimal and general.optimal)
    assert problem.is_feasible(windowed.trade) and problem.is_feasible(general.trade)
    assert problem.objective(windowed.trade) == pytest.approx(problem.objective(general.trade), rel=1e-7, abs=1e-10)
    assert problem.objective(windowed.trade) <= problem.objective(greedy) + 1e-12


def test_an_early_stop_keeps_the_better_of_incumbent_and_greedy(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.netting.milp import MilpOutcome

    def stopped(problem, incumbent, **kwargs):  # a time-limited solve that returns "sell nothing, buy nothing"
        return MilpOutcome(trade=np.zeros_like(incumbent), status="HiGHS status 1: Time limit reached", optimal=False)

    monkeypatch.setattr("tools.netting.solve.solve_windowed", stopped)
    result = compute_trades(load_targets(EXAMPLES / "flat.csv"), worked_example_account())
    assert result.solver == "greedy" and result.trades
    assert "stopped early" in result.fallback_reason


def test_the_solver_prints_nothing() -> None:
    """HiGHS writes its banner straight to the process's stdout unless told not to before its first
    call: a fresh interpreter (the banner comes once per process) runs both formulations and must
    leave stdout and stderr empty."""
    import subprocess
    import sys

    script = (
        "from tools.netting import NettingOptions, build_problem\n"
        "from tools.netting.greedy import solve_greedy\n"
        "from tools.netting.milp import solve_milp\n"
        "from tools.netting.windows import solve_windowed\n"
        "from tools.portfolio import AccountSnapshot, PositionInput\n"
        "account = AccountSnapshot(cash=5_000_000, positions=(\n"
        "    PositionInput(ticker='069500', quantity=271, price=10_000),), prices={'360750': 15_000})\n"
        "problem = build_problem({'069500': 0.45, '360750': 0.45}, 0.10, account, NettingOptions())\n"
        "assert solve_milp(problem, time_limit=5, mip_rel_gap=1e-9).trade is not None\n"
        "solve_windowed(problem, solve_greedy(problem), time_limit=5, mip_rel_gap=1e-9)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
