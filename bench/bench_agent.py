"""Assistant benchmarks: broker calls per rebalance against the minimum, demo wall time, planner prompt size.

    .venv/bin/python bench/bench_agent.py

1. A headless rebalance of the demo account on the embedded exchange, counting every KIS call by
   API, beside the minimum such a run needs (1 balance, 1 quote per instrument, 1 order per slice,
   1 order-list read for fills per side, 1 buying-power read before the buys, 1 final balance).
2. The wall time of `rebal demo` (a fresh process: imports, setup, run, report).
3. The planner's prompt for that run, in characters and estimated tokens (no Gemini call is made
   here: there is no network; the LLM tests record real usage figures from Gemini-shaped answers).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def calls_per_rebalance() -> None:
    from agent.config import RebalConfig
    from agent.runner import Runner, auto_approver
    from agent.transcript import read_events

    with tempfile.TemporaryDirectory() as tmp:
        config = RebalConfig.model_validate({"broker": {"mode": "embedded"},
                                             "paths": {"home": tmp, "transcripts": f"{tmp}/transcripts"}})
        with Runner(config, headless=True) as runner:
            session = runner.broker.client.client.session
            by_api: Counter[str] = Counter()
            original = session.call

            async def counting(method, path, tr_id, **kwargs):
                by_api[path.rsplit("/", 1)[-1]] += 1
                return await original(method, path, tr_id, **kwargs)

            session.call = counting
            started = time.perf_counter()
            result = runner.start(auto_approver)
            elapsed = time.perf_counter() - started
            events = read_events(result.transcript)
        plan = [e for e in events if e.kind == "plan"][-1].data
        orders = plan["orders"]
        instruments = len([e for e in events if e.kind == "targets"][-1].data["flat"])
        traded = len({o["ticker"] for o in orders})
        sides = len({o["side"] for o in orders})
        # 1 balance, 1 quote per instrument, 1 daily-bar read per traded instrument (the planner's
        # volume and volatility), 1 order per slice, 1 fills read per side, 1 buying power, 1 final balance.
        minimum = 1 + instruments + traded + len(orders) + sides + 1 + 1
        prompt = [e for e in events if e.kind == "planner_input"][-1].data
    total = sum(by_api.values())
    print(f"Headless demo rebalance ({result.outcome}, {len(orders)} order slices, {traded} instruments traded, "
          f"run {elapsed:.2f} s):")
    print(f"  broker calls: {total}   minimum needed: {minimum} (1 balance, {instruments} quotes, {traded} daily-bar "
          f"reads, {len(orders)} orders, {sides} fill reads, 1 buying power, 1 final balance)")
    for api, count in sorted(by_api.items(), key=lambda item: -item[1]):
        print(f"    {api:<32}{count:>4}")
    return prompt


def demo_wall_time() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "agent.commands.cli", "demo", "--home", f"{tmp}/demo"], cwd=tmp,
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    print(f"\n`rebal demo` wall time (fresh process): {elapsed:.2f} s ({status})")


def planner_prompt_size(planner_input: dict) -> None:
    import json

    from agent.planner.prompt import DEFAULT_PROMPT_VERSION, load_prompt

    text = json.dumps(planner_input, ensure_ascii=False)
    system = load_prompt(DEFAULT_PROMPT_VERSION)
    chars = len(text) + len(system)
    print(f"\nPlanner prompt ({DEFAULT_PROMPT_VERSION}) for this run: {chars:,} characters "
          f"(system {len(system):,} + data {len(text):,}), "
          f"≈ {chars // 4:,} tokens at 4 chars/token; one call per run, at most one repair")


def main() -> None:
    planner_input = calls_per_rebalance()
    demo_wall_time()
    planner_prompt_size(planner_input)


if __name__ == "__main__":
    main()
