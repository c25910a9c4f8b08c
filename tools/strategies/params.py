"""The per-account strategy file: TOML, validated by pydantic, with errors that name file and field.

    name = "core ETFs"
    strategy = "static"              # static | momentum | maps
    [static]
    targets = "../targets/demo.toml" # a target file (relative to this file) …
    # weights = { "069500" = 60, "152380" = 40 }   # … or inline weights in percent
    [policy]
    preset = "threshold-rel20"       # see POLICY_PRESETS; fields below override the preset
    [contributions]
    amount = 500000                  # KRW (negative: a withdrawal)
    every = "monthly"
    opening_months = 12              # invest contributions only, no rebalancing, for 12 months
    [backtest]
    capital = 10000000
    [tune]
    objective = "sharpe"
    grid = { "maps.MA_MONTHS" = [2, 3, 4] }

MAPS parameters keep the names the strategy is known by (``STOP_LOSS_PCT`` …); see
:class:`MapsParams`. ``update_params`` rewrites scalar parameters in place, keeping comments.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tools.drift import CalendarRule, TriggerPolicy
from tools.private import write_private_text
from tools.targets import Targets, load_targets

SESSIONS_PER_MONTH = 21  # moving-average months are converted to sessions with this


class StrategyFileError(ValueError):
    """An unreadable or invalid strategy file; ``problems`` lists each one as ``file: field: problem``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- policies --------------------------------------------------------------------------------

_NO_BANDS: dict[str, Any] = {"mp_band": None, "sub_band": None}
POLICY_PRESETS: dict[str, dict[str, Any]] = {
    "no-rebalance": {**_NO_BANDS, "untargeted_holdings": False},
    "monthly": {**_NO_BANDS, "calendar": "monthly"},
    "quarterly": {**_NO_BANDS, "calendar": "quarterly"},
    "semiannual": {**_NO_BANDS, "calendar": "semiannual"},
    "threshold-abs5": {"mp_band": 0.05, "sub_band": None},
    "threshold-rel20": {**_NO_BANDS, "relative_band": 0.2},
    "5-25": {**_NO_BANDS, "five_twenty_five": True},
}


_FLAGS = ("five_twenty_five", "calendar_gates_bands")  # None means "as the preset says"


class PolicySpec(_Model):
    """A drift policy: a preset, optionally with fields of ``tools.drift.TriggerPolicy`` overridden."""

    preset: str = "no-rebalance"
    mp_band: float | None = Field(default=None, gt=0)
    sub_band: float | None = Field(default=None, gt=0)
    relative_band: float | None = Field(default=None, gt=0)
    five_twenty_five: bool | None = None
    calendar: CalendarRule | None = None
    calendar_gates_bands: bool | None = None

    @model_validator(mode="after")
    def _known_preset(self) -> PolicySpec:
        if self.preset not in POLICY_PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {', '.join(POLICY_PRESETS)}")
        return self

    def trigger_policy(self) -> TriggerPolicy:
        fields = dict(POLICY_PRESETS[self.preset])
        fields.update({k: v for k, v in self.model_dump(exclude={"preset"}).items()
                       if k in self.model_fields_set and not (v is None and k in _FLAGS)})
        return TriggerPolicy(**fields)


def policy_from_name(name: str) -> PolicySpec:
    """A preset by name, as ``--compare no-rebalance,semiannual,threshold-rel20`` gives it."""
    return PolicySpec(preset=name)


# --- strategies ------------------------------------------------------------------------------


class StaticParams(_Model):
    targets: str | None = None  # path of a target file, relative to the strategy file
    weights: dict[str, float] | None = None  # percent; key "cash" for the cash class

    @model_validator(mode="after")
    def _one_source(self) -> StaticParams:
        if (self.targets is None) == (self.weights is None):
            raise ValueError("give exactly one of 'targets' (a file) or 'weights' (inline, percent)")
        return self


class MomentumParams(_Model):
    universe: tuple[str, ...] = Field(min_length=1)
    lookback: int = Field(default=10, ge=2)  # n of RSI(n) and the n-session stochastic
    rebalance_every: int = Field(default=10, ge=1)  # sessions


class MapsScoreWeights(_Model):
    """MAPS score = Σ weight × component; components in percent points except ``up_days`` (a count)."""

    ma: float = 0.5  # (close / moving average − 1) × 100: the largest part
    week1: float = 0.2  # 5-session return × 100
    week2: float = 0.15  # 10-session return × 100
    week3: float = 0.1  # 15-session return × 100
    up_days: float = 0.05  # consecutive up closes, capped at UP_DAYS_CAP
    up_days_cap: int = Field(default=5, ge=1)


class MapsBucket(_Model):
    name: str = Field(min_length=1)
    weight: float = Field(gt=0, le=1)  # fraction of the account for the whole bucket
    candidates: tuple[str, ...] = Field(min_length=1)
    top_n: int | None = Field(default=None, ge=1)  # overrides MapsParams.TOP_N


