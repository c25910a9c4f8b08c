"""Planner test kit: a three-trade scenario in the continuous session, quotes for build_orders,
Gemini response bodies, and the check every planner test ends with: what is traded is unchanged.

Imported by the tests as ``planner.planner_kit`` (``tests`` is on the path)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field

from agent.planner.features import compute_features
from agent.planner.models import PlannerInput, TradeFeatures
from tools.kis.models import BookLevel, OrderBook
from tools.market import KST, InstrumentKind, KrxCalendar
from tools.netting.models import Trade
from tools.plan import ExecutionPlan, Quote, build_orders
from tools.portfolio import AccountSnapshot, PositionInput
from tools.prices import DailyBar
from tools.schedule import SessionDay, TimetableSettings

SESSION_DAY = dt.date(2026, 3, 10)  # a Tuesday session
GEMINI_MODEL = "gemini-2.5-flash"


def make_trade(trade_id: str, ticker: str, side: str, quantity: int, price: int,
               kind: InstrumentKind = InstrumentKind.ETF) -> Trade:
    return Trade(trade_id=trade_id, ticker=ticker, side=side, quantity=quantity, reference_price=price,  # type: ignore[arg-type]
                 notional=quantity * price, commission=0, tax=0, kind=kind, weight_before=0.0, weight_after=0.0,
                 target_weight=0.0, reason="test")


def make_book(ticker: str, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]) -> OrderBook:
    return OrderBook(ticker=ticker, bids=tuple(BookLevel(price=p, quantity=q) for p, q in bids),
                     asks=tuple(BookLevel(price=p, quantity=q) for p, q in asks), quoted_at="103000")


def make_bars(close: int, volume: int, sessions: int = 21, end: dt.date = SESSION_DAY) -> list[DailyBar]:
    """``sessions`` completed daily bars ending the day before ``end`` (weekdays, flat close)."""
    bars: list[DailyBar] = []
    day = end
    while len(bars) < sessions:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            bars.append(DailyBar(date=day, open=close, high=close, low=close, close=close, volume=volume))
    return sorted(bars, key=lambda b: b.date)


@dataclass
class Scenario:
    trades: list[Trade]
    books: dict[str, OrderBook]
    bars: dict[str, list[DailyBar]]
    names: dict[str, str]
    calendar: KrxCalendar
    now: dt.datetime = field(default_factory=lambda: dt.datetime.combine(SESSION_DAY, dt.time(10, 30), KST))
    max_slices: int = 5

    def features(self, **overrides: Any) -> PlannerInput:
        args: dict[str, Any] = {"now": self.now, "names": self.names, "max_slices": self.max_slices} | overrides
        return compute_features("run-1", self.trades, self.books, self.bars, calendar=self.calendar, **args)

    @property
    def quotes(self) -> dict[str, Quote]:
        by_ticker = {t.ticker: t for t in self.trades}
        return {ticker: Quote(ticker=ticker, bid=book.best_bid or 0, ask=book.best_ask or 0,
                              base_price=by_ticker[ticker].reference_price, kind=by_ticker[ticker].kind)
                for ticker, book in self.books.items() if book.best_bid and book.best_ask}

    @property
    def snapshot(self) -> AccountSnapshot:
        held = tuple(PositionInput(ticker=t.ticker, quantity=t.quantity * 2, price=t.reference_price, kind=t.kind)
                     for t in self.trades if t.side == "sell")
        return AccountSnapshot(cash=100_000_000, positions=held,
                               prices={t.ticker: t.reference_price for t in self.trades},
                               kinds={t.ticker: t.kind for t in self.trades})


def default_scenario(calendar: KrxCalendar) -> Scenario:
    """A sell that fits the bid, a small stock buy, and a buy larger than the ask depth."""
    trades = [make_trade("T01-069500-SELL", "069500", "sell", 30, 35_000),
              make_trade("T02-005930-BUY", "005930", "buy", 12, 70_000, InstrumentKind.STOCK),
              make_trade("T03-360750-BUY", "360750", "buy", 200, 15_000)]
    books = {"069500": make_book("069500", [(35_000, 800), (34_995, 1_000)], [(35_005, 600)]),
             "005930": make_book("005930", [(70_000, 5_000)], [(70_100, 3_000)]),
             "360750": make_book("360750", [(14_995, 100)], [(15_000, 150)])}
    bars = {"069500": make_bars(35_000, 100_000), "005930": make_bars(70_000, 10_000_000),
            "360750": make_bars(15_000, 50_000)}
    names = {"069500": "KODEX 200", "005930": "삼성전자", "360750": "TIGER 미국S&P500"}
    return Scenario(trades, books, bars, names, calendar)


def assert_traded_unchanged(trades: Sequence[Trade], plan: ExecutionPlan, quotes: dict[str, Quote]) -> None:
    """Whatever the planner did, the orders rebuilt from trades + plan trade exactly the trades:
    the same tickers, sides and total quantities, and nothing else."""
    orders = build_orders(trades, plan, quotes)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for order in orders:
        totals[(order.ticker, order.side)] += order.quantity
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for trade in trades:
        expected[(trade.ticker, trade.side)] += trade.quantity
    assert dict(totals) == dict(expected)
    assert {o.trade_id for o in orders} == {t.trade_id for t in trades}


# --- Gemini wire bodies -------------------------------------------------------------------------


def gemini_body(text: str | None, *, finish: str = "STOP", prompt_tokens: int = 1_500,
                output_tokens: int = 240, model: str = GEMINI_MODEL,
                response_id: str = "m2bTaaOxJ9S2nvgP1M3IqAk") -> dict[str, Any]:
    """A generateContent response as the Gemini API sends it (the one place the tests and the
    bench build them; errors: ``support.fake_gemini.gemini_error``). Fields at their default are
    left out, as the API's JSON does: no ``content`` for an answer that was blocked, no
    ``candidatesTokenCount`` when nothing was generated."""
    candidate: dict[str, Any] = {"index": 0, "finishReason": finish}
    if text is not None:
        candidate["content"] = {"parts": [{"text": text}], "role": "model"}
    if finish == "SAFETY":
        candidate["safetyRatings"] = [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens + output_tokens,
                             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
    if output_tokens:
        usage["candidatesTokenCount"] = output_tokens
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": response_id}


def choice(trade_id: str, order_type: str = "00", price_rule: str | None = "bid1", slices: int = 1,
           schedule: str = "now", offset_ticks: int = 0, rationale: str = "fits the touch", **extra: Any) -> dict:
    return {"trade_id": trade_id, "order_type": order_type, "price_rule": price_rule, "offset_ticks": offset_ticks,
            "slices": slices, "schedule": schedule, "rationale": rationale, **extra}


def valid_answer() -> dict[str, Any]:
    """A sensible plan for the scenario: sell at the bid, buy at the ask, slice the large buy."""
    return {"choices": [choice("T01-069500-SELL", price_rule="bid1"),
                        choice("T02-005930-BUY", order_type="03", price_rule=None),
                        choice("T03-360750-BUY", price_rule="ask1", slices=2, schedule="twap",
                               rationale="200 sh vs 150 at the ask: two slices")]}


def as_text(answer: dict[str, Any]) -> str:
    return json.dumps(answer, ensure_ascii=False)


def answer_for(trade_ids: Sequence[str]) -> dict[str, Any]:
    """A valid plan for any trades: one limit order at the touch per trade, taking liquidity."""
    return {"choices": [choice(t, price_rule="ask1" if t.endswith("BUY") else "bid1",
                               rationale="small order: one limit at the touch") for t in trade_ids]}


# --- planner inputs built directly (rules tests) ----------------------------------------------


def features(**overrides: Any) -> TradeFeatures:
    """A small ETF buy in a liquid, one-tick market; override what a test is about."""
    base: dict[str, Any] = {
        "trade_id": "T01-000001-BUY", "ticker": "000001", "name": "TEST ETF", "side": "buy", "quantity": 100,
        "reference_price": 10_000, "notional": 1_000_000, "bid": 9_995, "ask": 10_000, "spread_ticks": 1,
        "depth_at_touch": 1_000, "adv_20d": 100_000.0, "participation": 0.001, "volatility_20d": 0.2,
        "kind": InstrumentKind.ETF}
    return TradeFeatures(**(base | overrides))


def session_day(day: dt.date = SESSION_DAY) -> SessionDay:
    """A regular session (09:00, continuous trading to 15:20, close 15:30), built without a calendar."""
    def at(hour: int, minute: int, on: dt.date = day) -> dt.datetime:
        return dt.datetime.combine(on, dt.time(hour, minute), KST)

    following = day + dt.timedelta(days=1 if day.weekday() < 4 else 7 - day.weekday())
    return SessionDay(day=day, is_session=True, open=at(9, 0), continuous_close=at(15, 20), close=at(15, 30),
                      next_open=at(9, 0), next_session_open=at(9, 0, following))


def planner_input(*trades: TradeFeatures, phase: str = "continuous", minutes_to_close: float = 300.0,
                  max_slices: int = 5, allowed: Sequence[str] = ("00", "01", "02", "03", "04"),
                  timetable: TimetableSettings | None = None) -> PlannerInput:
    """An input ``minutes_to_close`` before the close of SESSION_DAY (``phase`` must agree)."""
    session = session_day()
    as_of = session.close - dt.timedelta(minutes=minutes_to_close)
    return PlannerInput(run_id="run-1", as_of=as_of.isoformat(), phase=phase,
                        minutes_to_close=minutes_to_close, max_slices=max_slices, allowed_order_types=list(allowed),
                        session=session, timetable=timetable or TimetableSettings(),
                        trades=list(trades or (features(),)))


# --- a scripted chat model on the real structured-output path ----------------------------------


class ScriptedToolModel(GenericFakeChatModel):
    """Answers from a script. Only ``bind_tools`` is faked (it returns the model itself), so
    ``BaseChatModel.with_structured_output(schema, include_raw=True)`` runs for real: the
    function-calling path with PydanticToolsParser and its fallback to ``parsing_error``."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> ScriptedToolModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def tool_answer(args: dict[str, Any], *, name: str = "LlmPlan", finish: str | None = "STOP",
                input_tokens: int = 900, output_tokens: int = 120) -> AIMessage:
    """A model turn that calls the plan tool with ``args`` (as a function-calling provider would)."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": "call-1", "type": "tool_call"}],
                     response_metadata={} if finish is None else {"finish_reason": finish},
                     usage_metadata={"input_tokens": input_tokens, "output_tokens": output_tokens,
                                     "total_tokens": input_tokens + output_tokens})


def scripted(*answers: AIMessage) -> ScriptedToolModel:
    return ScriptedToolModel(messages=iter(answers))
