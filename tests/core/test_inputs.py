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
