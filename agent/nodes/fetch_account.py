"""fetch_account: the account as the broker reports it — holdings, cash, today's costs so far."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.context import RunContext
from agent.state import AccountReading, RunState

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # annotations only: langgraph loads with the graph


def fetch_account(state: RunState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    ctx.say("reading the account")
    balance = ctx.broker.client.balance()
    summary = balance.summary
    account = AccountReading(
        holdings=tuple(h for h in balance.holdings if h.quantity > 0), cash_d0=summary.cash_d0,
        cash_d2=summary.cash_d2, securities_value=summary.securities_value, total_value=summary.total_value,
        costs_today=summary.costs_today, names={h.ticker: h.name for h in balance.holdings})
    written = account.model_dump(mode="json", exclude={"snapshot"})
    ctx.transcript.write("account", account=ctx.broker.masked_account, **written)
    return {"account": written}
