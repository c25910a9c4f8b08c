"""Rebal's configuration: one TOML file (``rebal config init`` writes a commented one).

Secrets never live here: KIS keys come from the environment, the keyring or kis_devlp.yaml
(``tools.kis.load_credentials``), the Gemini key from ``GOOGLE_API_KEY``/``GEMINI_API_KEY``.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from guardrails import GuardrailLimits
from tools.drift import TriggerPolicy
from tools.market import InstrumentKind
from tools.money import MAX_COMMISSION, MAX_TAX, MoneyRules, rates_for
from tools.schedule import TimetableSettings

DEFAULT_CONFIG = Path("rebal.toml")
DEMO_TARGETS = Path(__file__).resolve().parents[1] / "examples" / "targets" / "demo.toml"
DEFAULT_HOME = Path(os.environ.get("REBAL_HOME") or Path.home() / ".rebal")
CONTINUOUS_OPEN, CONTINUOUS_CLOSE = dt.time(9, 0), dt.time(15, 20)  # a regular KRX day's continuous trading


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or invalid; the message names the field."""


class _Section(BaseModel):
    # No setting may be infinite or NaN: each has a finite range, so no value can make a run hang.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BrokerSection(_Section):
    # "auto": KIS when credentials are found, else the embedded paper exchange.
    mode: Literal["auto", "embedded", "kis"] = "auto"
    profile: Literal["paper", "real"] = "paper"
    base_url: str | None = None  # e.g. http://127.0.0.1:29443 for `rebal paper serve`
    allow_real_trading: StrictBool = False  # the explicit opt-in that real accounts need ("false" is no boolean)
    requests_per_second: float | None = Field(None, ge=0, le=1_000)  # 0: no client-side throttle

    @field_validator("requests_per_second")
    @classmethod
    def _throttle_that_moves(cls, value: float | None) -> float | None:
        if value is not None and 0 < value < 0.5:
            raise ValueError("at least 0.5 requests a second (or 0 for no throttle): a slower client would "
                             "wait minutes between calls")
        return value


class TargetsSection(_Section):
    file: Path | None = DEMO_TARGETS  # absolute: the default works from any folder
    decisions_db: Path | None = None  # SQLite table of dated target decisions (latest applies)
    strategy_file: Path | None = None  # a strategy produces the targets instead


class RebalanceSection(_Section):
    triggers: TriggerPolicy = Field(default_factory=lambda: TriggerPolicy(relative_band=0.2))
    min_trade_value: int = Field(10_000, ge=0)
    buy_only: StrictBool = False
    locked: list[str] = Field(default_factory=list)
    excluded: list[str] = Field(default_factory=list)


_MONEY = MoneyRules()


