"""Realistic transcripts, written with the real ``Transcript`` writer into ``tmp_path``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.transcript import Transcript
from tools.kis.redact import REDACTOR

SECRET = "PSk3yZ-review-SECRET-9f8e7d6c5b4a"
PLAN_HASH = "9c1e5f7a2b3d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
ACCOUNT = "5001****-01"


def _start(t: Transcript, mode: str = "headless") -> None:
    t.write("run_started", mode=mode, profile="paper", account=ACCOUNT, as_of="2025-01-02",
            targets_version="v-3f9a1c", config={"cash_buffer": 0.01, "trigger": "absolute_mp 3pp"})
    t.write("account", holdings=[
        {"ticker": "069500", "name": "KODEX 200", "quantity": 60, "sellable_quantity": 60, "price": 35_210},
        {"ticker": "360750", "name": "TIGER 미국S&P500", "quantity": 150, "price": 17_845.0},
        {"ticker": "114260", "quantity": 10, "price": 108_950}],
        cash_d0=1_650_000, cash_d2=1_650_000, total_value=7_528_850)
    t.write("targets", version="v-3f9a1c", source="targets.toml",
            weights={"069500": 0.35, "360750": 0.35, "114260": 0.25})


def _drift(t: Transcript, triggered: bool = True) -> None:
    rows = [{"level": "mp", "asset": "069500", "value": 2_112_600, "current": 0.2806, "target": 0.35},
            {"level": "mp", "asset": "360750", "value": 2_676_750, "current": 0.3555, "target": 0.35},
            {"level": "mp", "asset": "114260", "value": 1_089_500, "current": 0.1447, "target": 0.25},
            {"level": "mp", "asset": "cash", "value": 1_650_000, "current": 0.2192, "target": 0.05}]
    breaches = [{"rule": "absolute_mp", "level": "mp", "asset": "114260", "current": 0.1447, "target": 0.25,
                 "deviation": -0.1053, "band": 0.03}] if triggered else []
    t.write("drift", report={"equity": 7_528_850, "cash": 1_650_000, "targets_version": "v-3f9a1c", "mp": rows,
                             "sub": []},
            verdict={"triggered": triggered, "fired": ["absolute_mp"] if triggered else [], "breaches": breaches,
                     "reasons": ["[absolute_mp] mp 114260: 14.47% vs target 25.00% (-10.53%, band ±3.00%)"]
                     if triggered else []},
            policy={"mp_band": 0.03, "sub_band": 0.05})


TRADES = [
    {"trade_id": "T01-360750-SELL", "ticker": "360750", "side": "sell", "quantity": 5, "reference_price": 17_845,
     "notional": 89_225, "commission": 13, "tax": 0, "kind": "ETF", "reason": "above target"},
    {"trade_id": "T02-069500-BUY", "ticker": "069500", "side": "buy", "quantity": 15, "reference_price": 35_210,
     "notional": 528_150, "commission": 79, "tax": 0, "kind": "ETF", "reason": "below target"},
    {"trade_id": "T03-114260-BUY", "ticker": "114260", "side": "buy", "quantity": 7, "reference_price": 108_950,
     "notional": 762_650, "commission": 114, "tax": 0, "kind": "ETF", "reason": "below target (band breach)"},
]


def _trades(t: Transcript) -> None:
    t.write("trades", result={"trades": TRADES, "turnover": 1_380_025, "commission": 206, "tax": 0,
                              "error": 0.0123, "lower_bound": 0.0101, "max_deviation": 0.0049, "solver": "milp",
                              "solver_status": "optimal", "solve_seconds": 0.042, "cash_before": 1_650_000,
                              "cash_after": 447_994, "targets_version": "v-3f9a1c"})


def _llm(t: Transcript, *, error: str | None = None, finish: str = "STOP") -> None:
    t.write("planner_input", trades=TRADES, quotes={"069500": {"bid": 35_205, "ask": 35_215}},
            minutes_to_close=312)
    t.write("llm_call", model="gemini-2.5-flash", attempt=1,
            messages=[{"role": "system", "content": "Choose how to execute each trade."},
                      {"role": "user", "content": f"trades: ... (appkey={SECRET})"}],
            response='{"choices": [{"trade_id": "T01-360750-SELL", "order_type": "00"}]}' if not error else None,
            finish_reason=finish, usage={"input_tokens": 1834, "output_tokens": 212, "total_tokens": 2046},
            cost_usd=0.0011, error=error)


def _plan(t: Transcript, planner: str = "llm", reason: str | None = None) -> None:
    choices = [{"trade_id": tr["trade_id"], "order_type": "00", "price_rule": "mid", "offset_ticks": 0,
                "slices": 1, "schedule": "now", "rationale": f"tight spread on {tr['ticker']}"} for tr in TRADES]
    t.write("plan", planner=planner, model="gemini-2.5-flash" if planner == "llm" else None, reason=reason,
            plan={"choices": choices, "planner": planner}, plan_hash=PLAN_HASH)


def _guardrails(t: Transcript, *, fail: bool = False) -> None:
    results = [
        {"rule_id": "cash_flow", "passed": not fail, "scope": "plan",
         "message": "cash 1,650,000 + proceeds 89,225 ≥ buys 1,290,800 × 1.01" if not fail else
         "buys 1,290,800 × 1.01 exceed cash 650,000 + proceeds 89,225"},
        {"rule_id": "krx.tick", "passed": True, "scope": "plan", "message": "every limit price on the tick grid"},
        {"rule_id": "plan.coverage", "passed": True, "scope": "plan", "message": "every trade has a choice"}]
    headless = [{"rule_id": "headless.turnover", "passed": True, "scope": "headless",
                 "message": "turnover 1,380,025 KRW = 18.33% of equity (≤ 25%)"}]
    t.write("guardrails", phase="plan", report={"results": results, "headless_results": headless},
            passed=not fail, auto_approvable=not fail)


def _approve(t: Transcript) -> None:
    t.write("approval_requested", plan_hash=PLAN_HASH, summary="3 trades, turnover 1,380,025 KRW")
    t.write("approval", decision="approved", by="auto (headless)", at="2025-01-02T10:01:02+09:00",
            plan_hash=PLAN_HASH)


def _order(t: Transcript, trade: dict, odno: str | None) -> None:
    order_id = f"{trade['trade_id']}/1"
    t.write("order_intent", order_id=order_id, ticker=trade["ticker"], side=trade["side"],
            quantity=trade["quantity"], order_type="00", limit_price=trade["reference_price"])
    if odno:
        t.write("order_ack", order_id=order_id, odno=odno)


def complete_run(directory: Path, run_id: str) -> Path:
    t = Transcript(directory, run_id)
    _start(t)
    _drift(t)
    _trades(t)
    _llm(t)
    _plan(t)
    _guardrails(t)
    _approve(t)
    t.write("open_orders", orders=[])
    _order(t, TRADES[0], "17001")
    t.write("fill", order_id="T01-360750-SELL/1", ticker="360750", side="sell", quantity=5, price=17_850)
    t.write("execution", phase="sells", filled=1, proceeds=89_237)
    t.write("execution", phase="cash re-read", cash_d2=1_739_237, buys_resized=False)
    for trade, odno in zip(TRADES[1:], ("17002", "17003"), strict=True):
        _order(t, trade, odno)
        t.write("fill", order_id=f"{trade['trade_id']}/1", ticker=trade["ticker"], side="buy",
                quantity=trade["quantity"], price=trade["reference_price"] + 5)
    t.write("execution", phase="buys", filled=2)
    t.write("report", residual_drift=0.0131, shortfall_bp=4.2, fees=207, taxes=0, turnover=1_380_135,
            holdings=[{"ticker": "069500", "quantity": 75, "weight": 0.3508, "target": 0.35},
                      {"ticker": "114260", "quantity": 17, "weight": 0.2461, "target": 0.25}])
    t.write("run_finished", outcome="completed", exit_code=0)
    return t.path


def no_trades_run(directory: Path, run_id: str) -> Path:
    t = Transcript(directory, run_id)
    _start(t, mode="interactive")
    _drift(t, triggered=False)
    t.write("run_finished", outcome="no_trades_needed", exit_code=0)
    return t.path


def failed_run(directory: Path, run_id: str) -> Path:
    t = Transcript(directory, run_id)
    _start(t)
    _drift(t)
    _trades(t)
    _llm(t, error="OutputParserException: truncated JSON", finish="MAX_TOKENS")
    _plan(t, planner="rules", reason="LLM answer unusable (MAX_TOKENS); deterministic rules plan used")
    _guardrails(t, fail=True)
    t.write("error", node="check_guardrails", type="GuardrailFailure",
            message="guardrail cash_flow failed; nothing was sent", account={"cash_d2": 650_000})
    t.write("run_finished", outcome="failed", exit_code=3)
    return t.path


def cut_off_run(directory: Path, run_id: str) -> Path:
    """A process killed mid-execution: one order acknowledged, the next one never answered."""
    t = Transcript(directory, run_id)
    _start(t)
    _drift(t)
    _trades(t)
    _plan(t, planner="rules", reason="no LLM configured")
    _guardrails(t)
    _approve(t)
    _order(t, TRADES[0], "17011")
    _order(t, TRADES[1], None)
    return t.path


def torn_run(directory: Path, run_id: str) -> Path:
    path = no_trades_run(directory, run_id)
    with path.open("ab") as handle:  # a crash mid-write: half a line, half a Korean character
        handle.write('{"seq":4,"at":"2025-01-02T10:00:00+09:00","run_id":"x","kind":"note","data":{"t":"한'
                     .encode()[:-1])
    return path


def damaged_run(directory: Path, run_id: str) -> Path:
    path = no_trades_run(directory, run_id)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(1, "this is not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Runs:
    directory: Path
    complete: Path
    no_trades: Path
    failed: Path
    cut_off: Path
    torn: Path
    damaged: Path
    secret: str = SECRET
    plan_hash: str = PLAN_HASH


@pytest.fixture
def runs(tmp_path: Path) -> Runs:
    """Six runs, written in this order (the listing shows them newest first)."""
    REDACTOR.add_secret(SECRET)
    directory = tmp_path / "transcripts"
    made = []
    for build, run_id in ((complete_run, "7f3a-complete"), (no_trades_run, "7f3b-notrades"),
                          (failed_run, "90c1-failed"), (cut_off_run, "a4d2-cutoff"), (torn_run, "b5e0-torn"),
                          (damaged_run, "c6f1-damaged")):
        made.append(build(directory, run_id))
        time.sleep(0.01)  # distinct start times and file times
    return Runs(directory, *made)
