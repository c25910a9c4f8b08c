"""`rebal paper serve` and `rebal paper clock` as a person types them."""

from __future__ import annotations

from typer.testing import CliRunner

from agent.commands.cli import app
from paper.process import served_exchange


def test_serve_refuses_a_non_loopback_host_before_claiming_to_listen(tmp_path):
    result = CliRunner().invoke(app, ["paper", "serve", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "binds to loopback only" in result.output and "on http://0.0.0.0" not in result.output


def test_clock_set_earlier_says_the_exchange_never_rewinds(tmp_path):
    with served_exchange(tmp_path / "exchange.db", "--date", "2026-11-20", "--time", "10:00", "--speed", "0") as url:
        cli = CliRunner()
        back = cli.invoke(app, ["paper", "clock", "set", "2026-11-20T09:30:00+09:00", "--url", url])
        assert back.exit_code == 0, back.output
        assert "2026-11-20T10:00" in back.output and "never rewinds" in back.output
        ahead = cli.invoke(app, ["paper", "clock", "advance", "15m", "--url", url])
        assert "2026-11-20T10:15" in ahead.output and "never rewinds" not in ahead.output