class MoneySection(_Section):
    """[money]: commission, sell tax, cash kept and buy margin, one set for netting, the guardrails,
    the executor and the backtester (``RebalConfig.money`` gives them as ``tools.money.MoneyRules``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    commission_etf: float = Field(_MONEY.commission_rates[InstrumentKind.ETF], ge=0, le=MAX_COMMISSION)  # ETF/ETN/ELW
    commission_stock: float = Field(_MONEY.commission_rates[InstrumentKind.STOCK], ge=0, le=MAX_COMMISSION)
    stock_sell_tax: float = Field(_MONEY.stock_sell_tax, ge=0, le=MAX_TAX)  # stock sales only; ETFs pay none
    cash_buffer: float = Field(_MONEY.cash_buffer, ge=0, le=0.5)  # fraction of equity kept in cash
    margin: float = Field(_MONEY.margin, ge=0, le=0.1)  # headroom on buys (tools.money's cash row)

    def rules(self) -> MoneyRules:
        return MoneyRules(commission_rates=rates_for(self.commission_etf, self.commission_stock),
                          stock_sell_tax=self.stock_sell_tax, cash_buffer=self.cash_buffer, margin=self.margin)


class PlannerSection(_Section):
    model: str = "google_genai:gemini-2.5-flash"
    # The model API's endpoint; None: the provider's own (Google's for Gemini). For an API gateway or
    # proxy that speaks the same REST API.
    base_url: str | None = Field(None, pattern=r"^https?://\S+$")
    use_llm: StrictBool = True  # with a key set; the rules planner otherwise
    timeout: float = Field(20.0, gt=0, le=300)
    max_retries: int = Field(1, ge=0, le=3)
    max_output_tokens: int = Field(2048, ge=256, le=65_536)
    token_budget: int = Field(20_000, ge=0, le=2_000_000)
    reviewer_token_budget: int = Field(20_000, ge=0, le=2_000_000)  # per run, the terminal reviewer's questions together
    max_slices: int = Field(5, ge=1, le=20)


class ApprovalSection(_Section):
    # An approval older than this is void. At least 10 s: a shorter one expires while the plan is shown,
    # and the run would re-plan for ever.
    ttl_seconds: float = Field(300.0, ge=10, le=86_400)
    quote_tolerance_bp: float = Field(50.0, gt=0, le=3_000)  # void when a price moved more than this since planning


class ExecutionSection(_Section):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    poll_seconds: float = Field(20.0, gt=0, le=300)  # between fill checks (market clock)
    fill_window_minutes: float = Field(10.0, ge=0.5, le=120)  # a slice rests this long, then re-price/cancel
    # "twap" slices are spread evenly from max(stage start, twap_start) to twap_end (tools.schedule).
    twap_start: dt.time = dt.time(9, 10)
    twap_end: dt.time = dt.time(15, 0)
    reprice_unfilled: StrictBool = True  # re-price an unfilled remainder once (within the approval's tolerance), else cancel
    # A lost answer to an order is settled by reading the broker's order list this many times over
    # this many market seconds; only an order absent from every read is sent again.
    reconcile_reads: int = Field(3, ge=1, le=20)
    reconcile_seconds: float = Field(20.0, ge=0, le=600)
    max_send_attempts: int = Field(4, ge=1, le=10)  # per slice, when the gateway refuses or an order is absent
    # How long (market seconds) the broker may keep failing before the run stops (resumable).
    fault_budget_seconds: float = Field(300.0, ge=10, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _no_twap_minutes(cls, data: object) -> object:
        if isinstance(data, dict) and "twap_minutes" in data:
            raise ValueError("twap_minutes is gone: TWAP slices are spread from twap_start to twap_end "
                             '(e.g. twap_start = "09:10", twap_end = "15:00")')
        return data

    @field_validator("twap_start", "twap_end", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        """"HH:MM" or "HH:MM:SS" (how a dump writes it back), or a TOML local time; no time zone."""
        if isinstance(value, str):
            try:
                parts = [int(part) for part in value.strip().split(":")]
                if len(parts) not in (2, 3):
                    raise ValueError
                return dt.time(*parts)
            except ValueError:
                raise ValueError(f"{value!r} is not a time like \"09:10\"") from None
        if isinstance(value, dt.time) and value.tzinfo is not None:
            raise ValueError("a time on the exchange clock, without a time zone")
        return value

    @model_validator(mode="after")
    def _twap_inside_the_session(self) -> ExecutionSection:
        if not CONTINUOUS_OPEN <= self.twap_start < self.twap_end <= CONTINUOUS_CLOSE:
            raise ValueError(f"twap_start {self.twap_start:%H:%M} must be before twap_end {self.twap_end:%H:%M}, "
                             f"both within continuous trading {CONTINUOUS_OPEN:%H:%M}–{CONTINUOUS_CLOSE:%H:%M}")
        return self

    def timetable(self) -> TimetableSettings:
        return TimetableSettings(fill_window_minutes=self.fill_window_minutes, reprice_unfilled=self.reprice_unfilled,
                                 twap_start=self.twap_start, twap_end=self.twap_end, poll_seconds=self.poll_seconds)


Language = Literal["en", "ko"]  # of the terminal session, the live board and the transcript review


class UiSection(_Section):
    # The language of the terminal session and the transcript review (the data stay as they are).
    language: Language = "en"


class PathsSection(_Section):
    home: Path = DEFAULT_HOME  # run checkpoints, the order journal, the embedded exchange
    transcripts: Path = Path("transcripts")


class RebalConfig(_Section):
    broker: BrokerSection = Field(default_factory=BrokerSection)
    targets: TargetsSection = Field(default_factory=TargetsSection)
    rebalance: RebalanceSection = Field(default_factory=RebalanceSection)
    planner: PlannerSection = Field(default_factory=PlannerSection)
    guardrails: GuardrailLimits = Field(default_factory=GuardrailLimits)
    # The [money] section (MoneySection's flat keys), held as the MoneyRules everything reads.
    money: MoneyRules = Field(default_factory=lambda: MoneySection().rules())
    approval: ApprovalSection = Field(default_factory=ApprovalSection)
    execution: ExecutionSection = Field(default_factory=ExecutionSection)
    paths: PathsSection = Field(default_factory=PathsSection)
    ui: UiSection = Field(default_factory=UiSection)

    @field_validator("money", mode="before")
    @classmethod
    def _money_section(cls, value: object) -> object:
        """TOML gives the flat [money] section; a MoneyRules (or its dump) passes as it is."""
        if isinstance(value, MoneyRules) or (isinstance(value, dict) and "commission_rates" in value):
            return value
        try:
            return MoneySection.model_validate(value).rules()
        except ValidationError as error:
            raise ValueError("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                       for e in error.errors())) from None

    @model_validator(mode="after")
    def _one_set_of_money_rules(self) -> RebalConfig:
        """The guardrails check with the [money] rules; they are set there, never under [guardrails]."""
        if "money" in self.guardrails.model_fields_set and self.guardrails.money != self.money:
            raise ValueError("guardrails.money: set commission, tax, cash buffer and margin in [money]")
        self.guardrails = self.guardrails.model_copy(update={"money": self.money})
        return self

    @property
    def timetable(self) -> TimetableSettings:
        """The [execution] settings the timetable (planner, guardrails, executor) is computed with."""
        return self.execution.timetable()

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
    from tools.textfile import TextFileError, read_text_file

    where = path.expanduser().resolve()
    try:
        raw = tomllib.loads(read_text_file(path, "config file"))
    except TextFileError as error:
        hint = " (rebal config init writes one)" if not where.exists() else ""
        raise ConfigError(f"{error}{hint}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML ({error})") from None
    try:
        return RebalConfig.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise ConfigError(f"{where}: {problems}") from None


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
file = "{demo_targets}"    # two-level MP/Sub-MP TOML, or a flat ticker,weight CSV; relative paths
#                             are read from the folder you run rebal in
# decisions_db = "targets.db"          # SQLite table of dated target decisions; the latest applies

[rebalance]
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

[money]                     # one set: netting, the guardrails, the executor and the backtester read it
commission_etf = 0.000147   # commission per side, ETFs (and ETNs/ELWs): KIS non-face-to-face rate
commission_stock = 0.000141 # commission per side, stocks
stock_sell_tax = 0.002      # securities transaction tax on stock sales (ETFs pay none)
cash_buffer = 0.01          # keep at least 1% of equity in cash
margin = 0.01               # headroom: buys at ≤ cash − kept + sale proceeds ÷ 1.01; a buy as 01/03/04
                            # reserves cash at the day's upper price limit, a limit buy at its price

[planner]
model = "google_genai:gemini-2.5-flash"
# base_url = "https://llm-gateway.example.com/gemini"   # the Gemini API through a gateway/proxy; default: Google's
token_budget = 20000        # per run; over it the rules planner takes over
reviewer_token_budget = 20000  # per run, for free-text questions in the terminal; over it they are refused
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
poll_seconds = 20           # seconds between fill checks (market clock)
fill_window_minutes = 10    # a slice rests this long, then it is re-priced once (or cancelled)
reprice_unfilled = true     # the one re-price stays within approval.quote_tolerance_bp of the plan's quote
twap_start = "09:10"        # "twap" slices are spread evenly from this time (or the run's start, if later)
twap_end = "15:00"          # … to this time; sells then buys, each slice done by 15:20 (else refused)

[paths]
transcripts = "transcripts"
# home = "~/.rebal"        # checkpoints, the order journal, the embedded exchange

[ui]
language = "en"             # "ko": the terminal session and the transcript review in Korean
""".replace("{demo_targets}", DEMO_TARGETS.as_posix())
