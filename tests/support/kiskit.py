"""Building Rebal's KIS client against a test harness of the paper exchange."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from paper.app import transport
from paper.ledger import Account
from support.paperkit import Harness
from tools.kis import Credentials, KisClient, KisConfig


def credentials(account: Account) -> Credentials:
    return Credentials(app_key=SecretStr(account.app_key), app_secret=SecretStr(account.app_secret),
                       account=account.number, source="test")


def client(h: Harness, account: Account, cache: Path, **config) -> KisClient:
    """A client that reaches ``h`` the way the harness does (in-process transport or loopback HTTP)."""
    values = {"profile": h.exchange.settings.profile, "account": account.number, "base_url": str(h.http.base_url),
              "requests_per_second": 0, "token_cache_dir": cache, "backoff_base": 0.01, "backoff_cap": 0.05,
              "token_throttle_wait": 0.2}
    values.update(config)
    return KisClient(KisConfig(**values), credentials(account),
                     transport=transport(h.app) if h.mode == "inprocess" else None)


def secrets_of(account: Account) -> list[str]:
    """Values that must never appear in a log line or an error message."""
    return [account.app_key, account.app_secret, account.cano, account.cano + account.product_code,
            account.number]
