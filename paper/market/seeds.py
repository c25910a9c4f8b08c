"""Reproducible random streams keyed by (seed, ticker, purpose, …), independent of call order."""

from __future__ import annotations

import hashlib

import numpy as np

# Purposes, so the streams behind different things never coincide.
SYNTHETIC_DAILY = 1
CONTINUATION_DAILY = 2
INTRADAY_PATH = 3
INTRADAY_BOOK = 4


def ticker_key(ticker: str) -> int:
    """A stable 64-bit number for a ticker (``hash()`` is salted per process, so unusable here)."""
    return int.from_bytes(hashlib.blake2b(ticker.encode(), digest_size=8).digest(), "big")


def rng(seed: int, ticker: str, purpose: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, ticker_key(ticker), purpose, *parts]))
