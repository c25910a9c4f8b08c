"""OAuth and utilities: tokenP, revokeP, the WebSocket approval key, and hashkey."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse

from paper import errors
from paper.auth import TokenService
from paper.errors import PaperError
from paper.exchange import PaperExchange
from paper.ledger import Account
from paper.wire import oauth_error
from tools.market import KST


async def _json(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PaperError(errors.BAD_APP_KEY)
    return {k.lower(): v for k, v in body.items()}


def _account(exchange: PaperExchange, app_key: object, secret: object) -> Account:
    account = exchange.accounts_by_key.get(str(app_key or ""))
    if account is None:
        raise PaperError(errors.BAD_APP_KEY)
    if str(secret or "") != account.app_secret:
        raise PaperError(errors.BAD_APP_SECRET)
    if account.profile != exchange.settings.profile:
        raise PaperError(errors.PAPER_KEY_ON_REAL if exchange.settings.profile == "real"
                         else errors.REAL_KEY_ON_PAPER)
    return account


async def token(request: Request, exchange: PaperExchange, tokens: TokenService) -> JSONResponse:
    try:
        body = await _json(request)
        if body.get("grant_type") != "client_credentials":
            return JSONResponse({"error_description": "grant_type은 client_credentials만 가능합니다.",
                                 "error_code": "EGW00002"}, status_code=403)
        account = _account(exchange, body.get("appkey"), body.get("appsecret"))
        issued = tokens.issue(account.app_key)
    except PaperError as error:
        return oauth_error(error)
    expires = dt.datetime.fromtimestamp(issued.expires_at, KST)
    remaining = int(issued.expires_at - tokens._wall())
    return JSONResponse({"access_token": issued.token,
                         "access_token_token_expired": expires.strftime("%Y-%m-%d %H:%M:%S"),
                         "token_type": "Bearer", "expires_in": remaining})


async def revoke(request: Request, exchange: PaperExchange, tokens: TokenService) -> JSONResponse:
    try:
        body = await _json(request)
        account = _account(exchange, body.get("appkey"), body.get("appsecret"))
    except PaperError as error:
        return oauth_error(error)
    if not tokens.revoke(str(body.get("token", "")), account.app_key):
        return JSONResponse({"code": 403, "message": "유효하지 않은 token 입니다."}, status_code=403)
    return JSONResponse({"code": 200, "message": "접근토큰 폐기에 성공하였습니다"})


async def approval(request: Request, exchange: PaperExchange, tokens: TokenService) -> JSONResponse:
    try:
        body = await _json(request)
        _account(exchange, body.get("appkey"), body.get("secretkey"))
    except PaperError as error:
        return oauth_error(error)
    return JSONResponse({"approval_key": str(uuid.uuid4())})


async def hashkey(request: Request, exchange: PaperExchange, tokens: TokenService) -> JSONResponse:
    headers = request.headers
    try:
        _account(exchange, headers.get("appkey"), headers.get("appsecret"))
    except PaperError as error:
        return oauth_error(error)
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return JSONResponse({"error_code": "EGW00002", "error_description": "JSON 형식 오류"}, status_code=400)
    return JSONResponse({"BODY": body, "HASH": hashlib.sha256(raw).hexdigest()})
