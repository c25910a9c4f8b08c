"""Backtest output: a rich table (policies side by side), CSV export, and PNG plots (matplotlib, Agg).

Money is shown in the panel's currency: KRW as is, USD panels (integer cents) divided by 100.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from tools.backtest.metrics import Metrics, compute_metrics, drawdown, twr_index
from tools.backtest.result import BacktestResult
from tools.private import private_dir, private_file


def money(amount: float, result: BacktestResult) -> str:
    if result.unit == 1:
        return f"{amount:,.0f}"
    return f"{amount / result.unit:,.2f}"


def comparison_table(results: Sequence[BacktestResult], metrics: Sequence[Metrics] | None = None) -> Table:
    metrics = list(metrics or [compute_metrics(r) for r in results])
    first = results[0]
    table = Table(title=f"Backtest {metrics[0].start} → {metrics[0].end} ({first.currency})")
    table.add_column("figure")
    for result in results:
        table.add_column(result.label, justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("final value", [money(m.final_value, r) for m, r in zip(metrics, results, strict=True)]),
        ("net contributions", [money(m.net_flows, r) for m, r in zip(metrics, results, strict=True)]),
        ("CAGR (TWR)", [f"{m.cagr:.2%}" for m in metrics]),
        ("volatility", [f"{m.volatility:.2%}" for m in metrics]),
        ("Sharpe", [f"{m.sharpe:.2f}" for m in metrics]),
        ("max drawdown", [f"{m.max_drawdown:.2%}" for m in metrics]),
        ("turnover / year", [f"{m.turnover:.1%}" for m in metrics]),
        ("commission", [money(m.commission, r) for m, r in zip(metrics, results, strict=True)]),
        ("tax", [money(m.tax, r) for m, r in zip(metrics, results, strict=True)]),
        ("slippage", [money(m.slippage, r) for m, r in zip(metrics, results, strict=True)]),
        ("rebalances", [str(m.rebalances) for m in metrics]),
    ]
    for name, cells in rows:
        table.add_row(name, *cells)
    return table


def events_table(result: BacktestResult, limit: int | None = 40) -> Table:
    table = Table(title=f"Rebalances: {result.label}")
    for column in ("date", "decided on", "trigger", "trades", "reason"):
        table.add_column(column)
    events = result.events if limit is None else result.events[-limit:]
    for event in events:
        reason = event.reasons[0] if event.reasons else ""
        more = f" (+{len(event.reasons) - 1} more)" if len(event.reasons) > 1 else ""
        table.add_row(event.date.isoformat(), event.decision_date.isoformat(), event.kind, str(event.trades),
                      escape(reason + more))
    return table


def write_csv(result: BacktestResult, folder: Path) -> list[Path]:
    """``<label>-equity.csv`` (daily ledger), ``-trades.csv`` (fills), ``-rebalances.csv`` (events)."""
    private_dir(folder)
    stem = _slug(result.label)
    index = twr_index(result)
    equity_path = private_file(folder / f"{stem}-equity.csv")
    with equity_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "equity", "cash", "flow", "twr_index", *(f"shares_{t}" for t in result.tickers)])
        for k, day in enumerate(result.dates):
            writer.writerow([day.isoformat(), int(result.equity[k]), int(result.cash[k]), int(result.flows[k]),
                             f"{index[k]:.8f}", *(int(q) for q in result.shares[k])])
    trades_path = private_file(folder / f"{stem}-trades.csv")
    with trades_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "ticker", "side", "quantity", "price", "notional", "commission", "tax", "slippage"])
        for fill in result.fills:
            writer.writerow([result.fill_date(fill.index).isoformat(), result.tickers[fill.column], fill.side, fill.quantity,
                             f"{fill.price:.4f}", fill.notional, fill.commission, fill.tax, f"{fill.slippage:.2f}"])
    events_path = private_file(folder / f"{stem}-rebalances.csv")
    with events_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "decision_date", "trigger", "trades", "planned_turnover", "reasons"])
        for event in result.events:
            writer.writerow([event.date.isoformat(), event.decision_date.isoformat(), event.kind, event.trades,
                             event.planned_turnover, " | ".join(event.reasons)])
    return [equity_path, trades_path, events_path]


def plot(results: Sequence[BacktestResult], path: Path) -> Path:
    """Equity (TWR index, rebalance markers), drawdown, and the first result's weights over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_eq, ax_dd, ax_w) = plt.subplots(3, 1, figsize=(11, 10), sharex=True,
                                            gridspec_kw={"height_ratios": [3, 1.4, 2]})
    for result in results:
        index = twr_index(result)
        line, = ax_eq.plot(result.dates, index, label=result.label, linewidth=1.1)
        position = {d: k for k, d in enumerate(result.dates)}
        marks = [position[e.date] for e in result.events if e.date in position]
        ax_eq.scatter([result.dates[k] for k in marks], index[marks], s=12, color=line.get_color(), zorder=3)
        ax_dd.plot(result.dates, drawdown(index) * 100, linewidth=0.9, color=line.get_color())
    ax_eq.set_ylabel("growth of 1 (time-weighted)")
    ax_eq.set_yscale("log")
    ax_eq.legend(loc="upper left")
    ax_eq.set_title("Equity with rebalance markers")
    ax_dd.set_ylabel("drawdown %")
    first = results[0]
    weights = first.weights() * 100
    ax_w.stackplot(first.dates, weights.T, labels=list(first.tickers))
    ax_w.set_ylabel(f"weights % ({first.label})")
    ax_w.set_ylim(0, 100)
    ax_w.legend(loc="upper left", fontsize=7, ncol=min(6, len(first.tickers)))
    fig.tight_layout()
    private_file(path)  # savefig writes into it: the mode stays 0600
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text).strip("-") or "backtest"
