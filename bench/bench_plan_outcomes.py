"""What became of random plans at random moments: done in full, refused before any order, or worse.

    .venv/bin/python bench/bench_plan_outcomes.py [--pairs 500] [--seed 7]

Each pair is a start moment on the exchange clock and the execution choices a planner may make
(order type, price rule, offset, slices, schedule), drawn by ``tests/support/plan_space.py`` (the
generator the property test uses). The pair is planned, judged by the guardrails and, when
approved, executed headless on the embedded paper exchange. Printed:

- how many pairs ended done / refused (and by which rule) / partly done / otherwise, by window;
- the forbidden outcomes (sold and not bought, exit 0 off target, refused but sent, a report that
  is not the exchange): each must be 0;
- broker order actions (place, revise, cancel) per executed rebalance against the minimum, one
  order per approved slice, as a ratio; and reads per run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from support.plan_space import FORBIDDEN, WINDOWS, check, draw_pairs, explain, run_pair

    kinds: Counter[str] = Counter()
    by_window: dict[str, Counter[str]] = defaultdict(Counter)
    refusals: Counter[str] = Counter()
    forbidden: Counter[str] = Counter()
    examples: list[str] = []
    ratios: list[float] = []
    reads: list[int] = []
    started = time.perf_counter()
    for pair in draw_pairs(seed=args.seed, count=args.pairs):
        with tempfile.TemporaryDirectory() as home:
            out = run_pair(pair, Path(home))
        kinds[out.kind] += 1
        by_window[pair.window][out.kind] += 1
        for rule in out.refused_by:
            refusals[f"{out.refused_at}: {rule}"] += 1
        for problem in check(out):
            forbidden[problem.split(":", 1)[0]] += 1
            if len(examples) < 5:
                examples.append(explain(out))
        if not out.refused and out.minimum_calls:
            ratios.append(out.calls.actions / out.minimum_calls)
            reads.append(out.calls.reads)
    elapsed = time.perf_counter() - started

    total = sum(kinds.values())
    print(f"{total} (plan, moment) pairs, seed {args.seed}, {elapsed:.0f} s ({elapsed / total:.2f} s per pair)\n")
    print(f"{'outcome':<17}" + "".join(f"{k:>14}" for k in ("done", "refused", "partly done", "other")))
    for name, _, _ in WINDOWS:
        row = by_window[name]
        other = sum(v for k, v in row.items() if k not in ("done", "refused", "partly done"))
        print(f"{name:<17}" + "".join(f"{row[k]:>14}" for k in ("done", "refused", "partly done")) + f"{other:>14}")
    print(f"{'all':<17}" + "".join(f"{kinds[k]:>14}" for k in ("done", "refused", "partly done"))
          + f"{total - kinds['done'] - kinds['refused'] - kinds['partly done']:>14}")
    print(f"\nforbidden outcomes (each must be 0), as a proportion of {total} pairs:")
    for name in FORBIDDEN:
        print(f"  {name:<22}{forbidden[name]:>5}   {forbidden[name] / total:.3%}")
    for example in examples:
        print(f"    e.g. {example}")
    print("\nrefusals by rule:")
    for rule, n in refusals.most_common():
        print(f"  {n:>5}  {rule}")
    if ratios:
        print(f"\nbroker order actions per executed rebalance / minimum (one order per approved slice), "
              f"{len(ratios)} runs: median {statistics.median(ratios):.2f}×, mean {statistics.fmean(ratios):.2f}×, "
              f"max {max(ratios):.2f}×")
        print(f"broker reads per executed rebalance: median {statistics.median(reads):.0f}, max {max(reads)}")


if __name__ == "__main__":
    main()