class MapsParams(_Model):
    REBALANCE_MODE: Literal["DAILY", "MONTHLY", "QUARTERLY"] = "MONTHLY"
    MA_MONTHS: int = Field(default=3, ge=1, le=24)
    RSI_DAYS: int = Field(default=14, ge=2)
    OVERBOUGHT_SELL_THRESHOLD: float = Field(default=80.0, gt=0, le=100)  # RSI points
    STOP_LOSS_PCT: float = Field(default=0.08, gt=0, lt=1)
    COOLDOWN_DAYS: int = Field(default=5, ge=0)
    REPLACE_SCORE_THRESHOLD: float = Field(default=2.0, ge=0)
    TOP_N: int = Field(default=1, ge=1)
    score: MapsScoreWeights = MapsScoreWeights()
    buckets: tuple[MapsBucket, ...] = Field(min_length=1)

    @property
    def ma_sessions(self) -> int:
        return self.MA_MONTHS * SESSIONS_PER_MONTH

    @model_validator(mode="after")
    def _buckets(self) -> MapsParams:
        total = sum(b.weight for b in self.buckets)
        if total > 1 + 1e-9:
            raise ValueError(f"bucket weights sum to {total:.4g} > 1")
        seen: dict[str, str] = {}
        for bucket in self.buckets:
            for ticker in bucket.candidates:
                if ticker in seen:
                    raise ValueError(f"{ticker} is a candidate of both {seen[ticker]!r} and {bucket.name!r}")
                seen[ticker] = bucket.name
        if len({b.name for b in self.buckets}) != len(self.buckets):
            raise ValueError("bucket names must be unique")
        return self


# --- cash flows, backtest defaults, tuning ---------------------------------------------------


class ContributionSpec(_Model):
    amount: int  # per period, in the account currency (KRW, or dollars for a USD panel); < 0: withdrawal
    every: Literal["monthly", "quarterly"] = "monthly"
    opening_months: int = Field(default=0, ge=0)  # no rebalancing while contributions build the account
    months: int | None = Field(default=None, ge=1)  # how many contributions (None: until the end)


class BacktestDefaults(_Model):
    capital: int = Field(default=10_000_000, ge=0)  # account currency (KRW, or dollars for a USD panel)
    fill: Literal["next_open", "next_close", "same_close"] = "next_open"
    slippage_bp: float = Field(default=0.0, ge=0)
    participation: float | None = Field(default=0.05, gt=0, le=1)
    cash_buffer: float = Field(default=0.0, ge=0, lt=1)


class TuneSpec(_Model):
    objective: Literal["sharpe", "cagr", "calmar", "final_value"] = "sharpe"
    grid: dict[str, list[float | int | str]] = Field(default_factory=dict)
    holdout_fraction: float = Field(default=0.3, gt=0, lt=1)


class StrategyFile(_Model):
    name: str = ""
    strategy: Literal["static", "momentum", "maps"]
    anchor: str | None = None  # YYYY-MM-DD: session counting starts here (momentum's 10-session cycle)
    static: StaticParams | None = None
    momentum: MomentumParams | None = None
    maps: MapsParams | None = None
    policy: PolicySpec = PolicySpec()
    contributions: ContributionSpec | None = None
    backtest: BacktestDefaults = BacktestDefaults()
    tune: TuneSpec = TuneSpec()
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _section_present(self) -> StrategyFile:
        if getattr(self, self.strategy) is None:
            raise ValueError(f"strategy = {self.strategy!r} needs a [{self.strategy}] table")
        return self

    def static_targets(self) -> Targets | dict[str, float]:
        """Static targets: a loaded target file, or inline weights (percent → fraction)."""
        assert self.static is not None
        if self.static.targets is not None:
            base = self.path.parent if self.path else Path.cwd()
            return load_targets(base / self.static.targets)
        assert self.static.weights is not None
        return {t: w / 100 for t, w in self.static.weights.items() if t.lower() != "cash"}


def _describe(error: ValidationError, source: str) -> list[str]:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{source}: {where}: {message}")
    return problems


def parse_strategy(text: str, *, source: str = "<strategy>", path: Path | None = None) -> StrategyFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyFileError([f"{source}: not valid TOML: {exc}"]) from None
    try:
        return StrategyFile.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise StrategyFileError(_describe(exc, source)) from None


def load_strategy(path: str | Path) -> StrategyFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StrategyFileError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return parse_strategy(text, source=str(path), path=path.resolve())


def with_values(strategy: StrategyFile, values: dict[str, Any]) -> StrategyFile:
    """A copy with dotted parameters replaced (``"maps.MA_MONTHS"``, ``"policy.relative_band"``)."""
    data = strategy.model_dump(by_alias=True, exclude_unset=True)  # unset fields keep their defaults
    for dotted, value in values.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[leaf] = value
    try:
        return StrategyFile.model_validate({**data, "path": strategy.path})
    except ValidationError as exc:
        raise StrategyFileError(_describe(exc, "parameters")) from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {value!r} as a TOML scalar")


def update_params(path: str | Path, values: dict[str, Any], *, comment: str | None = None) -> StrategyFile:
    """Write scalar parameters into their tables in place (comments kept), then re-validate.

    Keys are dotted: ``"maps.MA_MONTHS"`` sets ``MA_MONTHS`` under ``[maps]``; a missing key is
    added after its table header, a missing table is appended.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    for dotted, value in values.items():
        table, _, key = dotted.rpartition(".")
        header = re.compile(r"^\s*\[\s*" + re.escape(table) + r"\s*\]\s*(#.*)?$")
        start = next((i for i, line in enumerate(lines) if header.match(line)), None)
        rendered = f"{key} = {_toml_value(value)}"
        if comment:
            rendered += f"  # {comment}"
        if start is None:
            lines += ["", f"[{table}]", rendered]
            continue
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[i])), len(lines))
        assignment = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        found = next((i for i in range(start + 1, end) if assignment.match(lines[i])), None)
        if found is None:
            lines.insert(start + 1, rendered)
        else:
            lines[found] = rendered
    text = "\n".join(lines) + "\n"
    parsed = parse_strategy(text, source=str(path), path=path.resolve())  # never write an invalid file
    write_private_text(path, text)
    return parsed
