"""Controls of the paper exchange itself (not KIS APIs): its clock and fault injection.

Served under /paper/ on the same loopback port, so a test or a user can move simulated time
(``rebal paper clock advance 30m``) or switch faults on while a client is connected.
"""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from paper.exchange import PaperExchange
from paper.settings import Faults


class ClockChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_seconds: float | None = Field(None, ge=0)
    set: dt.datetime | None = None
    speed: float | None = Field(None, ge=0)


def clock_state(exchange: PaperExchange) -> dict:
    now = exchange.sync()
    return {"now": now.isoformat(), "speed": exchange.clock.speed, "phase": exchange.phase(now).value,
            "profile": exchange.settings.profile}


async def _body(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


async def clock(request: Request, exchange: PaperExchange) -> JSONResponse:
    if request.method == "POST":
        try:
            change = ClockChange.model_validate(await _body(request))
        except (ValueError, ValidationError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        if change.set is not None:
            if change.set.tzinfo is None:
                return JSONResponse({"error": "'set' needs a timezone, e.g. 2026-11-20T10:00:00+09:00"},
                                    status_code=400)
            exchange.clock.set(change.set)
        if change.advance_seconds:
            exchange.clock.advance(change.advance_seconds)
        if change.speed is not None:
            exchange.clock.set_speed(change.speed)
    return JSONResponse(clock_state(exchange))


async def faults(request: Request, exchange: PaperExchange) -> JSONResponse:
    if request.method == "POST":
        try:
            exchange.settings.faults = Faults.model_validate(await _body(request))
        except (ValueError, ValidationError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse(exchange.settings.faults.model_dump())
