"""Running the paper exchange: building it from settings, the demo account, and serving on loopback."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.settings import ExchangeSettings

# The demo account: cash and a few ETFs, deliberately off the demo model portfolio.
DEMO_CASH = 3_000_000
DEMO_HOLDINGS = {"069500": 300, "360750": 450, "152380": 40, "132030": 60}


def ensure_demo_account(exchange: PaperExchange) -> Account:
    """The first account of this exchange, created with the demo holdings when there is none."""
    for account in exchange.accounts.values():
        if account.profile == exchange.settings.profile:
            return account
    return exchange.create_account(DEMO_CASH, DEMO_HOLDINGS)


def write_credentials(account: Account, path: Path) -> None:
    """Write the account's keys as JSON readable by the owner only (mode 0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
