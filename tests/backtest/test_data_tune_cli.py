"""Price panels (CSV in place, USD cents, KIS cache), tuning, capital planning, and the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path

import pytest
from support.shared_data import require_shared_prices
from typer.testing import CliRunner

from agent.commands.strategy import strategy_app
from tools.backtest.capital import check_contribution, initial_capital
from tools.backtest.data import PanelError, fetch_kis_bars, load_csv_panel
from tools.backtest.metrics import compute_metrics
from tools.backtest.runner import RunSpec, run_strategy
from tools.backtest.tune import ensemble, tune
from tools.prices import DailyBar
from tools.strategies.params import load_strategy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"


def test_us_panel_is_total_return_cents_and_currencies_do_not_mix() -> None:
    prices = require_shared_prices()
    panel = load_csv_panel(prices, ["SPY"], start=dt.date(2025, 9, 26), end=dt.date(2025, 9, 26))
    assert panel.currency == "USD" and panel.unit == 100
    row = next(line for line in (prices / "US_SPY.csv").read_text().splitlines() if line.startswith("2025-09-26"))
    adj_close = float(row.split(",")[1])
    assert panel.close[0, 0] == round(adj_close * 100)
    assert panel.core_codes() == ("Q900000",)
    with pytest.raises(PanelError, match="mix currencies"):
        load_csv_panel(prices, ["SPY", "069500"])


class FakeKis:
    def __init__(self, bars: list[DailyBar]) -> None:
        self.bars, self.calls = bars, []

    async def daily_bars(self, ticker: str, start: dt.date, end: dt.date) -> list[DailyBar]:
        self.calls.append((ticker, start, end))
        return [b for b in self.bars if start <= b.date <= end]


def test_kis_bars_are_cached_and_only_gaps_are_fetched(tmp_path: Path) -> None:
    days = [dt.date(2024, 1, 2) + dt.timedelta(days=i) for i in range(20)]
    client = FakeKis([DailyBar(d, 100 + i, 101 + i, 99 + i, 100 + i, 1000) for i, d in enumerate(days)])
    first = asyncio.run(fetch_kis_bars(client, ["069500"], days[5], days[10], tmp_path))
    assert len(first["069500"].bars) == 6 and len(client.calls) == 1
    again = asyncio.run(fetch_kis_bars(client, ["069500"], days[6], days[9], tmp_path))
    assert len(again["069500"].bars) == 4 and len(client.calls) == 1  # served from the cache
    asyncio.run(fetch_kis_bars(client, ["069500"], days[5], days[15], tmp_path))
    assert client.calls[-1] == ("069500", days[11], days[15])  # only the missing tail


def test_ensemble_rule() -> None:
    top = [{"maps.MA_MONTHS": 3, "maps.COOLDOWN_DAYS": 5, "maps.STOP_LOSS_PCT": 0.08},
           {"maps.MA_MONTHS": 4, "maps.COOLDOWN_DAYS": 3, "maps.STOP_LOSS_PCT": 0.05},
           {"maps.MA_MONTHS": 6, "maps.COOLDOWN_DAYS": 3, "maps.STOP_LOSS_PCT": 0.12}]
    assert ensemble(top) == {"maps.MA_MONTHS": 4, "maps.COOLDOWN_DAYS": 3, "maps.STOP_LOSS_PCT": 0.08}


def test_tune_ranks_trials_and_checks_the_held_out_period() -> None:
    strategy = load_strategy(EXAMPLES / "momentum-krx.toml")
    panel = load_csv_panel(require_shared_prices(), strategy.momentum.universe, start=dt.date(2021, 1, 4))
    report = tune(strategy, panel, {"momentum.lookback": [10, 20], "momentum.rebalance_every": [10, 20]})
    assert len(report.trials) == 4 and report.trials[0].score >= report.trials[-1].score
    assert report.held_out is not None and report.held_out[0] > report.in_sample[1]
    assert report.ensemble_out is not None and set(report.ensemble) == {"momentum.lookback", "momentum.rebalance_every"}


def test_realistic_krx_backtest_keeps_its_identities() -> None:
    strategy = load_strategy(EXAMPLES / "static-krx.toml")
    panel = load_csv_panel(require_shared_prices(), ["069500", "152380", "219480"], start=dt.date(2016, 1, 4))
    result = run_strategy(strategy, panel, RunSpec(start=dt.date(2016, 1, 4)))
    assert (result.equity == result.cash + (result.shares * result.prices).sum(axis=1)).all()
    metrics = compute_metrics(result)
    assert metrics.net_flows > 0 and metrics.rebalances > 10 and -0.5 < metrics.max_drawdown < 0
    assert {e.kind for e in result.events} >= {"initial", "contribution"}
    assert all(f.slippage == 2.5 * f.quantity for f in result.fills)  # half a 5 KRW ETF tick per share


def test_plan_capital() -> None:
    assert initial_capital(3_000_000, 0.3) == 10_000_000
    assert initial_capital(3_000_000, 0.3, safe_guard=2) == 20_000_000
    check = check_contribution(10_000_000, 1_000_000, 0.3, 3_000_000, horizon_months=6)
    assert check.months[0].worst_loss == 3_000_000 and check.months[0].within
    assert check.first_breach == 1 and check.max_safe_contribution == 0
    assert check_contribution(5_000_000, 500_000, 0.3, 3_000_000, horizon_months=6).first_breach is None


def test_cli_backtest_compare_tune_and_plan_capital(tmp_path: Path) -> None:
    prices = require_shared_prices()
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(strategy_app, ["backtest", "-s", str(EXAMPLES / "static-us-threshold.toml"),
                                          "--start", "2019-01-02", "--end", "2021-12-31", "--prices", str(prices),
                                          "--compare", "no-rebalance,semiannual,threshold-rel20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "threshold-rel20" in result.output and "max drawdown" in result.output
    assert (out / "backtest.png").stat().st_size > 10_000 and (out / "semiannual-rebalances.csv").exists()
    strategy = tmp_path / "momentum.toml"
    shutil.copy(EXAMPLES / "momentum-krx.toml", strategy)
    result = runner.invoke(strategy_app, ["tune", "-s", str(strategy), "--start", "2021-01-04", "--prices", str(prices),
                                          "--param", "momentum.lookback=10,20", "--param", "momentum.rebalance_every=10,20"])
    assert result.exit_code == 0, result.output
    assert "held-out" in result.output and "rebal tune" in strategy.read_text()
    result = runner.invoke(strategy_app, ["plan-capital", "--monthly-cash-flow", "3000000", "--max-drawdown", "0.3",
                                          "--contribution", "100000", "--capital", "5000000", "--months", "3"])
    assert result.exit_code == 0 and "10,000,000" in result.output
    result = runner.invoke(strategy_app, ["backtest", "-s", str(EXAMPLES / "static-us-threshold.toml"), "--compare", "weekly"])
    assert result.exit_code != 0
