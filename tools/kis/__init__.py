"""Rebal's KIS Open API client: credentials, tokens, rate limits, paging, typed results.

    from tools.kis import KisClient, KisConfig, load_credentials
    async with KisClient(KisConfig(account=creds.account), creds) as kis:
        balance = await kis.balance()

The KIS wire format (Korean field names, string numbers) stays inside this package.
The clients (and httpx with them) are imported on first use, so modules that only need the
models, the errors or the redactor stay light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tools.kis.config import Credentials, KisConfig, load_credentials, store_in_keyring
from tools.kis.errors import (
    AuthError,
    InsufficientCash,
    InsufficientQuantity,
    KisApiError,
    KisConfigError,
    KisError,
    KisTransportError,
    MarketClosed,
    NothingToRevise,
    OrderOutcomeUnknown,
    OrderRejected,
    PagingError,
    PriceError,
    RateLimited,
    TokenExpired,
    TokenInvalid,
    TokenThrottled,
    UnknownTicker,
    UnsupportedOperation,
)
from tools.kis.models import (
    AccountSummary,
    Balance,
    BookLevel,
    BuyingPower,
    Holding,
    OrderAck,
    OrderBook,
    OrderRecord,
    OrderRequest,
    Quote,
)
from tools.kis.redact import REDACTOR, mask_account, redact

if TYPE_CHECKING:
    from tools.kis.client import KisClient, SyncKisClient

__all__ = [
    "REDACTOR", "AccountSummary", "AuthError", "Balance", "BookLevel", "BuyingPower", "Credentials", "Holding",
    "InsufficientCash", "InsufficientQuantity", "KisApiError", "KisClient", "KisConfig", "KisConfigError",
    "KisError", "KisTransportError", "MarketClosed", "NothingToRevise", "OrderAck", "OrderBook",
    "OrderOutcomeUnknown", "OrderRecord", "OrderRejected", "OrderRequest", "PagingError", "PriceError", "Quote",
    "RateLimited", "SyncKisClient", "TokenExpired", "TokenInvalid", "TokenThrottled", "UnknownTicker",
    "UnsupportedOperation", "load_credentials", "mask_account", "redact", "store_in_keyring",
]


def __getattr__(name: str) -> Any:
    if name in ("KisClient", "SyncKisClient"):
        value = getattr(import_module("tools.kis.client"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
