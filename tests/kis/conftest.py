"""Every test of the KIS client is also a leak check: no secret may reach a log line."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _no_secrets_in_logs(caplog: pytest.LogCaptureFixture, h):
    caplog.set_level(logging.DEBUG)
    yield
    accounts = [a for a in h.exchange.accounts.values()]
    tokens = [t.token for t in h.app.state.tokens._tokens.values()]
    secrets = [s for a in accounts for s in (a.app_key, a.app_secret, a.cano, a.number)] + tokens
    text = caplog.text
    leaked = [s[:4] + "…" for s in secrets if s in text]
    assert not leaked, f"secrets in the log: {leaked}"
