"""fetch_targets: the model portfolio, quotes for every ticker involved, and the account snapshot.

Targets come from a TOML/CSV file, the latest dated decision in a SQLite table, or a strategy.
Every ticker held or targeted is quoted once (its order book carries the price and base price).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.context import RunContext
from agent.state import QuoteReading, RunState, TargetsReading
from tools.market import InstrumentKind, kind_from_name
from tools.portfolio import AccountSnapshot, PositionInput
from tools.targets import Targets, load_latest_decision, load_targets

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


class TargetsUnavailable(RuntimeError):
    pass


def load_configured_targets(ctx: RunContext, as_of: str) -> tuple[Targets, str]:
    section = ctx.config.targets
    if section.strategy_file is not None:
        from agent.strategy_source import targets_from_strategy

        return targets_from_strategy(ctx, section.strategy_file, as_of)
    if section.decisions_db is not None:
        decision = load_latest_decision(section.decisions_db, as_of=as_of)
        if decision is None:
            raise TargetsUnavailable(f"{section.decisions_db}: no target decision dated on or before {as_of}")
        return decision.targets, f"{section.decisions_db} (decision of {decision.decided_at})"
    if section.file is None:
        raise TargetsUnavailable("no targets configured: set targets.file in the config")
    return load_targets(section.file), str(section.file)


def instrument_kind(name: str, tick: int, price: int) -> InstrumentKind:
    """KIS quotes do not say 'ETF': a fund brand in the name does, and so does a 5-won tick
    at a price where a stock's tick would be coarser."""
    if kind_from_name(name) is InstrumentKind.ETF:
        return InstrumentKind.ETF
    return InstrumentKind.ETF if tick == 5 and price >= 5_000 else InstrumentKind.STOCK


def fetch_targets(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    targets, source = load_configured_targets(ctx, state.as_of.isoformat())
    account = state.account
    assert account is not None  # fetch_account ran first
    names = {**targets.names(), **account.names}
    tickers = sorted(set(targets.flat()) | {h.ticker for h in account.holdings})
    ctx.say(f"quoting {len(tickers)} instruments")
    quotes: dict[str, QuoteReading] = {}
    now = ctx.broker.clock.now().isoformat(timespec="seconds")
    for ticker in tickers:
        book = ctx.broker.client.order_book(ticker)
        price = book.price or (book.best_bid or 0)
        if price <= 0 or not book.asks or not book.bids:
            raise TargetsUnavailable(f"{ticker}: no usable quote (empty order book); cannot value or trade it now")
        tick = (book.asks[0].price - book.bids[0].price) or 5
        kind = instrument_kind(names.get(ticker, ""), tick, price)
        quotes[ticker] = QuoteReading(ticker=ticker, bid=book.best_bid, ask=book.best_ask, price=price,
                                      base_price=book.base_price or price, kind=kind, name=names.get(ticker, ""),
                                      depth_bid=book.bids[0].quantity, depth_ask=book.asks[0].quantity,
                                      captured_at=now)
    positions = tuple(
        PositionInput(ticker=h.ticker, quantity=h.quantity, sellable_quantity=min(h.sellable_quantity, h.quantity),
                      price=quotes[h.ticker].price, kind=quotes[h.ticker].kind)
        for h in account.holdings)
    snapshot = AccountSnapshot(cash=max(account.cash_d2, 0), positions=positions,
                               prices={t: q.price for t, q in quotes.items()},
                               kinds={t: q.kind for t, q in quotes.items()})
    reading = TargetsReading(payload=targets.to_payload(), flat=targets.flat(), cash_weight=targets.cash_weight,
                             version=targets.version, source=source, names=targets.names())
    payload = reading.model_dump(mode="json")
    ctx.transcript.write("targets", **payload)
    return {"targets": payload, "quotes": {t: q.model_dump(mode="json") for t, q in quotes.items()},
            "account": account.model_copy(update={"snapshot": snapshot}).model_dump(mode="json")}
