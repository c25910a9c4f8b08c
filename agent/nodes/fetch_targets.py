"""fetch_targets: the model portfolio, quotes for every ticker involved, and the account snapshot.

Targets come from a TOML/CSV file, the latest dated decision in a SQLite table, or a strategy.
Every target ticker is first looked up in the broker's product master (상품기본조회), so a code
that is well formed but not listed stops the run here, before planning, in plain words. Then
every ticker held or targeted is quoted once (its order book carries the price and base price).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from agent.context import RunContext
from agent.state import QuoteReading, RunState, TargetsReading
from tools.kis.errors import InvalidInput, OrderRejected, UnsupportedOperation
from tools.market import InstrumentKind, kind_from_name
from tools.portfolio import AccountSnapshot, PositionInput
from tools.targets import Targets, full_path, latest_decision, load_targets

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph

    from agent.broker import BrokerConnection


class TargetsUnavailable(RuntimeError):
    pass


def load_configured_targets(ctx: RunContext, as_of: str) -> tuple[Targets, str]:
    section = ctx.config.targets
    if section.strategy_file is not None:
        from agent.strategy_source import targets_from_strategy

        return targets_from_strategy(ctx, section.strategy_file, as_of)
    if section.decisions_db is not None:
        import datetime as dt

        # A date (not its text) so that decisions taken during the session's day count too.
        decision = latest_decision(section.decisions_db, as_of=dt.date.fromisoformat(as_of))
        return decision.targets, f"{full_path(section.decisions_db)} (decision of {decision.decided_at})"
    if section.file is None:
        raise TargetsUnavailable("no targets configured: set targets.file in the config")
    return load_targets(section.file), full_path(section.file)


def listing_problems(broker: BrokerConnection, tickers: Iterable[str]) -> list[str]:
    """One line per target ticker the broker's product master does not know (empty: all known).

    Not asked where the broker does not offer product info (KIS's paper server); the order book's
    answer then speaks for the ticker (see ``fetch_targets``)."""
    if not broker.offers_product_info:
        return []
    problems = []
    for ticker in tickers:
        try:
            info = broker.client.product_info(ticker)
        except UnsupportedOperation:
            return problems  # this server does not offer it after all: the order book speaks
        except (OrderRejected, InvalidInput) as error:
            problems.append(f"target {ticker} is not a listed instrument (KIS product info: {error.msg1} "
                            f"[{error.msg_cd}])")
            continue
        if not info.exists:
            problems.append(f"target {ticker} is not a listed instrument (KIS product info: no product has this code)")
    return problems


def instrument_kind(name: str, tick: int, price: int) -> InstrumentKind:
    """KIS quotes do not say 'ETF': a fund brand in the name does, and so does a 5-won tick
    at a price where a stock's tick would be coarser."""
    if kind_from_name(name) is InstrumentKind.ETF:
        return InstrumentKind.ETF
    return InstrumentKind.ETF if tick == 5 and price >= 5_000 else InstrumentKind.STOCK


def fetch_targets(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    targets, source = load_configured_targets(ctx, state.as_of.isoformat())
    for note in targets.notes:
        ctx.say(f"targets: {note}")
    account = state.account
    assert account is not None  # fetch_account ran first
    held = {h.ticker for h in account.holdings}
    problems = listing_problems(ctx.broker, sorted(set(targets.flat()) - held))
    if problems:
        raise TargetsUnavailable("; ".join(problems) + f" — fix the targets in {source}")
    names = {**targets.names(), **account.names}
    tickers = sorted(set(targets.flat()) | held)
    ctx.say(f"quoting {len(tickers)} instruments")
    quotes: dict[str, QuoteReading] = {}
    now = ctx.broker.clock.now().isoformat(timespec="seconds")
    for ticker in tickers:
        try:
            book = ctx.broker.client.order_book(ticker)
        except (OrderRejected, InvalidInput) as error:
            if ticker in held:
                raise
            raise TargetsUnavailable(f"target {ticker} cannot be quoted (KIS order book: {error.msg1} "
                                     f"[{error.msg_cd}]): is it a listed instrument? Check the targets in "
                                     f"{source}") from None
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
    # How the file's weights were read (percent or fractions, and why) goes on the record too.
    ctx.transcript.write("targets", **payload, units=targets.units, notes=list(targets.notes))
    return {"targets": payload, "quotes": {t: q.model_dump(mode="json") for t, q in quotes.items()},
            "account": account.model_copy(update={"snapshot": snapshot}).model_dump(mode="json")}
