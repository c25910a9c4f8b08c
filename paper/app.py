"""The ASGI application: KIS Open API paths over a ``PaperExchange``.

``create_app(exchange)`` serves over uvicorn (``rebal paper serve``) or in-process through
``transport(app)``, an httpx transport with no port, which is what the embedded default uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from paper import errors
from paper.auth import TokenService
from paper.errors import PaperError
from paper.exchange import PaperExchange
from paper.routes import admin, info, oauth, overseas, quotations, trading
from paper.wire import CallContext, Endpoint, Gateway, ResponseLost, error_response, kis_json

QUOTES = "/uapi/domestic-stock/v1/quotations/"
TRADING = "/uapi/domestic-stock/v1/trading/"

Handler = Callable[[PaperExchange, CallContext], Any]


class CollapseSlashes:
    """Clients that build URLs as base + "/" + "/uapi/..." send ``//uapi``; KIS tolerates it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            path = scope["path"]
            while "//" in path:
                path = path.replace("//", "/")
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


class DropLostResponses:
    """Fault injection: when an order's answer is to be lost, start the answer and cut it off.

    Over HTTP the client sees the connection close mid-response (not a clean 500): it cannot know
    whether the order went through, which is exactly the case an executor must reconcile.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ResponseLost:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")]})
            await send({"type": "http.response.body", "body": b'{"rt_cd":"0",', "more_body": True})
            raise


def create_app(exchange: PaperExchange, tokens: TokenService | None = None) -> Starlette:
    tokens = tokens or TokenService(exchange.settings, exchange.store)
    gateway = Gateway(exchange, tokens)
    profile = exchange.settings.profile

    def uapi(endpoint: Endpoint, handler: Handler, *, account_scoped: bool = False,
             is_order: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint_view(request: Request) -> Response:
            tr_id = request.headers.get("tr_id", "")
            try:
                ctx = await gateway.admit(request, endpoint)
                if account_scoped:
                    gateway.check_account(ctx)
                result = handler(exchange, ctx)
            except PaperError as error:
                return error_response(error, profile, tr_id)
            tr_cont = ""
            if is_order:
                body, _order = result
                faults = exchange.settings.faults
                if faults.lose_order_responses:
                    faults.lose_order_responses -= 1
                    raise ResponseLost(f"order {body['output']['ODNO']} booked, answer dropped")
            elif isinstance(result, tuple):
                body, tr_cont = result
            else:
                body = result
            return kis_json(body, tr_id=tr_id, tr_cont=tr_cont)

        return endpoint_view

    def oauth_route(handler) -> Callable[[Request], Awaitable[Response]]:
        async def view(request: Request) -> Response:
            return await handler(request, exchange, tokens)

        return view

    def control(handler) -> Callable[[Request], Awaitable[Response]]:
        async def view(request: Request) -> Response:
            return await handler(request, exchange)

        return view

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(PaperError(errors.SERVICE_NOT_FOUND), profile, request.headers.get("tr_id", ""))

    async def psbl_rvsecncl(request: Request) -> Response:
        return await uapi(trading.PSBL_RVSECNCL, trading.inquire_psbl_rvsecncl, account_scoped=True)(request)

    routes = [
        Route("/oauth2/tokenP", oauth_route(oauth.token), methods=["POST"]),
        Route("/oauth2/revokeP", oauth_route(oauth.revoke), methods=["POST"]),
        Route("/oauth2/Approval", oauth_route(oauth.approval), methods=["POST"]),
        Route("/uapi/hashkey", oauth_route(oauth.hashkey), methods=["POST"]),
        Route(QUOTES + "inquire-price", uapi(quotations.PRICE, quotations.inquire_price)),
        Route(QUOTES + "inquire-asking-price-exp-ccn", uapi(quotations.BOOK, quotations.inquire_asking_price)),
        Route(QUOTES + "inquire-daily-itemchartprice",
              uapi(quotations.CHART, quotations.inquire_daily_itemchartprice)),
        Route(QUOTES + "inquire-daily-price", uapi(quotations.DAILY, quotations.inquire_daily_price)),
        Route(QUOTES + "search-info", uapi(info.SEARCH_INFO, info.search_info)),
        Route(QUOTES + "inquire-time-itemchartprice", uapi(info.MINUTE_CHART, info.inquire_time_itemchartprice)),
        *(Route(path, uapi(endpoint, overseas.empty(endpoint), account_scoped=True))
          for path, endpoint in overseas.PATHS.items()),
        Route(TRADING + "inquire-balance", uapi(trading.BALANCE, trading.inquire_balance, account_scoped=True)),
        Route(TRADING + "inquire-psbl-order",
              uapi(trading.PSBL_ORDER, trading.inquire_psbl_order, account_scoped=True)),
        Route(TRADING + "inquire-daily-ccld",
              uapi(trading.DAILY_CCLD, trading.inquire_daily_ccld, account_scoped=True)),
        Route(TRADING + "inquire-psbl-rvsecncl", psbl_rvsecncl),
        Route(TRADING + "order-cash", uapi(trading.ORDER_CASH, trading.order_cash, account_scoped=True,
                                           is_order=True), methods=["POST"]),
        Route(TRADING + "order-rvsecncl", uapi(trading.RVSECNCL, trading.order_rvsecncl, account_scoped=True,
                                               is_order=True), methods=["POST"]),
        Route("/paper/health", lambda request: JSONResponse({"status": "ok", "profile": profile})),
        Route("/paper/clock", control(admin.clock), methods=["GET", "POST"]),
        Route("/paper/faults", control(admin.faults), methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.exchange = exchange
    app.state.tokens = tokens
    app.state.gateway = gateway
    app.add_middleware(DropLostResponses)
    app.add_middleware(CollapseSlashes)
    return app


class PaperTransport(httpx.AsyncBaseTransport):
    """In-process transport: the app without a port. A dropped answer surfaces as a read error."""

    def __init__(self, app: Starlette) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ResponseLost as lost:
            raise httpx.ReadError(f"connection lost before the answer arrived ({lost})", request=request) from None


def transport(app: Starlette) -> PaperTransport:
    return PaperTransport(app)


__all__ = ["PaperTransport", "create_app", "kis_json", "transport"]
