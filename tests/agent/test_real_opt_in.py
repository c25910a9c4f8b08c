"""Real accounts trade only with the explicit opt-in, and interactively only after the account
number is typed back. Nothing reaches the network before both."""

from __future__ import annotations

import pytest
from support.runkit import make_config

from agent.broker import BrokerError, connect

KEY = "PS" + "r" * 34
SECRET = "s" * 180


@pytest.fixture
def real_credentials(monkeypatch):
    monkeypatch.setenv("KIS_APP_KEY", KEY)
    monkeypatch.setenv("KIS_APP_SECRET", SECRET)
    monkeypatch.setenv("KIS_ACCOUNT", "6001234501")


def test_real_profile_without_opt_in_is_refused(tmp_path, real_credentials):
    config = make_config(tmp_path, broker={"mode": "kis", "profile": "real"})
    with pytest.raises(BrokerError, match="allow_real_trading = true"):
        connect(config)


def test_real_profile_needs_the_typed_account_number(tmp_path, real_credentials):
    config = make_config(tmp_path, broker={"mode": "kis", "profile": "real", "allow_real_trading": True})
    asked = []
    with pytest.raises(BrokerError, match="did not match"):
        connect(config, confirm_real=lambda account: asked.append(account) or False)
    assert asked == ["60012345-01"]


def test_kis_mode_without_credentials_says_what_was_tried(tmp_path, monkeypatch):
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("tools.kis.config.DEVLP_YAML", tmp_path / "kis_devlp.yaml")  # none here
    config = make_config(tmp_path, broker={"mode": "kis"})
    with pytest.raises(BrokerError, match="KIS_APP_KEY"):
        connect(config)


def test_auto_mode_without_credentials_uses_the_embedded_exchange(tmp_path, monkeypatch):
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("tools.kis.config.DEVLP_YAML", tmp_path / "kis_devlp.yaml")
    connection = connect(make_config(tmp_path, broker={"mode": "auto"}))
    try:
        assert connection.embedded is not None and "embedded paper exchange" in connection.description
        assert any("using the embedded paper exchange" in note for note in connection.notes)
        assert not connection.is_real
    finally:
        connection.close()
