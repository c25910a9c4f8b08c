"""Inputs that explain themselves: tickers are exactly six ASCII digits, text files are UTF-8 (with or
without a BOM) or refused with the full path and a hint, booleans are booleans, and no setting can
be infinite or so small that a run hangs."""

from __future__ import annotations

import pytest

from agent.config import ConfigError, RebalConfig, load_config
from tools.market import is_valid_ticker
from tools.targets import TargetsError, load_targets

FLAT = '[weights]\n"069500" = 60\n"152380" = 35\ncash = 5\n'


@pytest.mark.parametrize("ticker", ["069500\n", " 069500", "069500 ", "０６９５００", "69500", "0695001", "Q06950",
                                    "q069500", "06950O", ""])
def test_only_six_ascii_digits_are_a_ticker(ticker):
    assert not is_valid_ticker(ticker)


def test_tickers_that_are():
    assert is_valid_ticker("069500") and is_valid_ticker("Q500001")


def test_a_ticker_with_a_trailing_newline_is_refused_in_targets(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[weights]\n"069500\\n" = 60\n"152380" = 35\ncash = 5\n')
    with pytest.raises(TargetsError, match="069500"):
        load_targets(path)


@pytest.mark.parametrize(("encoding", "hint"), [("cp949", "CP949"), ("utf-16", "UTF-16")])
def test_a_targets_file_not_in_utf8_is_refused_with_its_path_and_a_hint(tmp_path, encoding, hint):
    path = tmp_path / "목표.csv"
    path.write_bytes("ticker,weight,name\n069500,60,코덱스200\n152380,35,국고채\ncash,5,현금\n".encode(encoding))
    with pytest.raises(TargetsError) as error:
        load_targets(path)
    message = str(error.value)
    assert str(path.resolve()) in message and hint in message and "save it as UTF-8" in message


def test_utf8_with_a_bom_is_read(tmp_path):
    config = tmp_path / "rebal.toml"
    config.write_bytes("\ufeff[broker]\nmode = \"embedded\"\n".encode())
    assert load_config(config).broker.mode == "embedded"
    targets = tmp_path / "t.toml"
    targets.write_bytes(("\ufeff" + FLAT).encode())
    assert load_targets(targets).flat()["069500"] == pytest.approx(0.6)


@pytest.mark.parametrize(("make", "needle"), [
    (lambda p: p.mkdir(), "is a folder, not a config file"),
    (lambda p: p.write_bytes('[broker]\nmode = "embedded"  # 모의\n'.encode("cp949")), "CP949"),
    (lambda p: None, "no such config file"),
])
def test_a_config_that_cannot_be_read_says_which_and_why(tmp_path, make, needle):
    path = tmp_path / "rebal.toml"
    make(path)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert needle in str(error.value) and str(path.resolve()) in str(error.value)


@pytest.mark.parametrize("section", [
    {"broker": {"allow_real_trading": "false"}},  # a string is not a boolean (it used to read as true)
    {"planner": {"use_llm": "no"}},
    {"approval": {"ttl_seconds": 1e-9}},  # expired before anyone could answer: re-planned for ever
    {"broker": {"requests_per_second": 1e-9}},  # a call every 30 years
    {"execution": {"fill_window_minutes": float("inf")}},
    {"approval": {"quote_tolerance_bp": float("nan")}},
    {"planner": {"timeout": float("inf")}},
])
def test_settings_that_would_hang_or_mislead_are_refused(section):
    with pytest.raises(ValueError):
        RebalConfig.model_validate(section)


def test_cash_must_be_a_boolean_in_a_class(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[classes.equity]\nweight = 95\ninstruments = { "069500" = 100 }\n'
                    '[classes.reserve]\nweight = 5\ncash = "false"\n')
    with pytest.raises(TargetsError, match="cash must be true or false"):
        load_targets(path)


# --- `rebal targets show` / `check`: what the file means, in which units, from which file --------


def _cli(*args: str):
    from typer.testing import CliRunner

    from agent.commands.cli import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_targets_show_prints_the_portfolio_version_units_and_full_path(tmp_path, monkeypatch):
    path = tmp_path / "목표.csv"
    path.write_text("ticker,weight,name\n069500,0.6,KODEX 200\n152380,0.3,\ncash,0.1,\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, output = _cli("targets", "show", "목표.csv")
    assert code == 0, output
    rows = {cells[1]: cells for cells in ([c.strip() for c in line.split("│")[1:-1]]
                                          for line in output.splitlines() if line.startswith("│"))}
    assert rows["069500"][2:] == ["KODEX 200", "", "60.00%"] and rows["cash"][-1] == "10.00%"
    version = load_targets(path).version
    assert f"version: {version}" in output
    assert "units: fractions — weights read as fractions (they sum to 1, e.g. 0.3 = 30%)" in output
    assert f"source: {path.resolve()}" in output


def test_targets_show_of_a_two_level_file_gives_both_weights():
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "examples" / "targets" / "demo.toml"
    code, output = _cli("targets", "show", str(demo))
    assert code == 0, output
    assert any(line.split("│")[1:-1] and [c.strip() for c in line.split("│")[1:-1]] ==
               ["equity", "069500", "KODEX 200", "50.00%", "20.00%"] for line in output.splitlines())
    assert 'units: percent — weights read as percent (units = "percent")' in output


def test_targets_check_says_the_units_and_refuses_a_sum_that_is_neither(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("ticker,weight\n069500,0.5\n152380,0.5\n", encoding="utf-8")
    code, output = _cli("targets", "check", str(good))
    assert code == 0 and "note: weights read as fractions" in output
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,weight\n069500,30\n152380,27\n", encoding="utf-8")
    code, output = _cli("targets", "check", str(bad))
    said = " ".join(output.split())
    assert code == 2 and f"{bad.resolve()}: the weights sum to 57" in said and "5700%" in said


def test_targets_check_asks_the_broker_only_when_told(tmp_path):
    """Offline by default; with --broker every ticker is looked up in the (embedded) exchange's master."""
    config = tmp_path / "rebal.toml"
    config.write_text(f'[broker]\nmode = "embedded"\n[paths]\nhome = "{tmp_path / "home"}"\n', encoding="utf-8")
    targets = tmp_path / "t.csv"
    targets.write_text("ticker,weight\n069500,60\n123456,40\n", encoding="utf-8")
    code, output = _cli("targets", "check", str(targets), "-c", str(config))
    assert code == 0 and "broker" not in output and not (tmp_path / "home").exists()
    code, output = _cli("targets", "check", str(targets), "--broker", "-c", str(config))
    said = " ".join(output.split())
    assert code == 2 and "target 123456 is not a listed instrument (KIS product info: " in said
    assert "069500 is not" not in said


# --- the broker: a base_url that cannot be used is said, not silently dropped --------------------


def test_auto_mode_with_a_base_url_and_no_credentials_says_the_url_is_ignored(tmp_path, monkeypatch):
    from support.runkit import make_config

    from agent.broker import connect

    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("tools.kis.config.DEVLP_YAML", tmp_path / "kis_devlp.yaml")  # none here
    config = make_config(tmp_path, broker={"mode": "auto", "base_url": "http://127.0.0.1:29443"})
    connection = connect(config)
    try:
        assert connection.embedded is not None and connection.broker_kind == "embedded"
        [note] = connection.notes
        assert note.startswith("broker.base_url http://127.0.0.1:29443 ignored: no KIS credentials found (")
        assert "using the embedded paper exchange" in note
    finally:
        connection.close()
