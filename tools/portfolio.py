"""Account valuation: positions, reference prices, cash, equity and weights.

The rebalancing core's own input models. They are deliberately small and broker-agnostic so the
graph (from KIS balances), the paper exchange and the backtester can all build them. Money is
exact: quantities, prices and cash are ``int`` KRW; only weights are floats.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.market import InstrumentKind, is_valid_ticker


class PortfolioError(ValueError):
    """The account snapshot cannot value something (e.g. no price for a target instrument)."""


class PositionInput(BaseModel):
    """One holding with its reference price (normally the previous close or the last trade)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticker: str
    quantity: int = Field(ge=0)
    # Shares that may be sold today; None means all of them (KIS: ord_psbl_qty).
    sellable_quantity: int | None = Field(default=None, ge=0)
    price: int = Field(gt=0)
    kind: InstrumentKind = InstrumentKind.ETF

    @field_validator("ticker")
    @classmethod
    def _ticker_format(cls, ticker: str) -> str:
        if not is_valid_ticker(ticker):
            raise ValueError(f"ticker {ticker!r} is malformed (expected 6 digits, or Q + 6 digits for an ETN)")
        return ticker

    @model_validator(mode="after")
    def _sellable_within_held(self) -> PositionInput:
        if self.sellable_quantity is not None and self.sellable_quantity > self.quantity:
            raise ValueError(
                f"{self.ticker}: sellable quantity {self.sellable_quantity} exceeds held quantity {self.quantity}")
        return self

    @property
    def sellable(self) -> int:
        return self.quantity if self.sellable_quantity is None else self.sellable_quantity

    @property
    def value(self) -> int:
        return self.quantity * self.price


class AccountSnapshot(BaseModel):
    """Cash, positions, and reference prices/kinds of instruments the account may buy but not hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cash: int = Field(ge=0)
    positions: tuple[PositionInput, ...] = ()
    prices: dict[str, int] = Field(default_factory=dict)
    kinds: dict[str, InstrumentKind] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> AccountSnapshot:
        seen: set[str] = set()
        for position in self.positions:
            if position.ticker in seen:
                raise ValueError(f"ticker {position.ticker} appears in more than one position")
            seen.add(position.ticker)
        for ticker, price in self.prices.items():
            if price <= 0:
                raise ValueError(f"reference price of {ticker} must be positive, got {price}")
        return self

    # --- look-ups ---------------------------------------------------------------------------

    def position(self, ticker: str) -> PositionInput | None:
        for position in self.positions:
            if position.ticker == ticker:
                return position
        return None

    def quantity_of(self, ticker: str) -> int:
        position = self.position(ticker)
        return position.quantity if position else 0

    def sellable_of(self, ticker: str) -> int:
        position = self.position(ticker)
        return position.sellable if position else 0

    def price_of(self, ticker: str) -> int:
        """Reference price: the position's own price, else the snapshot's price table."""
        position = self.position(ticker)
        if position is not None:
            return position.price
        if ticker in self.prices:
            return self.prices[ticker]
        raise PortfolioError(f"no reference price for {ticker}")

    def kind_of(self, ticker: str) -> InstrumentKind:
        """Instrument kind; ETF when unknown (it only matters for sells, which need a position)."""
        position = self.position(ticker)
        if position is not None:
            return position.kind
        return self.kinds.get(ticker, InstrumentKind.ETF)

    # --- valuation --------------------------------------------------------------------------

    @property
    def holdings_value(self) -> int:
        return sum(position.value for position in self.positions)

    @property
    def equity(self) -> int:
        """Total account value V = cash + holdings at reference prices."""
        return self.cash + self.holdings_value

    def quantities(self) -> dict[str, int]:
        return {p.ticker: p.quantity for p in self.positions if p.quantity > 0}

    def weights(self) -> dict[str, float]:
        """Weight of each held instrument in equity (cash excluded; see ``cash_weight``)."""
        return instrument_weights(self.quantities(), {p.ticker: p.price for p in self.positions}, self.equity)

    @property
    def cash_weight(self) -> float:
        equity = self.equity
        return self.cash / equity if equity > 0 else 1.0


def instrument_weights(quantities: Mapping[str, int], prices: Mapping[str, int], equity: int) -> dict[str, float]:
    """``ticker → quantity × price / equity``; all zero when equity is zero."""
    if equity <= 0:
        return {ticker: 0.0 for ticker in quantities}
    return {ticker: quantity * prices[ticker] / equity for ticker, quantity in quantities.items()}
