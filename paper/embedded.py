"""The embedded paper exchange: in-process, on its own simulated clock inside a KRX session.

With no KIS credentials configured, Rebal trades here. The clock starts at 10:00 KST of the most
recent session (so it works at any hour and on any day) and runs faster than real time so that
orders resting on the book get filled within a run.
"""

from __future__ import annotations

import datetime as dt

from paper.app import create_app, transport
from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.server import ensure_demo_account
from paper.settings import ExchangeSettings
from tools.market import KST, Phase, krx_calendar

EMBEDDED_START = dt.time(10, 0)
EMBEDDED_SPEED = 30.0  # simulated seconds per real second


def embedded_settings(today: dt.date | None = None, **overrides) -> ExchangeSettings:
    today = today or dt.datetime.now(KST).date()
    session = krx_calendar().previous_session(today, include=True)
    values = {"date": session, "time": EMBEDDED_START, "speed": EMBEDDED_SPEED, "rate_limit": 18.0}
    values.update(overrides)
    return ExchangeSettings(**values)


class EmbeddedExchange:
    """An exchange, its ASGI app and an httpx transport to reach it without a port."""

    def __init__(self, settings: ExchangeSettings | None = None) -> None:
        self.exchange = PaperExchange(settings or embedded_settings())
        self.ensure_in_session()
        self.app = create_app(self.exchange)
        self.account: Account = ensure_demo_account(self.exchange)

    def ensure_in_session(self) -> None:
        """A persisted exchange may have stopped after a close: move on to the next session's 10:00."""
        now = self.exchange.clock.now()
        if self.exchange.phase(now) is not Phase.CONTINUOUS:
            calendar = self.exchange.calendar
            day = now.date()
            if not calendar.is_session(day) or now >= dt.datetime.combine(day, EMBEDDED_START, KST):
                day = calendar.next_session(day)
            self.exchange.clock.set(dt.datetime.combine(day, EMBEDDED_START, KST))
            self.exchange.sync()

    def transport(self):
        return transport(self.app)
