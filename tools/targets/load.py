"""Target portfolio sources: TOML (two-level or flat), CSV (flat), and a SQLite decisions table.

TOML, two levels (weights in percent unless ``units = "fraction"``)::

    label = "Demo"
    [classes.equity]
    weight = 40
    instruments = { "069500" = 50, "360750" = { weight = 50, name = "TIGER 미국S&P500" } }
    [classes.cash]
    cash = true
    weight = 5

TOML, flat: a ``[weights]`` table of ``"ticker" = percent`` with an optional ``cash`` key.
CSV, flat: header ``ticker,weight[,name]``, weights in percent (``22.5`` or ``22.5%``), a row
``cash,10`` for the cash class, ``#`` comment lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.targets.models import AssetClass, InstrumentTarget, Targets, TargetsError
from tools.targets.validate import KnownTickers, build_targets, flat_classes

_CLASS_KEYS = {"weight", "instruments", "cash", "label"}
_UNITS = {"percent": 100.0, "fraction": 1.0}


def load_targets(path: str | Path, *, known_tickers: KnownTickers = None, normalise: bool = False) -> Targets:
    """Load a ``.toml`` or ``.csv`` target file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return load_csv(path, known_tickers=known_tickers, normalise=normalise)
    return load_toml(path, known_tickers=known_tickers, normalise=normalise)


# --- TOML -------------------------------------------------------------------------------------


def load_toml(path: str | Path, *, known_tickers: KnownTickers = None, normalise: bool = False) -> Targets:
    path = Path(path)
    return parse_toml(_read(path), source=path.name, known_tickers=known_tickers, normalise=normalise)


def parse_toml(text: str, *, source: str = "<toml>", known_tickers: KnownTickers = None,
               normalise: bool = False) -> Targets:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetsError([_describe_toml_error(exc, text, source)]) from exc
    problems: list[str] = []
    units = data.get("units", "percent")
    if units not in _UNITS:
        raise TargetsError([f'{source}: units must be "percent" or "fraction", got {units!r}'])
    scale = _UNITS[units]
    label = str(data.get("label", ""))
    has_classes, has_flat = "classes" in data, "weights" in data
    unknown = set(data) - {"classes", "weights", "units", "label"}
    if unknown:
        problems.append(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    if has_classes == has_flat:
        problems.append(f"{source}: expected exactly one of [classes.*] (two levels) or [weights] (flat)")
    if problems:
        raise TargetsError(problems)
    if has_flat:
        rows, cash = [], None
        for key, value in _table(data["weights"], f"{source}: [weights]").items():
            weight = _number(value, f"{source}: ticker {key}", problems)
            if key.lower() == "cash":
                cash = weight / scale
            else:
                rows.append((key, weight / scale, ""))
        if problems:
            raise TargetsError(problems)
        return build_targets(flat_classes(rows, cash_weight=cash), source=source, form="flat", label=label,
                             known_tickers=known_tickers, normalise=normalise)
    classes = [_parse_class(name, body, source, scale, problems)
               for name, body in _table(data["classes"], f"{source}: [classes]").items()]
    if problems:
        raise TargetsError(problems)
    return build_targets(classes, source=source, form="mp", label=label,
                         known_tickers=known_tickers, normalise=normalise)


def _parse_class(name: str, body: Any, source: str, scale: float, problems: list[str]) -> AssetClass:
    where = f'{source}: class "{name}"'
    body = _table(body, where)
    unknown = set(body) - _CLASS_KEYS
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if "weight" not in body:
        problems.append(f"{where}: missing weight")
    weight = _number(body.get("weight", 0), where, problems) / scale
    instruments = []
    for ticker, spec in _table(body.get("instruments", {}), f"{where}: instruments").items():
        display_name = ""
        if isinstance(spec, dict):
            display_name = str(spec.get("name", ""))
            extra = set(spec) - {"weight", "name"}
            if extra:
                problems.append(f"{where}: ticker {ticker}: unknown key(s) {', '.join(sorted(extra))}")
            spec = spec.get("weight")
        value = _number(spec, f"{where}: ticker {ticker}", problems) / scale
        instruments.append(InstrumentTarget(ticker=ticker, weight=value, name=display_name))
    # A class named "cash" with no instruments is the cash class even without ``cash = true``.
    is_cash = body.get("cash", name.lower() == "cash" and not instruments)
    if not isinstance(is_cash, bool):
        problems.append(f"{where}: cash must be true or false, not {is_cash!r}")
        is_cash = False
    return AssetClass(name=name, weight=weight, instruments=tuple(instruments), is_cash=is_cash)


def _describe_toml_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> str:
    message = str(exc)
    match = re.search(r"at line (\d+), column (\d+)", message)
    duplicate = any(word in message for word in ("Duplicate", "overwrite", "twice"))
    if match and duplicate:
        line_no = int(match.group(1))
        lines = text.splitlines()
        line = lines[line_no - 1].strip() if 0 < line_no <= len(lines) else ""
        return f"{source}: line {line_no}: duplicate entry `{line}` ({message})"
    return f"{source}: invalid TOML: {message}"


# --- CSV --------------------------------------------------------------------------------------


def load_csv(path: str | Path, *, known_tickers: KnownTickers = None, normalise: bool = False) -> Targets:
    path = Path(path)
    return parse_csv(_read(path), source=path.name, known_tickers=known_tickers, normalise=normalise)


def parse_csv(text: str, *, source: str = "<csv>", known_tickers: KnownTickers = None,
              normalise: bool = False) -> Targets:
    problems: list[str] = []
    rows: list[tuple[str, float, str]] = []
    cash: float | None = None
    first_line: dict[str, int] = {}
    header: list[str] | None = None
    for line_no, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in record]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header is None:
            header = [cell.lower() for cell in cells]
            if "ticker" not in header or "weight" not in header:
                raise TargetsError([f"{source}: line {line_no}: header must name columns ticker and weight"])
            continue
        row = dict(zip(header, cells, strict=False))
        ticker = row.get("ticker", "")
        raw_weight = row.get("weight", "").removesuffix("%").strip()
        try:
            weight = float(raw_weight) / 100.0
        except ValueError:
            problems.append(f"{source}: line {line_no}: weight {raw_weight!r} for {ticker} is not a number")
            continue
        key = ticker.lower() if ticker.lower() == "cash" else ticker
        if key in first_line:
            problems.append(f"{source}: line {line_no}: duplicate ticker {ticker} (first on line {first_line[key]})")
            continue
        first_line[key] = line_no
        if key == "cash":
            cash = weight
        else:
            rows.append((ticker, weight, row.get("name", "")))
    if header is None:
        problems.append(f"{source}: no header line (ticker,weight)")
    if problems:
        raise TargetsError(problems)
    return build_targets(flat_classes(rows, cash_weight=cash), source=source, form="flat",
                         known_tickers=known_tickers, normalise=normalise)


