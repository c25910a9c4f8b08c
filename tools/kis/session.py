"""One KIS request, done right: rate limit, token, retries for reads, never a blind retry for orders.

Reads retry on transport errors and 5xx answers with jittered, bounded backoff. Gateway refusals
(expired token, rate limit) are definite — the request never reached the API — so both reads and
orders retry those. Anything else ambiguous about an order (a lost or garbled answer) raises
``OrderOutcomeUnknown`` carrying what was sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tools.kis.config import KisConfig
from tools.kis.errors import (
    KisApiError,
    KisTransportError,
    OrderOutcomeUnknown,
    PagingError,
    RateLimited,
    TokenExpired,
    TokenInvalid,
    classify,
)
from tools.kis.models import OrderRequest
from tools.kis.ratelimit import AsyncSlidingWindow
from tools.kis.tokens import TokenManager

log = logging.getLogger("tools.kis.session")
RATE_LIMIT_RETRIES = 5
# Gateway codes that mean "refused before the API ran": safe to retry even for an order.
DEFINITE_REFUSALS = {"EGW00201", "EGW00121", "EGW00123"}


class KisSession:
    def __init__(self, config: KisConfig, http: httpx.AsyncClient, tokens: TokenManager,
                 limiter: AsyncSlidingWindow, app_key: str, app_secret: str) -> None:
        self.config = config
        self.http = http
        self.tokens = tokens
        self.limiter = limiter
        self._app_key = app_key
        self._app_secret = app_secret
        self._random = random.Random()
        self.calls = 0  # HTTP requests sent (for benchmarks and call budgets)
        self.rate_limited = 0  # EGW00201 answers received

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** attempt)
        return self._random.uniform(ceiling / 2, ceiling)

    async def call(self, method: str, path: str, tr_id: str, *, params: dict[str, str] | None = None,
                   body: dict[str, str] | None = None, tr_cont: str = "", operation: str,
                   order: OrderRequest | None = None) -> tuple[dict[str, Any], httpx.Headers]:
        transport_failures = 0
        auth_renewed = False
        rate_limited = 0
        while True:
            token = await self.tokens.token()
            await self.limiter.acquire()
            headers = {"authorization": f"Bearer {token}", "appkey": self._app_key, "appsecret": self._app_secret,
                       "tr_id": tr_id, "custtype": "P", "tr_cont": tr_cont}
            self.calls += 1
            try:
                response = await self.http.request(method, path, params=params, json=body, headers=headers)
            except httpx.HTTPError as error:
                if order is not None:
                    raise OrderOutcomeUnknown(
                        f"{operation}: the answer was lost ({type(error).__name__}); the order may or may not "
                        "be on the book — check today's orders before sending it again", order) from None
                transport_failures += 1
                if transport_failures > self.config.read_retries:
                    raise KisTransportError(f"{operation}: {type(error).__name__} after "
                                            f"{transport_failures} attempts") from None
                await asyncio.sleep(self._backoff(transport_failures))
                continue
            log.debug("%s %s tr_id=%s -> HTTP %s", method, path, tr_id, response.status_code)
            try:
                payload = response.json()
                rt_cd = str(payload["rt_cd"])
            except (ValueError, KeyError, TypeError):
                if order is not None:
                    raise OrderOutcomeUnknown(
                        f"{operation}: HTTP {response.status_code} without a KIS answer; the order may or may "
                        "not be on the book — check today's orders before sending it again", order) from None
                transport_failures += 1
                if response.status_code < 500 or transport_failures > self.config.read_retries:
                    raise KisTransportError(f"{operation}: HTTP {response.status_code} without a KIS answer") from None
                await asyncio.sleep(self._backoff(transport_failures))
                continue
            if rt_cd == "0":
                return payload, response.headers
            error = classify(str(payload.get("msg_cd", "")), str(payload.get("msg1", "")),
                             http_status=response.status_code, operation=operation)
            if isinstance(error, TokenExpired | TokenInvalid) and not auth_renewed:
                auth_renewed = True
                await self.tokens.renew(token)
                continue
            if isinstance(error, RateLimited):
                self.rate_limited += 1
            if isinstance(error, RateLimited) and rate_limited < RATE_LIMIT_RETRIES:
                rate_limited += 1
                wait = self._backoff(rate_limited)
                log.info("%s: rate limited by KIS (EGW00201); backing off %.2f s", operation, wait)
                self.limiter.pause(wait)
                continue
            if order is not None and response.status_code >= 500 and _is_internal(error):
                raise OrderOutcomeUnknown(f"{operation}: {error} — the order may or may not be on the book; "
                                          "check today's orders before sending it again", order)
            if order is None and response.status_code >= 500 and _is_internal(error) \
                    and transport_failures < self.config.read_retries:
                transport_failures += 1
                await asyncio.sleep(self._backoff(transport_failures))
                continue
            raise error

    async def pages(self, path: str, tr_id: str, params: dict[str, str], *, operation: str,
                    context_suffix: str = "100") -> AsyncIterator[dict[str, Any]]:
        """Follow ``tr_cont`` F/M → N with the context keys until D/E, within ``max_pages``."""
        fk_name, nk_name = f"CTX_AREA_FK{context_suffix}", f"CTX_AREA_NK{context_suffix}"
        query = {**params, fk_name: "", nk_name: ""}
        tr_cont = ""
        seen: set[str] = set()
        for page in range(1, self.config.max_pages + 1):
            try:
                payload, headers = await self.call("GET", path, tr_id, params=query, tr_cont=tr_cont,
                                                   operation=operation)
            except PagingError as error:
                raise PagingError(error.msg_cd, f"{error.msg1} — KIS said more pages followed, then refused "
                                  f"page {page} (its known endless-paging quirk); read the account again later",
                                  operation=operation) from None
            yield payload
            if headers.get("tr_cont", "") not in ("F", "M"):
                return
            nk = str(payload.get(f"ctx_area_nk{context_suffix}", ""))
            if nk.strip() in seen:
                raise PagingError("PAGING", f"page {page} repeated its continuation key; stopped", operation=operation)
            seen.add(nk.strip())
            query = {**params, fk_name: str(payload.get(f"ctx_area_fk{context_suffix}", "")), nk_name: nk}
            tr_cont = "N"
        raise PagingError("PAGING", f"more than {self.config.max_pages} pages; stopped", operation=operation)


def _is_internal(error: KisApiError) -> bool:
    """A 5xx that is not one of the gateway's definite refusals (EGW00201, token, tr_id...)."""
    return error.msg_cd not in DEFINITE_REFUSALS and not error.msg_cd.startswith("EGW02") \
        and error.msg_cd not in ("EGW00103", "EGW00105", "EGW00133", "MCA00124")
