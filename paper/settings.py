"""Settings of one paper exchange server: its profile, market, clock, costs and limits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.market import DEFAULT_COMMISSION, KST, STOCK_SELL_TAX, InstrumentKind, KrxCalendar

Profile = Literal["paper", "real"]


class Faults(BaseModel):
    """Fault injection for tests; everything is off by default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    error_rate: float = Field(0.0, ge=0, le=1, description="share of /uapi requests answered HTTP 500")
    server_error_burst: int = Field(0, ge=0, description="answer this many next /uapi requests HTTP 500")
    rate_limit_burst: int = Field(0, ge=0, description="answer this many next requests with EGW00201")
    slow_seconds: float = Field(0.0, ge=0, description="delay added to each /uapi answer")
    lose_order_responses: int = Field(0, ge=0, description="accept this many next orders, then drop the answer")
    expire_tokens_at: float | None = Field(None, description="wall-clock time after which every token is expired")
    endless_balance_paging: bool = Field(False, description="reproduce KIS's tr_cont=M then SYDB0050 quirk")
    seed: int = 0


class ExchangeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: Profile = "paper"
    db: str = ":memory:"
    data_dir: Path | None = None
    seed: int = 0
    date: dt.date | None = Field(None, description="session date to replay; default today")
    time: dt.time = Field(dt.time(9, 30), description="time of day the clock starts at when a date is given")
    speed: float = Field(1.0, ge=0, description="simulated seconds per real second; 0 freezes the clock")
    commission: dict[InstrumentKind, float] = Field(default_factory=lambda: dict(DEFAULT_COMMISSION))
    stock_sell_tax: float = STOCK_SELL_TAX
    rate_limit: float | None = Field(None, ge=0, description="requests/s per account; None = profile default")
    token_issue_interval: float = Field(60.0, ge=0, description="seconds between token issues per app key")
    token_reuse_window: float = Field(6 * 3600, ge=0, description="same token returned within this window")
    token_lifetime: float = Field(24 * 3600, gt=0)
    faults: Faults = Field(default_factory=Faults)

    @property
    def requests_per_second(self) -> float:
        if self.rate_limit is not None:
            return self.rate_limit
        return 18.0 if self.profile == "real" else 1.0

    @property
    def balance_page_size(self) -> int:
        return 50 if self.profile == "real" else 20

    @property
    def orders_page_size(self) -> int:
        return 100 if self.profile == "real" else 15

    @property
    def org_no(self) -> str:
        return "06010" if self.profile == "real" else "00950"

    def commission_rate(self, kind: InstrumentKind) -> float:
        return self.commission.get(kind, DEFAULT_COMMISSION[kind])

    def start_moment(self, calendar: KrxCalendar) -> dt.datetime:
        if self.date is None:
            return dt.datetime.now(KST)
        return dt.datetime.combine(self.date, self.time, KST)
