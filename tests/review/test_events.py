"""Every transcript kind is typed, as real runs write it; a wrong shape fails when written; an
unknown kind or an older line still loads and is shown as stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review.realruns import FROZEN_DAY, RealRun

from agent.events import KNOWN_KINDS, EventShapeError, FillEvent, typed, validate
from agent.review.transcripts import _document, to_markdown
from agent.transcript import SHAPE_ERROR, Transcript, read_events

REAL_RUNS = ["headless_run", "repriced_run", "cancelled_run", "resumed_run"]


@pytest.mark.parametrize("fixture", REAL_RUNS)
def test_every_event_of_a_real_run_is_typed_and_on_the_exchange_clock(fixture: str, request) -> None:
    run: RealRun = request.getfixturevalue(fixture)
    events = read_events(run.transcript)
    untyped = [(e.kind, e.data) for e in events if typed(e) is None]
    assert not untyped, untyped
    assert {e.kind for e in events} <= KNOWN_KINDS
    # The exchange's simulated clock, not the wall clock: the frozen session day, from 10:00 KST.
    assert {e.market_at[:10] for e in events if e.market_at} == {FROZEN_DAY.isoformat()}
    assert all(e.market_at and e.market_at[11:16] >= "10:00" for e in events)


def test_a_wrong_shape_is_recorded_as_such_and_the_run_goes_on(tmp_path: Path) -> None:
    transcript = Transcript(tmp_path, "r1")
    with pytest.raises(EventShapeError, match="fill"):
        validate("fill", {"key": "r1/T01/1", "order_no": "1", "ticker": "069500", "side": "sell", "qty": 3})
    wrong = transcript.write("fill", key="r1/T01/1", order_no="1", ticker="069500", side="sell", qty=3)
    assert wrong.kind == SHAPE_ERROR and wrong.data["kind"] == "fill" and "filled" in wrong.data["error"]
    assert wrong.data["data"]["qty"] == 3 and typed(wrong) is None  # kept as written, shown as unknown
    transcript.path.unlink()  # the suite fails on any event_shape_error left in its files
    transcript = Transcript(tmp_path, "r1")
    written = transcript.write("fill", key="r1/T01/1", order_no="1", ticker="069500", side="sell", filled=3,
                               average_price=100.0, remaining=0)
    assert isinstance(typed(written), FillEvent) and written.market_at is None  # no clock given


def test_an_unknown_kind_and_an_old_line_still_load(headless_run: RealRun, tmp_path: Path) -> None:
    lines = headless_run.transcript.read_text(encoding="utf-8").splitlines()
    old = []
    for line in lines:  # as an older Rebal wrote them: no exchange clock
        event = json.loads(line)
        event.pop("market_at")
        old.append(json.dumps(event, ensure_ascii=False))
    newer = {"seq": len(old) + 1, "at": "2025-06-02T10:00:01.000+09:00", "run_id": headless_run.run_id,
             "kind": "margin_call", "data": {"amount": 1234, "why": "a kind from a newer Rebal"}}
    path = tmp_path / f"{headless_run.run_id}.jsonl"
    path.write_text("\n".join([*old, json.dumps(newer)]) + "\n", encoding="utf-8")
    events = read_events(path)
    assert events[-1].kind == "margin_call" and typed(events[-1]) is None
    document = _document(path)
    assert dict(document.header)["times"].startswith("wall clock (KST)")
    (others,) = [s for s in document.sections if s.title == "Other events"]
    assert "margin_call" in str(others.blocks) and "a kind from a newer Rebal" in str(others.blocks)
    markdown = to_markdown(path)
    assert "+00:00" not in markdown, "a UTC time is shown"
    assert "## Execution" in markdown and "✓ filled" in markdown
