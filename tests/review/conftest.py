"""Fixtures: transcripts made by real runs on the embedded paper exchange (``review.realruns``)."""

from __future__ import annotations

from review.realruns import (  # noqa: F401  (pytest finds fixtures by name)
    cancelled_run,
    frozen_session_day,
    headless_run,
    repriced_run,
    resumed_run,
)
