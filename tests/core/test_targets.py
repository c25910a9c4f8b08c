"""Target sources (TOML, CSV, SQLite decisions) and their validation messages."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from tools.targets import (
    Targets,
    TargetsError,
    decision_history,
    load_latest_decision,
    load_payload,
    load_targets,
    parse_csv,
    parse_toml,
    record_decision,
    targets_from_weights,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"

TWO_LEVEL = """
label = "t"
[classes.equity]
weight = 40
instruments = { "069500" = 50, "360750" = 50 }
[classes.bonds]
weight = 55
instruments = { "152380" = 100 }
[classes.cash]
weight = 5
"""


def problems_of(text: str, *, csv: bool = False, **kwargs) -> list[str]:
    with pytest.raises(TargetsError) as info:
        (parse_csv if csv else parse_toml)(text, source="t.csv" if csv else "t.toml", **kwargs)
    return info.value.problems


# --- loading --------------------------------------------------------------------------------


def test_demo_toml_loads_two_levels_with_cash() -> None:
    targets = load_targets(EXAMPLES / "demo.toml")
    assert targets.form == "mp"
    assert [c.name for c in targets.classes] == ["equity", "bonds", "gold", "dollar", "cash"]
    assert targets.cash_weight == pytest.approx(0.05)
    flat = targets.flat()
    assert flat["069500"] == pytest.approx(0.20)  # 40 % × 50 %
    assert flat["133690"] == pytest.approx(0.08)  # 40 % × 20 %
    assert sum(flat.values()) + targets.cash_weight == pytest.approx(1.0)
    assert targets.names()["360750"] == "TIGER 미국S&P500"
    assert targets.class_of("308620").name == "bonds"
    assert targets.source == "demo.toml"


def test_flat_csv_loads_as_one_class_per_ticker() -> None:
    targets = load_targets(EXAMPLES / "flat.csv")
    assert targets.form == "flat"
    assert targets.flat() == pytest.approx(
        {"069500": 0.225, "360750": 0.225, "152380": 0.225, "132030": 0.225, "329750": 0.10})
    assert targets.cash_weight == 0


def test_flat_toml_and_csv_with_cash_row_and_percent_sign() -> None:
    toml = parse_toml('[weights]\n"069500" = 60\n"Q500001" = 30\ncash = 10\n')
    csv = parse_csv("ticker,weight\n069500,60%\nQ500001,30\nCASH,10\n")
    assert toml.flat() == pytest.approx({"069500": 0.6, "Q500001": 0.3})
    assert toml.cash_weight == pytest.approx(0.1)
    assert toml.version == csv.version  # same economic content, same version


def test_fraction_units() -> None:
    targets = parse_toml('units = "fraction"\n[weights]\n"069500" = 0.7\n"152380" = 0.3\n')
    assert targets.flat() == pytest.approx({"069500": 0.7, "152380": 0.3})


def test_version_is_a_content_hash() -> None:
    base = parse_toml(TWO_LEVEL)
    renamed = parse_toml(TWO_LEVEL.replace('label = "t"', 'label = "other label"'))
    changed = parse_toml(TWO_LEVEL.replace('"069500" = 50, "360750" = 50', '"069500" = 60, "360750" = 40'))
    assert base.version == renamed.version
    assert base.version != changed.version
    assert len(base.version) == 16


def test_payload_round_trip() -> None:
    targets = load_targets(EXAMPLES / "demo.toml")
    again = load_payload(targets.to_payload(), source="x")
    assert again.version == targets.version
    assert again.flat() == pytest.approx(targets.flat())


def test_normalise_rescales_sums_when_asked() -> None:
    text = '[classes.a]\nweight = 30\ninstruments = { "069500" = 1, "360750" = 3 }\n[classes.b]\nweight = 30\ninstruments = { "152380" = 2 }\n'
    with pytest.raises(TargetsError):
        parse_toml(text)
    targets = parse_toml(text, normalise=True)
    assert targets.flat() == pytest.approx({"069500": 0.125, "360750": 0.375, "152380": 0.5})


def test_targets_from_weights_dict() -> None:
    targets = targets_from_weights({"069500": 0.5, "152380": 0.4, "cash": 0.1})
    assert targets.cash_weight == pytest.approx(0.1)
    assert targets.flat() == pytest.approx({"069500": 0.5, "152380": 0.4})


# --- validation messages ----------------------------------------------------------------------


def test_negative_instrument_weight_names_file_class_and_ticker() -> None:
    problems = problems_of(TWO_LEVEL.replace('"069500" = 50, "360750" = 50', '"069500" = -10, "360750" = 110'))
    assert 't.toml: class "equity": ticker 069500 weight -10% is negative' in problems


def test_negative_class_weight() -> None:
    problems = problems_of(TWO_LEVEL.replace("weight = 55", "weight = -55"))
    assert 't.toml: class "bonds" weight -55% is negative' in problems


def test_class_sum_off_100() -> None:
    problems = problems_of(TWO_LEVEL.replace("weight = 55", "weight = 50"))
    assert problems == ["t.toml: class weights sum to 95% (expected 100%)"]


def test_instrument_sum_off_100() -> None:
    problems = problems_of(TWO_LEVEL.replace('"360750" = 50', '"360750" = 40'))
    assert problems == ['t.toml: class "equity": instrument weights sum to 90% (expected 100%)']


def test_sum_tolerance_is_one_in_a_million() -> None:
    parse_toml(TWO_LEVEL.replace("weight = 55", "weight = 55.00001"))  # 1e-7 off: accepted
    problems = problems_of(TWO_LEVEL.replace("weight = 55", "weight = 55.001"))  # 1e-5 off
    assert problems == ["t.toml: class weights sum to 100.001% (expected 100%)"]


def test_duplicate_ticker_in_toml_is_reported_with_its_line() -> None:
    problems = problems_of('[weights]\n"069500" = 50\n"069500" = 50\n')
    assert len(problems) == 1
    assert problems[0].startswith('t.toml: line 3: duplicate entry `"069500" = 50`')


def test_duplicate_ticker_in_inline_table() -> None:
    problems = problems_of('[classes.eq]\nweight = 100\ninstruments = { "069500" = 50, "069500" = 50 }\n')
    assert "t.toml: line 3: duplicate entry" in problems[0]
    assert "069500" in problems[0]


def test_duplicate_ticker_in_csv_names_both_lines() -> None:
    problems = problems_of("ticker,weight\n069500,50\n152380,0\n069500,50\n", csv=True)
    assert problems == ["t.csv: line 4: duplicate ticker 069500 (first on line 2)"]


def test_ticker_in_two_classes() -> None:
    problems = problems_of(TWO_LEVEL.replace('instruments = { "152380" = 100 }',
                                             'instruments = { "152380" = 50, "069500" = 50 }'))
    assert 't.toml: class "bonds": ticker 069500 is also in class "equity"' in problems


def test_empty_class() -> None:
    problems = problems_of(TWO_LEVEL + "[classes.gold]\nweight = 0\n")
    assert 't.toml: class "gold" is empty (no instruments)' in problems


def test_cash_class_cannot_hold_instruments() -> None:
    problems = problems_of(TWO_LEVEL.replace("[classes.cash]\nweight = 5",
                                             '[classes.cash]\ncash = true\nweight = 5\ninstruments = { "329750" = 100 }'))
    assert 't.toml: class "cash": the cash class cannot hold instruments' in problems


def test_malformed_tickers() -> None:
    problems = problems_of('[classes.eq]\nweight = 100\ninstruments = { "69500" = 50, "A05930" = 25, "Q12345" = 25 }\n')
    expected = "(expected 6 digits, or Q + 6 digits for an ETN)"
    assert f"t.toml: class \"eq\": ticker '69500' is malformed {expected}" in problems
    assert f"t.toml: class \"eq\": ticker 'A05930' is malformed {expected}" in problems
    assert f"t.toml: class \"eq\": ticker 'Q12345' is malformed {expected}" in problems


def test_etn_code_with_q_prefix_is_valid() -> None:
    assert parse_toml('[weights]\n"Q500001" = 100\n').tickers == ("Q500001",)


def test_unknown_tickers_from_a_set_and_a_callable() -> None:
    known = {"069500", "360750"}
    problems = problems_of(TWO_LEVEL, known_tickers=known)
    assert problems == ['t.toml: class "bonds": ticker 152380 is not a known instrument']
    problems = problems_of(TWO_LEVEL, known_tickers=lambda t: t != "360750")
    assert problems == ['t.toml: class "equity": ticker 360750 is not a known instrument']


def test_flat_messages_name_the_ticker_without_a_class() -> None:
    problems = problems_of("ticker,weight\n069500,110\n152380,-10\n", csv=True)
    assert problems == ["t.csv: ticker 152380 weight -10% is negative"]
    problems = problems_of("ticker,weight\n069500,abc\n", csv=True)
    assert problems == ["t.csv: line 2: weight 'abc' for 069500 is not a number"]


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of('[classes.eq]\nweight = 90\ninstruments = { "069500" = -10, "12345" = 110 }\n'
                           '[classes.b]\nweight = 10\ninstruments = { "069500" = 100 }\n')
    assert len(problems) == 3  # negative, malformed, in two classes (sums are fine)


def test_structure_errors() -> None:
    assert problems_of('[weights]\n"069500" = 100\n[classes.a]\nweight = 1\n')[0].startswith(
        "t.toml: expected exactly one of")
    assert problems_of('[classes.a]\nwieght = 100\ninstruments = { "069500" = 100 }\n')[:2] == [
        't.toml: class "a": unknown key(s) wieght', 't.toml: class "a": missing weight']
    assert problems_of('units = "bp"\n[weights]\n"069500" = 100\n') == [
        't.toml: units must be "percent" or "fraction", got \'bp\'']
    assert problems_of("ticker;weight\n", csv=True) == [
        "t.csv: line 1: header must name columns ticker and weight"]


def test_targets_model_rejects_invalid_direct_construction() -> None:
    targets = parse_toml(TWO_LEVEL)
    bad = targets.model_dump()
    bad["classes"][0]["weight"] = 0.5
    with pytest.raises(ValueError, match="class weights sum to 110%"):
        Targets.model_validate(bad)


def test_missing_file() -> None:
    # The whole path, so the person knows which file was meant.
    with pytest.raises(TargetsError, match=re.escape(f"{(EXAMPLES / 'nope.toml').resolve()}: no such targets file")):
        load_targets(EXAMPLES / "nope.toml")


# --- SQLite decisions -----------------------------------------------------------------------


def test_decisions_table_latest_applies_and_history_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "targets.db"
    first = parse_toml('[weights]\n"069500" = 100\n', source="a.toml")
    second = load_targets(EXAMPLES / "demo.toml")
    third = load_targets(EXAMPLES / "flat.csv")
    record_decision(db, first, decided_at=dt.date(2026, 1, 5))
    record_decision(db, third, decided_at=dt.datetime(2026, 3, 2, 9, 0))
    record_decision(db, second, decided_at=dt.date(2026, 2, 2))  # recorded late, dated earlier
    assert load_latest_decision(db).version == third.version
    assert load_latest_decision(db, as_of=dt.date(2026, 2, 28)).version == second.version
    assert load_latest_decision(db, as_of=dt.date(2026, 3, 2)).version == third.version  # same day counts
    assert load_latest_decision(db, as_of=dt.date(2026, 1, 5)).version == first.version
    history = decision_history(db)
    assert [d.targets.version for d in history] == [first.version, second.version, third.version]
    assert [d.source for d in history] == ["a.toml", "demo.toml", "flat.csv"]
    assert history[0].targets.source.startswith("targets.db#target_decisions/")


def test_no_decision_yet(tmp_path: Path) -> None:
    with pytest.raises(TargetsError, match=r"targets\.db: no target decision on or before 2020-01-01"):
        load_latest_decision(tmp_path / "targets.db", as_of=dt.date(2020, 1, 1))


def test_stored_decision_is_revalidated(tmp_path: Path) -> None:
    db = tmp_path / "targets.db"
    record_decision(db, parse_toml('[weights]\n"069500" = 100\n'), decided_at="2026-01-05")
    with pytest.raises(TargetsError, match="ticker 069500 is not a known instrument"):
        load_latest_decision(db, known_tickers=set())


def test_dump_and_validate_round_trip_keeps_the_version() -> None:
    targets = load_targets(EXAMPLES / "demo.toml")
    dumped = targets.model_dump(mode="json")
    assert dumped["version"] == targets.version
    assert Targets.model_validate(dumped).version == targets.version


# --- CSV units: percent or fractions, decided by the sum and said ---------------------------


def test_csv_fractions_are_read_by_their_sum_and_the_reading_is_said() -> None:
    fractions = parse_csv("ticker,weight\n069500,0.6\n152380,0.3\ncash,0.1\n", source="t.csv")
    percent = parse_csv("ticker,weight\n069500,60\n152380,30\ncash,10\n", source="t.csv")
    assert fractions.flat() == pytest.approx({"069500": 0.6, "152380": 0.3})
    assert fractions.cash_weight == pytest.approx(0.1)
    assert (fractions.units, percent.units) == ("fraction", "percent")
    assert fractions.notes == ("weights read as fractions (they sum to 1, e.g. 0.3 = 30%)",)
    assert percent.notes == ("weights read as percent (they sum to 100)",)
    assert fractions.version == percent.version  # same portfolio, however it was written


def test_a_percent_sign_says_percent() -> None:
    targets = parse_csv("ticker,weight\n069500,60%\n152380,40\n", source="t.csv")
    assert targets.units == "percent" and targets.notes == ("weights read as percent (written with %)",)


@pytest.mark.parametrize(("text", "total", "as_percent", "as_fractions"), [
    ("ticker,weight\n069500,0.3\n152380,0.2\n", "0.5", "0.5%", "50%"),
    ("ticker,weight\n069500,30\n152380,27\n", "57", "57%", "5700%"),
])
def test_a_sum_that_is_neither_100_nor_1_is_refused_with_both_readings(text, total, as_percent, as_fractions) -> None:
    assert problems_of(text, csv=True) == [
        f"t.csv: the weights sum to {total}, which is neither 100 (percent) nor 1 (fractions): read as percent "
        f"they total {as_percent}, read as fractions {as_fractions}; correct the weights (a cash row counts too)"]


def test_a_sum_near_100_reads_as_percent_and_must_still_add_up() -> None:
    assert problems_of("ticker,weight\n069500,60\n152380,39.8\n", csv=True) == [
        "t.csv: weights sum to 99.8% (expected 100%)"]


def test_normalise_takes_the_nearer_reading_and_says_so() -> None:
    targets = parse_csv("ticker,weight\n069500,0.3\n152380,0.2\n", source="t.csv", normalise=True)
    assert targets.flat() == pytest.approx({"069500": 0.6, "152380": 0.4})
    assert targets.notes == ("weights read as fractions (they sum to 0.5) and rescaled to 100%",)


def test_toml_says_its_units_and_hints_at_fractions_written_without_them() -> None:
    default = parse_toml('[weights]\n"069500" = 60\n"152380" = 40\n')
    assert default.units == "percent" and "the default" in default.notes[0]
    assert parse_toml('units = "fraction"\n[weights]\n"069500" = 1\n').notes == (
        'weights read as fraction (units = "fraction")',)
    assert problems_of('[weights]\n"069500" = 0.6\n"152380" = 0.4\n') == [
        "t.toml: weights sum to 1% (expected 100%)",
        't.toml: the weights sum to 1, as fractions do: write units = "fraction" at the top of the file']


# --- every targets message names the file by its full path ------------------------------------


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("t.csv", "ticker,weight\n069500,30\n152380,27\n", "neither 100"),
    ("t.csv", "ticker,weight\n069500,abc\n", "is not a number"),
    ("t.csv", "ticker;weight\n", "header must name"),
    ("t.toml", '[weights]\n"069500" = 60\n', "sum to 60%"),
    ("t.toml", "[weights\n", "invalid TOML"),
    ("t.toml", 'units = "permille"\n[weights]\n"069500" = 100\n', "units must be"),
    ("t.toml", '[classes.a]\nweight = 100\ninstruments = { "06950" = 100 }\n', "malformed"),
])
def test_every_targets_error_names_the_full_path(tmp_path: Path, monkeypatch, name, text, needle) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TargetsError) as error:
        load_targets(name)  # a relative path, as a config may give it
    assert error.value.problems
    assert all(p.startswith(f"{tmp_path.resolve() / name}:") for p in error.value.problems), error.value.problems
    assert needle in str(error.value)


def test_the_source_recorded_stays_the_file_name(tmp_path: Path) -> None:
    """Transcripts and decisions record ``Targets.source``: it keeps the name; the version never had it."""
    path = tmp_path / "t.csv"
    path.write_text("ticker,weight\n069500,60\n152380,40\n", encoding="utf-8")
    targets = load_targets(path)
    assert targets.source == "t.csv"
    assert targets.version == parse_csv(path.read_text(), source="elsewhere.csv").version


def test_a_decisions_table_is_named_by_its_full_path(tmp_path: Path) -> None:
    db = tmp_path / "targets.db"
    with pytest.raises(TargetsError, match=re.escape(f"{db.resolve()}: no target decision")):
        load_latest_decision(db)
    record_decision(db, parse_toml('[weights]\n"069500" = 100\n'), decided_at="2026-01-05")
    with pytest.raises(TargetsError, match=re.escape(f"{db.resolve()}#target_decisions/1: ticker 069500 is not")):
        load_latest_decision(db, known_tickers=set())
