"""Running the paper exchange: building it from settings, the demo account, and serving on loopback."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.settings import ExchangeSettings
from tools.private import private_dir

# The demo account: cash and ETFs worth these amounts (KRW) on the day it is opened. It has drifted
# from examples/targets/demo.toml: equities ran up, bonds and gold lag — a modest rebalance.
DEMO_CASH = 2_000_000
DEMO_HOLDINGS_VALUE = {"069500": 8_000_000, "360750": 4_000_000, "133690": 2_400_000, "152380": 4_200_000,
                       "308620": 4_000_000, "132030": 2_400_000, "329750": 3_000_000}


def demo_holdings(exchange: PaperExchange) -> dict[str, int]:
    day = exchange.calendar.previous_session(exchange.clock.now().date(), include=True)
    return {ticker: max(1, value // exchange.market.base_price(ticker, day))
            for ticker, value in DEMO_HOLDINGS_VALUE.items()}


def ensure_demo_account(exchange: PaperExchange) -> Account:
    """The first account of this exchange, created with the demo holdings when there is none."""
    for account in exchange.accounts.values():
        if account.profile == exchange.settings.profile:
            return account
    return exchange.create_account(DEMO_CASH, demo_holdings(exchange))


def write_credentials(account: Account, path: Path) -> None:
    """Write the account's keys as JSON readable by the owner only (mode 0600 from the start)."""
    private_dir(path.parent)
    payload = {"app_key": account.app_key, "app_secret": account.app_secret, "account": account.number}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, indent=2)
    os.chmod(path, 0o600)


def require_loopback(host: str) -> None:
    """The paper exchange is a local tool: it only listens on loopback addresses."""
    name = "127.0.0.1" if host == "localhost" else host
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"refusing to listen on {host!r}: the paper exchange binds to loopback only "
                         "(127.0.0.1, ::1 or localhost)")


def serve(settings: ExchangeSettings, host: str, port: int, credentials: Path | None = None,
          log_level: str = "warning") -> None:
    import uvicorn

    from paper.app import create_app

    require_loopback(host)
    exchange = PaperExchange(settings)
    account = ensure_demo_account(exchange)
    if credentials is not None:
        write_credentials(account, credentials)
    app = create_app(exchange)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
