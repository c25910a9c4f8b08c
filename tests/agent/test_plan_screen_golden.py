"""The plan screen, rendered from a real run's approval request and state, against golden text.

The runs are made on the embedded paper exchange on a fixed session date (the synthetic market is
the same every time); the random run id and the plan hash are normalised. ``REBAL_UPDATE_GOLDEN=1``
rewrites the golden files (then read the diff before committing it).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console
from support.paperkit import SESSION
from support.runkit import make_config, reject, runner

from agent.review.terminal import TerminalApprover
from tools.market import KST

GOLDEN = Path(__file__).parent / "golden"
RUN_ID = re.compile(r"\b\d{4}-\d{2}-\d{2}-[0-9a-f]{8}\b")
PLAN = re.compile(r"\b(plan|계획) [0-9a-f]{12}\b")


def captured_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: dt.time | None = None) -> tuple[dict, dict]:
    """The request and state values the approver of a real run is called with (then it rejects)."""
    import paper.embedded

    fixed = paper.embedded.embedded_settings
    monkeypatch.setattr(paper.embedded, "embedded_settings", lambda today=None, **kw: fixed(SESSION, **kw))
    shown: list[tuple[dict, dict]] = []

    def capture(request: dict, values: dict):
        shown.append((request, values))
        return reject(request, values)

    with runner(make_config(tmp_path)) as r:
        if at is not None:  # the clock moved outside the session before the run reads the account
            exchange = r.broker.embedded.exchange
            exchange.clock.set(dt.datetime.combine(exchange.clock.now().date(), at, KST))
            exchange.sync()
        r.start(capture)
    return shown[0]


def rendered(request: dict, values: dict, width: int, language: str) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)  # recorded, not printed
    TerminalApprover(console, language=language).show_plan(request, values)  # type: ignore[arg-type]
    text = "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"
    return PLAN.sub(r"\1 PLAN_HASH", RUN_ID.sub("RUN_ID", text))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("REBAL_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with REBAL_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden text"


def test_the_plan_screen_in_english_and_korean(tmp_path, monkeypatch):
    request, values = captured_run(tmp_path, monkeypatch)
    for language in ("en", "ko"):
        for width in (80, 160):
            text = rendered(request, values, width, language)
            assert "[]" not in text and "069500/069500" not in text
            check_golden(f"plan_{language}_{width}.txt", text)


def test_the_plan_screen_when_the_market_has_closed(tmp_path, monkeypatch):
    request, values = captured_run(tmp_path, monkeypatch, at=dt.time(16, 0))
    text = rendered(request, values, 100, "en")
    assert "The market has closed for today. The next session opens at 09:00 on" in " ".join(text.split())
    check_golden("plan_closed_en_100.txt", text)
