"""One exception hierarchy for everything KIS can answer, readable for a person.

Every ``KisApiError`` keeps KIS's ``msg_cd`` and ``msg1``; ``classify`` maps an answer to the most
specific class, so callers catch ``InsufficientCash`` or ``MarketClosed`` rather than parse codes.
"""

from __future__ import annotations

from typing import Any


class KisError(Exception):
    """Base of all errors raised by ``tools.kis``."""


class KisConfigError(KisError):
    """Configuration or credentials are missing or malformed."""


class KisTransportError(KisError):
    """The server could not be reached, or its answer was not KIS's (after the retries reads get)."""


class OrderOutcomeUnknown(KisError):
    """An order was sent but its answer was lost or garbled: it may or may not be on the book.

    Never retried: the caller must reconcile against the broker's order list (``orders_today``)
    using ``request`` — what was sent — before sending anything again.
    """

    def __init__(self, message: str, request: Any) -> None:
        super().__init__(message)
        self.request = request


class KisApiError(KisError):
    """KIS answered with ``rt_cd`` other than "0" (or an OAuth error)."""

    def __init__(self, msg_cd: str, msg1: str, *, http_status: int = 200, operation: str = "") -> None:
        self.msg_cd = msg_cd
        self.msg1 = msg1.strip()
        self.http_status = http_status
        self.operation = operation
        where = f" during {operation}" if operation else ""
        super().__init__(f"{self.msg1} [{msg_cd}]{where}")


class AuthError(KisApiError):
    """Credentials refused, token expired or invalid, or key used on the wrong server."""


class TokenExpired(AuthError):
    pass


class TokenInvalid(AuthError):
    pass


class TokenThrottled(AuthError):
    """Token issuance is limited (about one a minute per app key)."""


class RateLimited(KisApiError):
    """Over the per-second request limit (EGW00201)."""


class UnsupportedOperation(KisApiError):
    """The server does not offer this API or tr_id (e.g. a real-only TR on the paper server)."""


class OrderRejected(KisApiError):
    """A business rejection of an order or inquiry."""


class InsufficientCash(OrderRejected):
    pass


class InsufficientQuantity(OrderRejected):
    pass


class MarketClosed(OrderRejected):
    pass


class PriceError(OrderRejected):
    """Price off the tick grid or outside the day's limits."""


class UnknownTicker(OrderRejected):
    pass


class NothingToRevise(OrderRejected):
    """Nothing left to revise or cancel (already filled, cancelled or lapsed)."""


class PagingError(KisApiError):
    """Paging did not end: KIS's endless ``tr_cont=M`` quirk (SYDB0050) or too many pages."""


class InvalidInput(KisApiError):
    pass


_BY_CODE: dict[str, type[KisApiError]] = {
    "EGW00123": TokenExpired, "EGW00121": TokenInvalid, "EGW00133": TokenThrottled,
    "EGW00103": AuthError, "EGW00105": AuthError, "EGW02004": AuthError, "EGW02005": AuthError,
    "EGW00201": RateLimited,
    "EGW02006": UnsupportedOperation, "EGW02007": UnsupportedOperation, "EGW00202": UnsupportedOperation,
    "MCA00124": UnsupportedOperation,
    "40250000": InsufficientCash, "APBK0952": InsufficientCash,
    "40240000": InsufficientQuantity,
    "40580000": MarketClosed, "40570000": MarketClosed,
    "40080000": PriceError, "40090000": PriceError,
    "40070000": UnknownTicker, "APBK0656": UnknownTicker,
    "40330000": NothingToRevise,
    "SYDB0050": PagingError,
    "OPSQ2001": InvalidInput,
}
# Real-server texts whose codes are not settled (kis-open-api §14): classify by words too.
_BY_TEXT: tuple[tuple[str, type[KisApiError]], ...] = (
    ("주문가능금액", InsufficientCash), ("주문가능수량", InsufficientQuantity), ("장운영시간", MarketClosed),
    ("장종료", MarketClosed), ("장시작전", MarketClosed), ("호가단위", PriceError), ("상하한가", PriceError),
    ("매매불가", UnknownTicker), ("정정/취소할 수량", NothingToRevise),
)


def classify(msg_cd: str, msg1: str, *, http_status: int = 200, operation: str = "") -> KisApiError:
    cls = _BY_CODE.get(msg_cd)
    if cls is None:
        cls = next((c for words, c in _BY_TEXT if words in msg1), OrderRejected)
    return cls(msg_cd, msg1, http_status=http_status, operation=operation)
