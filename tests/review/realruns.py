"""Transcripts made by real runs on the embedded paper exchange, in the test itself.

The exchange's session day is frozen (``FROZEN_DAY``) so its prices, and so the golden texts,
are the same every day; the run ids are random and the wall clock moves, so goldens normalise
them (``normalise``). ``REBAL_UPDATE_GOLDEN=1`` rewrites the golden files.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.runkit import ScriptedApprover, approve, edit, make_config, runner
from support.truthkit import account_orders, on_points

from agent.approval import Edit
from agent.config import DEMO_TARGETS
from agent.runner import RunResult, auto_approver

FROZEN_DAY = dt.date(2025, 6, 2)  # a Monday session
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(autouse=True)
def frozen_session_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded exchange opens on FROZEN_DAY (10:00 KST) instead of today's session."""
    import paper.embedded

    original = paper.embedded.embedded_settings
    monkeypatch.setattr(paper.embedded, "embedded_settings",
                        lambda today=None, **overrides: original(FROZEN_DAY, **overrides))


@dataclass
class RealRun:
    result: RunResult
    transcript: Path
    exchange_orders: list  # paper.ledger.Order of the run's account, as the exchange holds them

    @property
    def run_id(self) -> str:
        return self.result.run_id


# The targets' path is shown in the review (it is the run's source): a fixed one keeps the goldens
# the same on every machine and checkout. Every run reads the same content; nothing writes there.
TARGETS = Path("/tmp/rebal-review-golden/demo.toml")


def _config(home: Path, **sections):
    if not TARGETS.exists() or TARGETS.read_bytes() != DEMO_TARGETS.read_bytes():
        TARGETS.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_TARGETS, TARGETS)
    return make_config(home, targets={"file": str(TARGETS)}, **sections)


def real_run(home: Path, *, headless: bool = False, approver: Callable | None = None, **sections) -> RealRun:
    with runner(_config(home, **sections), headless=headless) as r:
        result = r.start(approver if approver is not None else auto_approver)
        return RealRun(result, result.transcript, account_orders(r.broker.embedded.exchange, r.broker.account))


def smallest_buy(request: dict) -> dict:
    return min((t for t in request["trades"] if t["side"] == "buy"), key=lambda t: t["notional"])


def passive_buy(request: dict, state: dict):
    """The smallest buy as 04 (best own price), so it rests and its remainder gets re-priced."""
    buy = smallest_buy(request)
    return edit(Edit(kind="order_type", trade_id=buy["trade_id"], order_type="04"))(request, state)


REPRICING = {"guardrails": {"weight_tolerance": 0.5}, "execution": {"fill_window_minutes": 0.5, "poll_seconds": 5}}


@pytest.fixture
def headless_run(tmp_path: Path) -> RealRun:
    return real_run(tmp_path, headless=True)


@pytest.fixture
def repriced_run(tmp_path: Path) -> RealRun:
    """Interactive, edited (a passive buy), re-priced once within the approval's tolerance."""
    return real_run(tmp_path, approver=ScriptedApprover(passive_buy, approve),
                    approval={"quote_tolerance_bp": 500}, **REPRICING)


@pytest.fixture
def cancelled_run(tmp_path: Path) -> RealRun:
    """A re-price beyond the tolerance: the remainder is cancelled, the run partly done."""
    return real_run(tmp_path, approver=ScriptedApprover(passive_buy, approve),
                    approval={"quote_tolerance_bp": 0.01}, **REPRICING)


class Crash(BaseException):
    """Stands in for kill -9 in-process: nothing after the point runs."""


@pytest.fixture
def resumed_run(tmp_path: Path) -> RealRun:
    """Crashed right after the second order was sent, then resumed to the end."""
    def crash() -> None:
        raise Crash

    with runner(_config(tmp_path), headless=True) as r:
        with pytest.MonkeyPatch.context() as hooks:
            on_points(hooks, {"after_send#2": crash})
            with pytest.raises(Crash):
                r.start(auto_approver)
        run_id = r.active_run
        assert run_id is not None
        result = r.resume(run_id, ScriptedApprover())
        return RealRun(result, result.transcript, account_orders(r.broker.embedded.exchange, r.broker.account))


# --- golden texts ----------------------------------------------------------------------------------

_RUN_ID = re.compile(r"(\d{4}-\d{2}-\d{2}-)[0-9a-f]{8}")
_ACCOUNT = re.compile(r"\d{4}\*{4}-\d{2}")
_SECONDS = re.compile(r"\b\d\.\d\d s\b")


def normalise(text: str) -> str:
    """What varies between runs, replaced by placeholders of the same length (tables and panels
    stay aligned): the run id's random part, the masked account, the solver's seconds. Rich pads
    lines to the width: trailing blanks are dropped."""
    text = _RUN_ID.sub(r"\1xxxxxxxx", text)
    text = _ACCOUNT.sub("NNNN****-NN", text)
    text = _SECONDS.sub("N.NN s", text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("REBAL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with REBAL_UPDATE_GOLDEN=1 to write it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file (REBAL_UPDATE_GOLDEN=1 rewrites it)"
