"""Shared test fixtures: the location of ../shared price data, and a guard against internet access."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

SHARED_PRICES = Path(__file__).resolve().parents[2] / "shared" / "data" / "prices"


@pytest.fixture
def shared_prices() -> Path:
    if not (SHARED_PRICES / "KRX_069500.csv").exists():
        pytest.skip(f"needs ../shared/data/prices (real price history), absent at {SHARED_PRICES}")
    return SHARED_PRICES


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address) -> None:  # type: ignore[no-untyped-def]
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
        raise OSError(f"tests must not reach the network: connect to {host!r} blocked")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
