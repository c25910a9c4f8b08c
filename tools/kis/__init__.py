"""Rebal's KIS Open API client: credentials, tokens, rate limits, paging, typed results.

    from tools.kis import KisClient, KisConfig, load_credentials
    async with KisClient(KisConfig(account=creds.account), creds) as kis:
        balance = await kis.balance()

The KIS wire format (Korean field names, string numbers) stays inside this package.
"""

from tools.kis.client import KisClient, SyncKisClient
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

__all__ = [
    "REDACTOR", "AccountSummary", "AuthError", "Balance", "BookLevel", "BuyingPower", "Credentials", "Holding",
    "InsufficientCash", "InsufficientQuantity", "KisApiError", "KisClient", "KisConfig", "KisConfigError",
    "KisError", "KisTransportError", "MarketClosed", "NothingToRevise", "OrderAck", "OrderBook",
    "OrderOutcomeUnknown", "OrderRecord", "OrderRejected", "OrderRequest", "PagingError", "PriceError", "Quote",
    "RateLimited", "SyncKisClient", "TokenExpired", "TokenInvalid", "TokenThrottled", "UnknownTicker",
    "UnsupportedOperation", "load_credentials", "mask_account", "redact", "store_in_keyring",
]
