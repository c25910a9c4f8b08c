"""The LLM planner: one structured-output call, at most one repair retry, then the rules.

Failure is normal here and always ends in a usable plan: any exception from the model, an
answer that does not parse, was cut off, or breaks ``policy.plan_problems`` leads (after one
repair) to ``rules_plan`` with the reason. Each attempt is recorded as an ``LlmCall`` with its
usage and estimated cost, and a per-run token budget is checked *before* each call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.exceptions import ModelError, ModelRateLimitError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel

from agent.planner.cost import call_cost, normalise_model_id
from agent.planner.models import LlmCall, PlannerInput, PlannerResult, PlannerSettings
from agent.planner.prompt import (
    DEFAULT_PROMPT_VERSION,
    as_records,
    build_messages,
    estimate_tokens,
    load_prompt,
    message_text,
    repair_messages,
)
from agent.planner.rules import rules_plan
from agent.planner.schema import check_answer, finish_reason_of, schema_for


class PlannerConfigError(ValueError):
    """The model spec cannot be turned into a chat model (bad spec, missing package)."""


def make_chat_model(spec: str, api_key: str | None, settings: PlannerSettings) -> BaseChatModel:
    """A chat model from ``provider:model``. ``google_genai:`` builds ChatGoogleGenerativeAI
    directly; other providers go through ``langchain.chat_models.init_chat_model`` when the
    ``langchain`` package is installed. ``settings.base_url``, when set, replaces the provider's
    endpoint (a gateway or proxy speaking the same API). No network is touched here."""
    provider, sep, model = spec.partition(":")
    if not sep and spec.startswith("gemini"):
        # init_chat_model would guess Vertex AI for a bare "gemini-…" name; Rebal means the Gemini API.
        provider, model = "google_genai", spec
    if not provider or not model:
        raise PlannerConfigError(f"model spec {spec!r} must look like 'provider:model', e.g. "
                                 "'google_genai:gemini-2.5-flash'")
    if provider == "google_genai":
        from langchain_google_genai import ChatGoogleGenerativeAI  # ~1 s import: only when used

        extra: dict[str, Any] = {} if api_key is None else {"google_api_key": api_key}
        if settings.base_url is not None:
            extra["base_url"] = settings.base_url
        if settings.thinking_budget is not None:
            extra["thinking_budget"] = settings.thinking_budget
        return ChatGoogleGenerativeAI(model=model, timeout=settings.timeout, max_retries=settings.max_retries,
                                      max_output_tokens=settings.max_output_tokens,
                                      temperature=settings.temperature, **extra)
    try:
        from langchain.chat_models import init_chat_model  # type: ignore[import-not-found]
    except ImportError as exc:
        raise PlannerConfigError(
            f"model provider {provider!r} needs the 'langchain' package (pip install langchain and the "
            f"provider's integration package); only 'google_genai:' works without it") from exc
    extra = {} if api_key is None else {"api_key": api_key}
    if settings.base_url is not None:
        extra["base_url"] = settings.base_url
    return init_chat_model(f"{provider}:{model}", timeout=settings.timeout, max_retries=settings.max_retries,
                           max_tokens=settings.max_output_tokens, temperature=settings.temperature, **extra)


def model_id(model: BaseChatModel) -> str:
    name = getattr(model, "model", None) or getattr(model, "model_name", None) or type(model).__name__
    return normalise_model_id(str(name))


def raw_text(raw: Any) -> str | None:
    """What the model said: its text, or the arguments of its tool call (function-calling path)."""
    if not isinstance(raw, AIMessage):
        return None
    text = message_text(raw)
    if text:
        return text
    if raw.tool_calls:
        return json.dumps([{"name": c["name"], "args": c["args"]} for c in raw.tool_calls], ensure_ascii=False)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it was raised from or while handling (a client's wrapper first,
    the socket error last)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status a provider answered with, as its SDK records it (google-genai's APIError
    has ``code``; OpenAI's and Anthropic's errors have ``status_code``)."""
    for error in _chain(exc):
        for attribute in ("code", "status_code"):
            value = getattr(error, attribute, None)
            if isinstance(value, int) and 100 <= value <= 599:
                return value
    return None


# Judged by class names, not by importing an HTTP library: google-genai moved from httpx to
# httpx2, other providers use aiohttp or requests, and their exception classes differ.
_TIMEOUT_NAMES = ("Timeout", "DeadlineExceeded")  # httpx(2) ReadTimeout/ConnectTimeout, aiohttp ServerTimeoutError
_CONNECT_NAMES = ("ConnectError", "ConnectorError", "NewConnectionError", "NameResolutionError", "gaierror")
_TRANSPORT_NAMES = ("TransportError", "ProtocolError", "ServerDisconnectedError", "IncompleteRead",
                    "ChunkedEncodingError")


def _named(exc: BaseException, fragments: tuple[str, ...]) -> BaseException | None:
    """The first exception in the chain with a class (or base class) name containing a fragment."""
    for error in _chain(exc):
        if any(fragment in name for name in _class_names(error) for fragment in fragments):
            return error
    return None


