"""Where the real price history lies (../shared beside the repository), read in place, never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"


def require_shared_prices() -> Path:
    """The folder, or a plainly worded skip when this machine has no ../shared."""
    if not (SHARED_PRICES / "KRX_069500.csv").exists():
        pytest.skip(f"needs ../shared/data/prices (real price history), absent at {SHARED_PRICES}")
    return SHARED_PRICES