# --- payloads and the SQLite decisions table --------------------------------------------------


def load_payload(payload: dict, *, source: str = "<payload>", known_tickers: KnownTickers = None) -> Targets:
    """Targets from ``Targets.to_payload()`` (fractions), re-validated."""
    try:
        classes = [
            AssetClass(name=c["name"], weight=float(c["weight"]), is_cash=bool(c.get("cash", False)),
                       instruments=tuple(InstrumentTarget(ticker=i["ticker"], weight=float(i["weight"]),
                                                          name=i.get("name", ""))
                                         for i in c.get("instruments", [])))
            for c in payload["classes"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise TargetsError([f"{source}: malformed payload ({exc!r})"]) from exc
    return build_targets(classes, source=source, form=payload.get("form", "mp"), label=payload.get("label", ""),
                         known_tickers=known_tickers)


_DECISIONS_DDL = """
CREATE TABLE IF NOT EXISTS target_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decided_at TEXT NOT NULL,
    source TEXT NOT NULL,
    payload_json TEXT NOT NULL
)"""


class TargetDecision(BaseModel):
    """One dated row of the decisions table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    decided_at: str
    source: str
    targets: Targets


def record_decision(db_path: str | Path, targets: Targets, *, decided_at: dt.date | dt.datetime | str,
                    source: str | None = None) -> int:
    """Append a target decision (history is kept; the latest one applies). Returns its id."""
    stamp = decided_at if isinstance(decided_at, str) else decided_at.isoformat()
    with _connect(db_path) as conn:
        cursor = conn.execute(
            "INSERT INTO target_decisions (decided_at, source, payload_json) VALUES (?, ?, ?)",
            (stamp, source or targets.source, json.dumps(targets.to_payload(), ensure_ascii=False)))
        return int(cursor.lastrowid or 0)


def decision_history(db_path: str | Path) -> list[TargetDecision]:
    """Every decision, oldest first."""
    with _connect(db_path) as conn:
        rows = conn.execute(
            "SELECT id, decided_at, source, payload_json FROM target_decisions ORDER BY decided_at, id").fetchall()
    return [_decision(row, db_path) for row in rows]


def load_latest_decision(db_path: str | Path, *, as_of: dt.date | dt.datetime | str | None = None,
                         known_tickers: KnownTickers = None) -> Targets:
    """The latest decision on or before ``as_of`` (a date includes that whole day)."""
    query = "SELECT id, decided_at, source, payload_json FROM target_decisions"
    params: tuple[str, ...] = ()
    if as_of is not None:
        bound = as_of if isinstance(as_of, str) else as_of.isoformat()
        if isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
            bound += "T99"  # sorts after any time of that day in ISO text
        query += " WHERE decided_at <= ?"
        params = (bound,)
    with _connect(db_path) as conn:
        row = conn.execute(query + " ORDER BY decided_at DESC, id DESC LIMIT 1", params).fetchone()
    if row is None:
        when = f" on or before {as_of}" if as_of is not None else ""
        raise TargetsError([f"{Path(db_path).name}: no target decision{when}"])
    return _decision(row, db_path, known_tickers=known_tickers).targets


def _decision(row: tuple, db_path: str | Path, *, known_tickers: KnownTickers = None) -> TargetDecision:
    decision_id, decided_at, source, payload_json = row
    label = f"{Path(db_path).name}#target_decisions/{decision_id}"
    try:
        payload = json.loads(payload_json)
    except json.JSONDecodeError as exc:
        raise TargetsError([f"{label}: payload is not JSON ({exc})"]) from exc
    targets = load_payload(payload, source=label, known_tickers=known_tickers)
    return TargetDecision(id=decision_id, decided_at=decided_at, source=source, targets=targets)


@contextmanager
def _connect(db_path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection that commits on success and is always closed."""
    conn = sqlite3.connect(str(db_path))
    try:
        with conn:
            conn.execute(_DECISIONS_DDL)
            yield conn
    finally:
        conn.close()


# --- helpers ----------------------------------------------------------------------------------


def _read(path: Path) -> str:
    from tools.textfile import TextFileError, read_text_file

    try:
        return read_text_file(path, "targets file")  # UTF-8, a BOM from spreadsheet exports tolerated
    except TextFileError as exc:
        raise TargetsError([str(exc)]) from None


def _table(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise TargetsError([f"{where}: expected a table"])
    return value


def _number(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: weight {value!r} is not a number")
        return 0.0
    return float(value)
