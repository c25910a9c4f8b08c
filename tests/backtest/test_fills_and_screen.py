"""Fill model rules, and the band screen never missing a trigger the core would fire."""

from __future__ import annotations

import numpy as np
import pytest
from backtest.panelkit import make_panel

from tools.backtest.bands import BandScreen
from tools.backtest.fills import FillModel, Order, execute
from tools.drift import TriggerPolicy, evaluate_triggers, measure_drift
from tools.market import DEFAULT_COMMISSION
from tools.money import MoneyRules
from tools.portfolio import AccountSnapshot, PositionInput
from tools.targets import parse_toml, targets_from_weights

RATES = MoneyRules()


def run_fill(orders: list[Order], *, shares: list[int], cash: int, model: FillModel, **panel_kw: object) -> tuple:
    panel = make_panel(**panel_kw)  # type: ignore[arg-type]
    held = np.array(shares, dtype=np.int64)
    fills, cash_after, left = execute(orders, 1, panel, held, cash, model, RATES, at_close=False,
                                      previous_close=panel.close[0])
    return fills, cash_after, left, held


def test_half_tick_slippage_commission_and_whole_shares() -> None:
    fills, cash, left, held = run_fill(
        [Order(0, "sell", 10, 1), Order(1, "buy", 7, 1)], shares=[10, 0], cash=1_000_000,
        model=FillModel(participation=None), closes={"069500": [10_000, 10_100], "152380": [20_000, 20_050]},
        opens={"069500": [10_000, 10_050], "152380": [20_000, 20_000]})
    sell, buy = fills
    assert sell.price == 10_047.5 and sell.notional == 100_475  # open − 2.5 (half the 5 KRW ETF tick)
    assert sell.commission == int(100_475 * DEFAULT_COMMISSION[sell_kind()]) and sell.tax == 0
    assert buy.price == 20_002.5 and buy.notional == 140_018  # ceil(7 × 20,002.5)
    assert cash == 1_000_000 + 100_475 - sell.commission - 140_018 - buy.commission
    assert list(held) == [0, 7] and not left


def sell_kind():  # type: ignore[no-untyped-def]
    from tools.market import InstrumentKind

    return InstrumentKind.ETF


def test_bp_slippage_above_the_tick_floor() -> None:
    fills, *_ = run_fill([Order(0, "buy", 1, 1)], shares=[0], cash=10**7, model=FillModel(slippage_bp=10),
                         closes={"069500": [10_000, 10_000]})
    assert fills[0].price == pytest.approx(10_010)  # 10 bp of 10,000 beats the 2.5 half tick


def test_participation_cap_zero_volume_and_carry_over() -> None:
    model = FillModel(participation=0.1, carry_days=1)
    fills, _, left, _ = run_fill([Order(0, "buy", 50, 2)], shares=[0], cash=10**8, model=model,
                                 closes={"069500": [10_000, 10_000, 10_000]}, volume=200)
    assert fills[0].quantity == 20 and left[0].quantity == 30  # 10 % of 200
    fills, _, left, _ = run_fill([Order(0, "buy", 50, 1)], shares=[0], cash=10**8, model=model,
                                 closes={"069500": [10_000, 10_000]}, volumes={"069500": [100, 0]})
    assert not fills and not left  # no fill on a zero-volume day; the order expired that day


def test_buys_scale_down_when_cash_is_short() -> None:
    fills, cash, _, held = run_fill([Order(0, "buy", 100, 1), Order(1, "buy", 100, 1)], shares=[0, 0],
                                    cash=1_000_000, model=FillModel(participation=None),
                                    closes={"069500": [10_000, 10_000], "152380": [10_000, 10_000]})
    assert cash >= 0 and sum(f.notional + f.commission for f in fills) <= 1_000_000
    assert held[0] > 40 and held[1] > 40


def _random_case(rng: np.random.Generator) -> tuple:
    tickers = ["069500", "152380", "229200", "360750"]
    raw = rng.dirichlet(np.ones(4))
    if rng.random() < 0.5:
        targets = targets_from_weights({t: float(w) for t, w in zip(tickers, raw, strict=True)}, normalise=True)
    else:
        text = (f'[classes.eq]\nweight = {raw[0] * 100 + raw[1] * 100}\ninstruments = {{ "069500" = 60, "229200" = 40 }}\n'
                f'[classes.bd]\nweight = {raw[2] * 100 + raw[3] * 100}\ninstruments = {{ "152380" = 50, "360750" = 50 }}\n')
        targets = parse_toml(text, normalise=True)
    shares = rng.integers(0, 400, size=4)
    shares[rng.random(4) < 0.15] = 0
    prices = rng.integers(5_000, 60_000, size=4)
    cash = int(rng.integers(0, 2_000_000))
    policy = TriggerPolicy(mp_band=float(rng.choice([0.02, 0.05])) if rng.random() < 0.5 else None,
                           sub_band=0.05 if rng.random() < 0.5 else None,
                           relative_band=float(rng.choice([0.1, 0.2, 0.3])) if rng.random() < 0.6 else None,
                           five_twenty_five=bool(rng.random() < 0.3), untargeted_holdings=bool(rng.random() < 0.5))
    return tickers, targets, shares, prices, cash, policy


def test_the_screen_flags_every_session_the_core_would_trigger() -> None:
    rng = np.random.default_rng(11)
    fired = 0
    for _ in range(400):
        tickers, targets, shares, prices, cash, policy = _random_case(rng)
        codes = (*tickers, "308620")  # an untargeted instrument the account may hold
        held = np.append(shares, rng.integers(0, 50) if rng.random() < 0.2 else 0)
        price = np.append(prices, 10_000)
        snapshot = AccountSnapshot(cash=cash, positions=tuple(
            PositionInput(ticker=c, quantity=int(q), price=int(p)) for c, q, p in zip(codes, held, price, strict=True)
            if q > 0))
        if snapshot.equity == 0:
            continue
        verdict = evaluate_triggers(measure_drift(targets, snapshot), policy)
        screen = BandScreen(targets, codes, policy)
        hit = screen.first_hit((held * price)[None, :].astype(float), cash, held)
        if verdict.triggered:
            fired += 1
            assert hit == 0, (verdict.reasons, policy)
    assert fired > 100
