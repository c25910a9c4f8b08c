"""A fake Gemini REST API on loopback, for the LLM tests and the planner request bench.

The real ``ChatGoogleGenerativeAI`` (and google-genai under it, whatever HTTP library it uses) is
pointed at it with ``base_url=server.base_url`` and talks HTTP to it like to Google's endpoint:

- ``POST /{version}/models/{model}:generateContent`` is answered from a queue of scripted items
  (``respond``): a JSON body (200), a ``Reply`` with another status and/or a delay (``error``,
  ``slow``), ``Drop`` (the status line and part of the body, then the connection is closed), or a
  function of the recorded request returning one of those.
- Every request is recorded (``requests``): method, path, query, headers, the parsed JSON body.
- A request with nothing left in the queue, or for anything but generateContent (the planner does
  not stream), gets a Gemini error (500 / 404) saying so, and is listed in ``unscripted``; the
  pytest fixture fails the test for it, and for scripted items left unused.

Success bodies are built by ``planner.planner_kit.gemini_body``; error bodies by ``gemini_error``.
The server is a Starlette app run by uvicorn in a background thread (``LoopbackServer``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from support.paperkit import LoopbackServer

# google.rpc.Code names, as the Gemini API puts them in error.status.
ERROR_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
ERROR_MESSAGE = {
    400: "API key not valid. Please pass a valid API key.",
    403: "Method doesn't allow unregistered callers (callers without established identity).",
    404: "models/unknown is not found for API version v1, or is not supported for generateContent.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}


def gemini_error(code: int, message: str | None = None) -> dict[str, Any]:
    """An error body as the Gemini API sends it (google.rpc.Status in JSON)."""
    return {"error": {"code": code, "message": message or ERROR_MESSAGE.get(code, "Unknown error."),
                      "status": ERROR_STATUS.get(code, "UNKNOWN")}}


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a JSON body with a status, sent after ``delay`` seconds."""

    body: Any
    status: int = 200
    delay: float = 0.0


@dataclass(frozen=True)
class Drop:
    """Send the status line, the headers (with the full Content-Length) and the first ``keep``
    bytes of ``body``, then close the connection: the answer is cut off mid-transfer."""

    body: Any = field(default_factory=dict)
    keep: int = 20


def error(code: int, message: str | None = None) -> Reply:
    return Reply(gemini_error(code, message), status=code)


def slow(body: Any, seconds: float) -> Reply:
    """A 200 answer sent only after ``seconds`` (past the client's timeout, it is never read)."""
    return Reply(body, delay=seconds)


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON body (None when it was empty or not JSON)
    raw: bytes

    @property
    def action(self) -> str:
        """``generateContent``, ``streamGenerateContent`` … (after the last ``:`` of the path)."""
        return self.path.rpartition(":")[2] if ":" in self.path.rpartition("/")[2] else ""

    @property
    def model(self) -> str:
        return self.path.rpartition("/models/")[2].partition(":")[0]

    @property
    def system_text(self) -> str:
        parts = ((self.body or {}).get("systemInstruction") or {}).get("parts") or []
        return "".join(p.get("text", "") for p in parts)

    def texts(self, role: str = "user") -> list[str]:
        """The text of each turn with ``role`` in ``contents``."""
        return ["".join(p.get("text", "") for p in turn.get("parts", []))
                for turn in (self.body or {}).get("contents", []) if turn.get("role") == role]

    @property
    def generation_config(self) -> dict[str, Any]:
        return (self.body or {}).get("generationConfig") or {}


Scripted = dict | Reply | Drop | Callable[[Recorded], dict | Reply | Drop]


class _CutResponse(Response):
    """Starts a response, sends part of its body and returns: uvicorn then closes the connection
    ("ASGI callable returned without completing response")."""

    def __init__(self, drop: Drop) -> None:
        super().__init__()
        self.full = json.dumps(drop.body).encode()
        self.keep = drop.keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json; charset=UTF-8"),
                                (b"content-length", str(len(self.full)).encode())]})
        await send({"type": "http.response.body", "body": self.full[:self.keep], "more_body": True})


class FakeGemini:
    """The server; ``start()``/``stop()`` or ``with FakeGemini() as server``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Scripted] = deque()
        self.requests: list[Recorded] = []
        self.unscripted: list[Recorded] = []
        self.app = Starlette(routes=[
            Route("/{version}/models/{call:path}", self._model_call, methods=["POST"]),
            Route("/{anything:path}", self._unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ])
        self._server: LoopbackServer | None = None

    # --- control, from the test's thread --------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Gemini server is not running")
        return self._server.url

    def respond(self, *items: Scripted) -> None:
        """Queue answers for the next generateContent requests, in order."""
        with self._lock:
            self._queue.extend(items)

    @property
    def pending(self) -> int:
        """Scripted answers not used yet."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.unscripted.clear()

    def problems(self) -> list[str]:
        """What a test should not leave behind: requests nobody scripted, answers nobody asked for."""
        with self._lock:
            found = [f"unscripted request: {r.method} {r.path}" for r in self.unscripted]
            if self._queue:
                found.append(f"{len(self._queue)} scripted answer(s) never requested")
        return found

    def start(self) -> FakeGemini:
        self._server = LoopbackServer(self.app).__enter__()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)
            self._server = None

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the API, on uvicorn's thread ----------------------------------------------------

    async def _record(self, request: Request) -> Recorded:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = Recorded(method=request.method, path=request.url.path, query=request.url.query,
                            headers={k.lower(): v for k, v in request.headers.items()}, body=body, raw=raw)
        with self._lock:
            self.requests.append(recorded)
        return recorded

    async def _model_call(self, request: Request) -> Response:
        recorded = await self._record(request)
        if recorded.action != "generateContent":
            return self._refuse(recorded, 404, f"fake Gemini serves only :generateContent, not {recorded.path!r} "
                                               "(Rebal's planner and reviewer do not stream)")
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None:
            return self._refuse(recorded, 500, f"fake Gemini: no scripted answer left for request "
                                               f"#{len(self.requests)} ({recorded.path}); script it with respond()")
        if callable(item):
            item = item(recorded)
        if isinstance(item, Drop):
            return _CutResponse(item)
        reply = item if isinstance(item, Reply) else Reply(item)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return JSONResponse(reply.body, status_code=reply.status)

    async def _unknown(self, request: Request) -> Response:
        recorded = await self._record(request)
        return self._refuse(recorded, 404, f"fake Gemini: no such endpoint {request.method} {recorded.path}")

    def _refuse(self, recorded: Recorded, code: int, message: str) -> Response:
        with self._lock:
            self.unscripted.append(recorded)
        return JSONResponse(gemini_error(code, message), status_code=code)