def describe_failure(exc: BaseException, settings: PlannerSettings) -> str:
    """Why a model call failed, in words, whichever HTTP library the provider's SDK uses."""
    status = _http_status(exc)
    if isinstance(exc, ModelRateLimitError) or status == 429:
        return f"rate limited by the provider (429): {str(exc)[:200]}"
    if status == 504:  # the provider's own deadline (google-genai sends it as X-Server-Timeout)
        return (f"timed out at the provider (504, timeout {settings.timeout:g} s): "
                f"{type(exc).__name__}: {str(exc)[:200]}")
    if isinstance(exc, ModelError) or status is not None:  # the provider answered with an error
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    timeout = next((e for e in _chain(exc) if isinstance(e, TimeoutError)), None) or _named(exc, _TIMEOUT_NAMES)
    if timeout is not None:
        return f"timed out (timeout {settings.timeout:g} s): {type(exc).__name__}"
    refused = next((e for e in _chain(exc) if isinstance(e, ConnectionRefusedError)), None)
    if refused is not None or _named(exc, _CONNECT_NAMES) is not None:
        where = f" {settings.base_url}" if settings.base_url else ""
        return f"could not connect to the provider{where}: {type(exc).__name__}: {str(exc)[:300]}"
    if _named(exc, _TRANSPORT_NAMES) is not None or any(isinstance(e, OSError) for e in _chain(exc)):
        return f"connection failed before a complete answer: {type(exc).__name__}: {str(exc)[:300]}"
    return f"unexpected {type(exc).__name__}: {str(exc)[:300]}"


def estimate_call_tokens(messages: list[BaseMessage], schema: type[BaseModel], settings: PlannerSettings) -> int:
    """The most one call could use: the prompt (the schema travels with it) plus the output cap."""
    texts = [message_text(m) for m in messages] + [json.dumps(schema.model_json_schema())]
    return estimate_tokens(texts) + settings.max_output_tokens


class _Attempts:
    """Bookkeeping of one llm_plan run: the calls made and the tokens they used."""

    def __init__(self, model: str, prompt_version: str) -> None:
        self.model = model
        self.prompt_version = prompt_version
        self.calls: list[LlmCall] = []
        self.tokens_used = 0

    def record(self, messages: list[BaseMessage], raw: Any, latency: float, error: str | None,
               estimate: int) -> None:
        usage = (getattr(raw, "usage_metadata", None) or {}) if raw is not None else {}
        input_tokens = int(usage.get("input_tokens", 0))
        output_tokens = int(usage.get("output_tokens", 0))
        total = int(usage.get("total_tokens", input_tokens + output_tokens))
        # No usage reported (a failed request may still be billed): count the pre-call estimate.
        self.tokens_used += total if usage else estimate
        cost, note = call_cost(self.model, input_tokens, output_tokens)
        self.calls.append(LlmCall(
            model=self.model, prompt_version=self.prompt_version, attempt=len(self.calls) + 1,
            messages=as_records(messages), raw_text=raw_text(raw), finish_reason=finish_reason_of(raw),
            input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total, cost_usd=cost,
            cost_note=note, latency_s=round(latency, 3), error=error))


def llm_plan(inp: PlannerInput, model: BaseChatModel, settings: PlannerSettings, *,
             prompt_version: str = DEFAULT_PROMPT_VERSION) -> PlannerResult:
    """Ask the model for a plan; fall back to the rules planner on any failure, with the reason."""
    name = model_id(model)
    attempts = _Attempts(name, prompt_version)

    def fallback(reason: str) -> PlannerResult:
        return PlannerResult(plan=rules_plan(inp), planner="rules", reason=reason, calls=attempts.calls)

    if not inp.trades:
        return fallback("no trades to plan: rules plan (empty), no LLM call")
    if inp.minutes_to_close <= 0:
        return fallback(f"no session left today (phase {inp.phase}): rules plan, no LLM call")
    try:
        schema = schema_for(inp)
        structured = model.with_structured_output(schema, include_raw=True)
        first = build_messages(inp, load_prompt(prompt_version))
    except Exception as exc:  # unsupported model, missing prompt file: the rules still plan
        return fallback(f"LLM planner could not be set up: {type(exc).__name__}: {str(exc)[:300]}")
    messages = first
    errors: list[str] = []
    for attempt in (1, 2):
        estimate = estimate_call_tokens(messages, schema, settings)
        if attempts.tokens_used + estimate > settings.token_budget:
            return fallback(f"token budget exhausted: the {'repair ' if attempt == 2 else ''}call could use "
                            f"{estimate:,} tokens, {attempts.tokens_used:,} of {settings.token_budget:,} used"
                            + (f" (first answer rejected: {errors[0]})" if errors else ""))
        started = time.monotonic()
        try:
            output = structured.invoke(messages)
        except Exception as exc:  # ModelError (429 …), a timeout, a transport error, anything else
            failure = describe_failure(exc, settings)
            attempts.record(messages, None, time.monotonic() - started, failure, estimate)
            return fallback(f"LLM call failed: {failure}")
        raw = output.get("raw") if isinstance(output, dict) else None
        plan, error = check_answer(output if isinstance(output, dict) else {}, inp, f"llm:{name}")
        attempts.record(messages, raw, time.monotonic() - started, error, estimate)
        if plan is not None:
            reason = "LLM plan accepted" if attempt == 1 else f"LLM plan accepted after one repair ({errors[0]})"
            return PlannerResult(plan=plan, planner="llm", reason=reason, calls=attempts.calls)
        errors.append(error or "rejected")
        messages = repair_messages(first, raw_text(raw), errors[-1])
    return fallback(f"LLM answer failed validation twice: 1) {errors[0]} 2) {errors[1]}")
