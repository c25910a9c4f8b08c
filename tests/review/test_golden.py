"""Golden texts of a real headless run's review: rich at 80 and 160 columns, Markdown, Korean.

The session day is frozen (``review.realruns``), so prices, quantities, order numbers and exchange
times are the same on every run; what still varies (the run id's random part, the account number,
the solver's seconds) is normalised. ``REBAL_UPDATE_GOLDEN=1`` rewrites the files after a reviewed
change.
"""

from __future__ import annotations

import io

import pytest
from review.realruns import RealRun, assert_golden, normalise
from rich.console import Console

from agent.review.transcripts import render, to_markdown


def rich_text(run: RealRun, width: int, language: str = "en") -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    render(run.transcript, console, language)  # type: ignore[arg-type]
    return console.export_text()


@pytest.mark.parametrize("width", [80, 160])
def test_rich_review(headless_run: RealRun, width: int) -> None:
    text = rich_text(headless_run, width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert_golden(f"headless_{width}.txt", normalise(text))


def test_markdown_review(headless_run: RealRun) -> None:
    assert_golden("headless.md", normalise(to_markdown(headless_run.transcript)))


def test_korean_review(headless_run: RealRun) -> None:
    text = rich_text(headless_run, 120, "ko")
    for heading in ("계좌", "드리프트", "매매", "주문 실행", "보고서", "매도", "매수", "지정가"):
        assert heading in text, heading
    assert_golden("headless_ko_120.txt", normalise(text))
    assert_golden("headless_ko.md", normalise(to_markdown(headless_run.transcript, "ko")))
