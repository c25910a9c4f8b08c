"""Rebal's configuration: one TOML file (``rebal config init`` writes a commented one).

Secrets never live here: KIS keys come from the environment, the keyring or kis_devlp.yaml
(``tools.kis.load_credentials``), the Gemini key from ``GOOGLE_API_KEY``/``GEMINI_API_KEY``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guardrails import GuardrailLimits
from tools.drift import TriggerPolicy

DEFAULT_CONFIG = Path("rebal.toml")
DEFAULT_HOME = Path(os.environ.get("REBAL_HOME") or Path.home() / ".rebal")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or invalid; the message names the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrokerSection(_Section):
    # "auto": KIS when credentials are found, else the embedded paper exchange.
    mode: Literal["auto", "embedded", "kis"] = "auto"
    profile: Literal["paper", "real"] = "paper"
    base_url: str | None = None  # e.g. http://127.0.0.1:29443 for `rebal paper serve`
    allow_real_trading: bool = False  # the explicit opt-in that real accounts need
    requests_per_second: float | None = None


class TargetsSection(_Section):
    file: Path | None = Path("examples/targets/demo.toml")
    decisions_db: Path | None = None  # SQLite table of dated target decisions (latest applies)
    strategy_file: Path | None = None  # a strategy produces the targets instead


class RebalanceSection(_Section):
    triggers: TriggerPolicy = Field(default_factory=lambda: TriggerPolicy(relative_band=0.2))
    cash_buffer: float = Field(0.01, ge=0, lt=1)
    min_trade_value: int = Field(10_000, ge=0)
    buy_only: bool = False
    locked: list[str] = Field(default_factory=list)
    excluded: list[str] = Field(default_factory=list)


class PlannerSection(_Section):
    model: str = "google_genai:gemini-2.5-flash"
    use_llm: bool = True  # with a key set; the rules planner otherwise
    timeout: float = Field(20.0, gt=0)
    max_retries: int = Field(1, ge=0, le=3)
    max_output_tokens: int = Field(2048, ge=256)
    token_budget: int = Field(20_000, ge=0)
    max_slices: int = Field(5, ge=1, le=20)


class ApprovalSection(_Section):
    ttl_seconds: float = Field(300.0, gt=0)  # an approval older than this is void
    quote_tolerance_bp: float = Field(50.0, gt=0)  # void when a price moved more than this since planning


class ExecutionSection(_Section):
    poll_seconds: float = Field(20.0, gt=0)  # between fill checks (market clock)
    fill_window_minutes: float = Field(10.0, gt=0)  # how long a "now" slice may rest before re-pricing
    twap_minutes: float = Field(30.0, gt=0)  # window over which "twap" slices are spread
    reprice_unfilled: bool = True  # re-price an unfilled remainder once, at the touch; else cancel it


class PathsSection(_Section):
    home: Path = DEFAULT_HOME  # run checkpoints, the order journal, the embedded exchange
    transcripts: Path = Path("transcripts")


class RebalConfig(_Section):
    broker: BrokerSection = Field(default_factory=BrokerSection)
    targets: TargetsSection = Field(default_factory=TargetsSection)
    rebalance: RebalanceSection = Field(default_factory=RebalanceSection)
    planner: PlannerSection = Field(default_factory=PlannerSection)
    guardrails: GuardrailLimits = Field(default_factory=GuardrailLimits)
    approval: ApprovalSection = Field(default_factory=ApprovalSection)
    execution: ExecutionSection = Field(default_factory=ExecutionSection)
    paths: PathsSection = Field(default_factory=PathsSection)

    @property
    def runs_db(self) -> Path:
        return self.paths.home / "runs.db"

    @property
    def journal_db(self) -> Path:
        return self.paths.home / "journal.db"

    @property
    def embedded_db(self) -> Path:
        return self.paths.home / "embedded-exchange.db"


def load_config(path: Path | None) -> RebalConfig:
    """The file's settings over the defaults; no file at the default path means all defaults."""
    if path is None:
        if not DEFAULT_CONFIG.exists():
            return RebalConfig()
        path = DEFAULT_CONFIG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (rebal config init writes one)") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    try:
        return RebalConfig.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise ConfigError(f"{path}: {problems}") from None


CONFIG_TEMPLATE = """\
# Rebal configuration. Secrets never go in this file:
#   KIS keys:   KIS_APP_KEY, KIS_APP_SECRET, KIS_ACCOUNT (or the OS keyring, or ~/KIS/config/kis_devlp.yaml)
#   Gemini key: GOOGLE_API_KEY (without it the deterministic rules planner runs)

[broker]
mode = "auto"               # auto: KIS when credentials are found, else the embedded paper exchange
profile = "paper"           # "paper" (모의투자) or "real" (실전)
# base_url = "http://127.0.0.1:29443"   # e.g. `rebal paper serve` instead of KIS's host
allow_real_trading = false  # real accounts trade only with this set to true (and a typed confirmation)

[targets]
file = "examples/targets/demo.toml"    # two-level MP/Sub-MP TOML, or a flat ticker,weight CSV
# decisions_db = "targets.db"          # SQLite table of dated target decisions; the latest applies

[rebalance]
cash_buffer = 0.01          # keep at least 1% of equity in cash
min_trade_value = 10000     # KRW; smaller trades are skipped
buy_only = false            # invest new cash only, never sell
locked = []                 # tickers neither bought nor sold
excluded = []               # tickers never bought

[rebalance.triggers]
mp_band = 0.03              # class weight ±3 pp
sub_band = 0.05             # instrument weight within its class ±5 pp
relative_band = 0.2         # ±20% of each target (a 10% target triggers outside 8-12%)
five_twenty_five = false
always = false

[planner]
model = "google_genai:gemini-2.5-flash"
token_budget = 20000        # per run; over it the rules planner takes over
max_slices = 5

[guardrails]
weight_tolerance = 0.01     # every post-trade weight within 1 pp of target
max_trade_fraction = 0.5    # no single trade above 50% of equity
headless_max_turnover = 0.25        # auto-approval only below these caps
headless_max_orders = 20
headless_max_order_notional = 20000000

[approval]
ttl_seconds = 300           # an approval older than this is void
quote_tolerance_bp = 50     # void when a price moved more than 0.5% since the plan

[execution]
poll_seconds = 20
fill_window_minutes = 10
twap_minutes = 30

[paths]
transcripts = "transcripts"
# home = "~/.rebal"        # checkpoints, the order journal, the embedded exchange
"""
