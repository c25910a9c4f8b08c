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
CSV, flat: header ``ticker,weight[,name]``, a row ``cash,10`` for the cash class, ``#`` comment
lines. Weights in percent (``22.5`` or ``22.5%``, summing to 100) or as fractions (``0.225``,
summing to 1): the sum decides, and the loader says which it assumed (``Targets.notes``). A sum
that is neither is refused with both readings.

Messages name the file by its full path; ``Targets.source`` keeps the file's name (it is recorded
in transcripts and decisions; the version hash does not depend on it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
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
# How far a CSV's sum may be from 100 (percent) or 1 (fractions) for the sum to decide the units;
# the weights must then still sum to 100% within ``SUM_TOLERANCE`` (or be normalised).
UNITS_SLACK = 0.005  # relative: 99.5–100.5 reads as percent, 0.995–1.005 as fractions


def load_targets(path: str | Path, *, known_tickers: KnownTickers = None, normalise: bool = False) -> Targets:
    """Load a ``.toml`` or ``.csv`` target file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return load_csv(path, known_tickers=known_tickers, normalise=normalise)
    return load_toml(path, known_tickers=known_tickers, normalise=normalise)


# --- TOML -------------------------------------------------------------------------------------


def load_toml(path: str | Path, *, known_tickers: KnownTickers = None, normalise: bool = False) -> Targets:
    path = Path(path)
    targets = parse_toml(_read(path), source=full_path(path), known_tickers=known_tickers, normalise=normalise)
    return targets.model_copy(update={"source": path.name})


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
    declared = "units" in data
    note = (f'weights read as {units} (units = "{units}")' if declared
            else 'weights read as percent (the default; write units = "fraction" for weights like 0.3)')
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
        classes, form = flat_classes(rows, cash_weight=cash), "flat"
    else:
        classes = [_parse_class(name, body, source, scale, problems)
                   for name, body in _table(data["classes"], f"{source}: [classes]").items()]
        form = "mp"
        if problems:
            raise TargetsError(problems)
    try:
        targets = build_targets(classes, source=source, form=form, label=label,
                                known_tickers=known_tickers, normalise=normalise)
    except TargetsError as error:
        total = sum(c.weight for c in classes) * scale
        if not declared and _near(total, 1.0):
            error.problems.append(f'{source}: the weights sum to {total:g}, as fractions do: '
                                  'write units = "fraction" at the top of the file')
            raise TargetsError(error.problems) from None
        raise
    return targets.model_copy(update={"units": units, "notes": (note,)})


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
    targets = parse_csv(_read(path), source=full_path(path), known_tickers=known_tickers, normalise=normalise)
    return targets.model_copy(update={"source": path.name})


def parse_csv(text: str, *, source: str = "<csv>", known_tickers: KnownTickers = None,
              normalise: bool = False) -> Targets:
    problems: list[str] = []
    rows: list[tuple[str, float, str]] = []
    cash: float | None = None
    percent_signs = 0
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
        written = row.get("weight", "")
        raw_weight = written.removesuffix("%").strip()
        try:
            weight = float(raw_weight)
        except ValueError:
            problems.append(f"{source}: line {line_no}: weight {raw_weight!r} for {ticker} is not a number")
            continue
        key = ticker.lower() if ticker.lower() == "cash" else ticker
        if key in first_line:
            problems.append(f"{source}: line {line_no}: duplicate ticker {ticker} (first on line {first_line[key]})")
            continue
        first_line[key] = line_no
        percent_signs += written.endswith("%")
        if key == "cash":
            cash = weight
        else:
            rows.append((ticker, weight, row.get("name", "")))
    if header is None:
        problems.append(f"{source}: no header line (ticker,weight)")
    if problems:
        raise TargetsError(problems)
    units, note = _csv_units([w for _, w, _ in rows] + ([cash] if cash is not None else []), percent_signs,
                             source, normalise=normalise)
    scale = _UNITS[units]
    rows = [(ticker, weight / scale, name) for ticker, weight, name in rows]
    targets = build_targets(flat_classes(rows, cash_weight=None if cash is None else cash / scale), source=source,
                            form="flat", known_tickers=known_tickers, normalise=normalise)
    return targets.model_copy(update={"units": units, "notes": (note,)})


def _near(total: float, expected: float) -> bool:
    return abs(total - expected) <= UNITS_SLACK * expected


def _csv_units(weights: list[float], percent_signs: int, source: str, *,
               normalise: bool) -> tuple[str, str]:
    """("percent" | "fraction", a note saying why): a ``%`` says percent, else the sum decides."""
    total = sum(weights)
    if percent_signs:
        return "percent", "weights read as percent (written with %)"
    if not weights or not all(math.isfinite(w) for w in weights):
        return "percent", "weights read as percent"  # validation names what is wrong
    if _near(total, 100.0):
        return "percent", f"weights read as percent (they sum to {total:g})"
    if _near(total, 1.0):
        return "fraction", f"weights read as fractions (they sum to {total:g}, e.g. 0.3 = 30%)"
    if normalise:  # rescaled anyway: the nearer reading (on a log scale) is the likelier one
        units = "percent" if total >= 10 else "fraction"
        return units, f"weights read as {'percent' if units == 'percent' else 'fractions'} " \
                      f"(they sum to {total:g}) and rescaled to 100%"
    raise TargetsError([
        f"{source}: the weights sum to {total:g}, which is neither 100 (percent) nor 1 (fractions): "
        f"read as percent they total {total:g}%, read as fractions {total * 100:g}%; "
        "correct the weights (a cash row counts too)"])


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
    """The targets of the latest decision on or before ``as_of`` (a date includes that whole day)."""
    return latest_decision(db_path, as_of=as_of, known_tickers=known_tickers).targets


def latest_decision(db_path: str | Path, *, as_of: dt.date | dt.datetime | str | None = None,
                    known_tickers: KnownTickers = None) -> TargetDecision:
    """The latest decision (with its date) on or before ``as_of``; a date includes that whole day."""
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
        raise TargetsError([f"{full_path(db_path)}: no target decision{when}"])
    return _decision(row, db_path, known_tickers=known_tickers)


def _decision(row: tuple, db_path: str | Path, *, known_tickers: KnownTickers = None) -> TargetDecision:
    decision_id, decided_at, source, payload_json = row
    row_name = f"#target_decisions/{decision_id}"
    where = full_path(db_path) + row_name  # messages name the whole path; the source keeps the name
    try:
        payload = json.loads(payload_json)
    except json.JSONDecodeError as exc:
        raise TargetsError([f"{where}: payload is not JSON ({exc})"]) from exc
    targets = load_payload(payload, source=where, known_tickers=known_tickers)
    targets = targets.model_copy(update={"source": Path(db_path).name + row_name})
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


def full_path(path: str | Path) -> str:
    """The path as messages show it: absolute, ``~`` expanded."""
    return str(Path(path).expanduser().resolve())


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
