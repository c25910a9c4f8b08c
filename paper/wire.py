"""KIS wire conventions: case-insensitive inputs, string numbers, the rt_cd/msg_cd/msg1 envelope.

Also the gateway in front of every /uapi call: fault injection, token, app key and secret,
account profile, per-account rate limit and the tr_id check, in the order KIS's gateway applies
them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from paper import errors
from paper.auth import TokenService
from paper.errors import PaperError
from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.ratelimit import SlidingWindowLimiter

MSG_WIDTH = 80  # KIS right-pads msg1 with spaces


class ResponseLost(Exception):
    """Fault injection: the order was booked, but its answer never reaches the client."""


def num(value: int | float | None, decimals: int = 0) -> str:
    """A number the way KIS sends it: a string, fixed decimals for rates and averages."""
    if value is None:
        return "0" if not decimals else f"{0:.{decimals}f}"
    if decimals:
        return f"{value:.{decimals}f}"
    return str(int(value))


def ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def hms(moment: dt.datetime) -> str:
    return moment.strftime("%H%M%S")


def parse_ymd(text: str, field: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%Y%m%d").date()
    except ValueError:
        raise PaperError(errors.BAD_INPUT, f"{field}={text!r}: YYYYMMDD") from None


def parse_int(text: Any, field: str, *, allow_blank: bool = False) -> int:
    raw = str(text if text is not None else "").strip()
    if raw == "" and allow_blank:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise PaperError(errors.BAD_INPUT, f"{field}={raw!r}: 숫자") from None


def kis_json(body: dict[str, Any], *, tr_id: str = "", tr_cont: str = "", status: int = 200) -> JSONResponse:
    headers = {"tr_id": tr_id, "tr_cont": tr_cont, "gt_uid": ""}
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/json; charset=utf-8")


def envelope(code: str, message: str, **outputs: Any) -> dict[str, Any]:
    return {"rt_cd": "0", "msg_cd": code, "msg1": message.ljust(MSG_WIDTH), **outputs}


def error_response(error: PaperError, profile: str, tr_id: str = "") -> JSONResponse:
    body = {"rt_cd": error.spec.rt_cd, "msg_cd": error.spec.code, "msg1": error.text(profile).ljust(MSG_WIDTH)}
    return kis_json(body, tr_id=tr_id, status=error.spec.http_status)


def oauth_error(error: PaperError) -> JSONResponse:
    """OAuth endpoints answer errors as error_code/error_description, not rt_cd."""
    return JSONResponse({"error_description": error.spec.real_text, "error_code": error.spec.code},
                        status_code=error.spec.http_status if error.spec.http_status != 200 else 403)


class Params:
    """Query parameters and JSON body fields, looked up case-insensitively."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = {k.upper(): v for k, v in values.items()}

    def get(self, name: str, default: str = "") -> str:
        value = self._values.get(name.upper(), default)
        return str(value) if value is not None else default

    def has(self, name: str) -> bool:
        return name.upper() in self._values

    @classmethod
    async def of(cls, request: Request) -> Params:
        values: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            raw = await request.body()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise PaperError(errors.BAD_INPUT, "JSON body") from None
                if not isinstance(body, dict):
                    raise PaperError(errors.BAD_INPUT, "JSON body must be an object")
                values.update(body)
        return cls(values)


@dataclass(frozen=True)
class Endpoint:
    """An API and the tr_ids it answers to, per profile; ``None`` = not offered on that profile."""

    name: str
    real: frozenset[str] | None
    paper: frozenset[str] | None

    def allowed(self, profile: str) -> frozenset[str] | None:
        return self.real if profile == "real" else self.paper


@dataclass
class CallContext:
    account: Account
    tr_id: str
    params: Params
    tr_cont: str  # request header: "" first page, "N" next page


class Gateway:
    def __init__(self, exchange: PaperExchange, tokens: TokenService) -> None:
        self.exchange = exchange
        self.tokens = tokens
        self.limiter = SlidingWindowLimiter(exchange.settings.requests_per_second)
        self._random = random.Random(exchange.settings.faults.seed)
        self.rate_limited = 0  # requests refused by the per-account limit (not injected bursts)

    @property
    def profile(self) -> str:
        return self.exchange.settings.profile

    async def admit(self, request: Request, endpoint: Endpoint) -> CallContext:
        faults = self.exchange.settings.faults
        if faults.slow_seconds:
            await asyncio.sleep(faults.slow_seconds)
        if faults.server_error_burst:
            faults.server_error_burst -= 1
            raise PaperError(errors.INTERNAL)
        if faults.error_rate and self._random.random() < faults.error_rate:
            raise PaperError(errors.INTERNAL)
        headers = request.headers
        tr_id = headers.get("tr_id", "").strip()
        authorization = headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        issued = self.tokens.verify(token)
        app_key = headers.get("appkey", "")
        account = self.exchange.accounts_by_key.get(app_key)
        if account is None or app_key != issued.app_key:
            raise PaperError(errors.BAD_APP_KEY)
        if headers.get("appsecret", "") != account.app_secret:
            raise PaperError(errors.BAD_APP_SECRET)
        self.check_profile(account)
        if faults.rate_limit_burst:
            faults.rate_limit_burst -= 1
            raise PaperError(errors.RATE_LIMITED)
        if not self.limiter.allow(account.app_key):
            self.rate_limited += 1
            raise PaperError(errors.RATE_LIMITED)
        self.check_tr_id(endpoint, tr_id)
        params = await Params.of(request)
        return CallContext(account, tr_id, params, headers.get("tr_cont", "").strip().upper())

    def check_profile(self, account: Account) -> None:
        if account.profile != self.profile:
            raise PaperError(errors.PAPER_KEY_ON_REAL if self.profile == "real" else errors.REAL_KEY_ON_PAPER)

    def check_tr_id(self, endpoint: Endpoint, tr_id: str) -> None:
        own = endpoint.allowed(self.profile) or frozenset()
        if tr_id in own:
            return
        other = endpoint.allowed("paper" if self.profile == "real" else "real") or frozenset()
        looks_paper = tr_id.startswith("V")
        if self.profile == "paper" and (tr_id in other or not looks_paper or endpoint.paper is None):
            raise PaperError(errors.NOT_PAPER_TR)
        if self.profile == "real" and (tr_id in other or looks_paper):
            raise PaperError(errors.NOT_REAL_TR)
        raise PaperError(errors.UNKNOWN_TR, tr_id)

    def check_account(self, ctx: CallContext) -> None:
        cano, product = ctx.params.get("CANO").strip(), ctx.params.get("ACNT_PRDT_CD").strip()
        if (cano, product) != (ctx.account.cano, ctx.account.product_code):
            raise PaperError(errors.ACCOUNT_MISMATCH)
