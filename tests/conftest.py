"""Shared test fixtures: the location of ../shared price data, and a guard against internet access."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from support.shared_data import require_shared_prices


@pytest.fixture
def shared_prices() -> Path:
    return require_shared_prices()


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address) -> None:  # type: ignore[no-untyped-def]
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
        raise OSError(f"tests must not reach the network: connect to {host!r} blocked")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
