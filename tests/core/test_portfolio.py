"""Valuation helpers: equity, weights, sellable quantities, look-ups."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tools.market import InstrumentKind
from tools.portfolio import AccountSnapshot, PortfolioError, PositionInput


def snapshot() -> AccountSnapshot:
    return AccountSnapshot(
        cash=1_000_000,
        positions=(PositionInput(ticker="069500", quantity=100, price=35_000),
                   PositionInput(ticker="005930", quantity=10, sellable_quantity=4, price=70_000,
                                 kind=InstrumentKind.STOCK)),
        prices={"152380": 66_000}, kinds={"152380": InstrumentKind.ETF})


def test_equity_and_weights_are_exact() -> None:
    account = snapshot()
    assert account.holdings_value == 3_500_000 + 700_000
    assert account.equity == 5_200_000
    assert isinstance(account.equity, int)
    assert account.weights() == pytest.approx({"069500": 3_500_000 / 5_200_000, "005930": 700_000 / 5_200_000})
    assert account.cash_weight == pytest.approx(1_000_000 / 5_200_000)


def test_lookups() -> None:
    account = snapshot()
    assert account.price_of("152380") == 66_000
    assert account.price_of("069500") == 35_000
    assert account.sellable_of("005930") == 4
    assert account.sellable_of("069500") == 100  # None means all
    assert account.sellable_of("152380") == 0
    assert account.kind_of("005930") is InstrumentKind.STOCK
    with pytest.raises(PortfolioError, match="no reference price for 360750"):
        account.price_of("360750")


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValidationError, match="sellable quantity 5 exceeds held quantity 3"):
        PositionInput(ticker="069500", quantity=3, sellable_quantity=5, price=1)
    with pytest.raises(ValidationError, match="malformed"):
        PositionInput(ticker="69500", quantity=3, price=1)
    with pytest.raises(ValidationError):
        PositionInput(ticker="069500", quantity=-1, price=1)
    with pytest.raises(ValidationError, match="more than one position"):
        AccountSnapshot(cash=0, positions=(PositionInput(ticker="069500", quantity=1, price=1),
                                           PositionInput(ticker="069500", quantity=2, price=1)))
    with pytest.raises(ValidationError):
        AccountSnapshot(cash=-1)
