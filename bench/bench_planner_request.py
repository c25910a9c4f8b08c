"""The planner's real request size: what ChatGoogleGenerativeAI actually sends to Gemini.

    .venv/bin/python bench/bench_planner_request.py

Planner inputs for 7 and for 20 trades (KRX ETFs and stocks, two-level books, 20 sessions of
bars) go through the real ``ChatGoogleGenerativeAI`` to the fake Gemini API on loopback
(``tests/support/fake_gemini.py``, the server the LLM tests use), which records the request body
as received. Printed per input: the body's characters, in total and split into the system
instruction, the user content and the response schema (JSON as sent), and token estimates.
There is no Gemini tokenizer offline: tokens are estimated at 4 characters per token (labelled
so), beside Rebal's own conservative ``estimate_tokens`` (2 ASCII characters or 1 other
character per token) and the per-call figure the token budget is checked against. The old
estimate, from the system prompt alone, is shown for comparison. No network is used.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# (ticker, name, kind, reference price): KRX instruments of the kind a model portfolio holds.
INSTRUMENTS = [
    ("069500", "KODEX 200", "etf", 35_000), ("005930", "삼성전자", "stock", 70_000),
    ("360750", "TIGER 미국S&P500", "etf", 15_000), ("114260", "KODEX 국고채3년", "etf", 60_000),
    ("133690", "TIGER 미국나스닥100", "etf", 110_000), ("132030", "KODEX 골드선물(H)", "etf", 14_000),
    ("000660", "SK하이닉스", "stock", 180_000), ("148070", "KOSEF 국고채10년", "etf", 115_000),
    ("229200", "KODEX 코스닥150", "etf", 13_000), ("251350", "KODEX 선진국MSCI World", "etf", 25_000),
    ("195930", "TIGER 유로스탁스50(합성 H)", "etf", 13_500), ("238720", "KINDEX 일본Nikkei225(H)", "etf", 16_000),
    ("192090", "TIGER 차이나CSI300", "etf", 9_000), ("305080", "TIGER 미국채10년선물", "etf", 11_500),
    ("411060", "ACE KRX금현물", "etf", 17_000), ("035420", "NAVER", "stock", 190_000),
    ("005380", "현대차", "stock", 210_000), ("051910", "LG화학", "stock", 300_000),
    ("105560", "KB금융", "stock", 80_000), ("153130", "KODEX 단기채권", "etf", 105_000),
]
CHARS_PER_TOKEN = 4


def planner_input(count: int):
    """A PlannerInput for ``count`` trades at 10:30 on a session day, built by the planner's own
    feature code from trades, books and bars made here."""
    from planner.planner_kit import SESSION_DAY, make_book, make_trade

    from agent.planner import compute_features
    from tools.market import KST, InstrumentKind, krx_calendar, tick_size
    from tools.prices import DailyBar

    trades, books, bars, names = [], {}, {}, {}
    for i, (ticker, name, kind, price) in enumerate(INSTRUMENTS[:count], start=1):
        side = "sell" if i % 3 == 1 else "buy"
        quantity = max(1, round(3_000_000 * (1 + i % 4) / price))
        trades.append(make_trade(f"T{i:02d}-{ticker}-{side.upper()}", ticker, side, quantity, price,
                                 InstrumentKind(kind)))
        tick = tick_size(price, InstrumentKind(kind))
        books[ticker] = make_book(ticker, [(price - tick, 400 + 37 * i), (price - 2 * tick, 900 + 11 * i)],
                                  [(price, 350 + 29 * i), (price + tick, 800 + 13 * i)])
        history, day = [], SESSION_DAY
        while len(history) < 21:
            day -= dt.timedelta(days=1)
            if day.weekday() < 5:
                close = round(price * (1 + 0.012 * math.sin(len(history) * 1.7 + i)))
                history.append(DailyBar(date=day, open=close, high=close, low=close, close=close,
                                        volume=40_000 + 7_919 * i + 1_013 * len(history)))
        bars[ticker] = sorted(history, key=lambda b: b.date)
        names[ticker] = name
    now = dt.datetime.combine(SESSION_DAY, dt.time(10, 30), KST)
    return compute_features(f"bench-{count}", trades, books, bars, now, krx_calendar(), names)


def measure(count: int, server, api_key: str) -> dict[str, int]:
    from planner.planner_kit import GEMINI_MODEL, answer_for, as_text, gemini_body

    from agent.planner import PlannerSettings, plan_execution
    from agent.planner.llm import estimate_call_tokens, make_chat_model
    from agent.planner.prompt import build_messages, estimate_tokens, load_prompt
    from agent.planner.schema import schema_for

    inp = planner_input(count)
    settings = PlannerSettings(base_url=server.base_url, timeout=10)
    server.reset()
    server.respond(gemini_body(as_text(answer_for(inp.trade_ids))))
    result = plan_execution(inp, settings, model=make_chat_model(f"google_genai:{GEMINI_MODEL}", api_key, settings))
    if result.planner != "llm" or len(server.requests) != 1:
        raise SystemExit(f"{count} trades: the request did not go through ({result.reason})")
    request = server.requests[0]
    body = request.body
    wire = request.raw.decode()
    config = body["generationConfig"]
    system, user = request.system_text, "".join(request.texts("user"))
    schema_json = json.dumps(config["responseJsonSchema"])
    return {
        "body": len(wire),
        "system": len(json.dumps(body["systemInstruction"])),
        "user": len(json.dumps(body["contents"])),
        "schema": len(schema_json),
        "system_text": len(system), "user_text": len(user),
        "est4": len(wire) // CHARS_PER_TOKEN,
        "est4_text": (len(system) + len(user) + len(schema_json)) // CHARS_PER_TOKEN,
        "estimate_tokens": estimate_tokens([system, user, schema_json]),
        "budget_estimate": estimate_call_tokens(build_messages(inp, load_prompt()), schema_for(inp), settings),
        "max_output": settings.max_output_tokens,
    }


def main() -> None:
    from support.fake_gemini import FakeGemini

    from agent.planner.prompt import DEFAULT_PROMPT_VERSION, estimate_tokens, load_prompt

    system_prompt = load_prompt()
    with FakeGemini() as server:
        rows = {count: measure(count, server, "bench-key-not-real") for count in (7, 20)}

    print(f"Planner request ({DEFAULT_PROMPT_VERSION}, gemini-2.5-flash) as the fake Gemini server received it, "
          "characters:")
    print(f"  {'trades':>6} {'body total':>11} {'system instr.':>14} {'user content':>13} {'resp. schema':>13} "
          f"{'other':>6}")
    for count, r in rows.items():
        other = r["body"] - r["system"] - r["user"] - r["schema"]
        print(f"  {count:>6} {r['body']:>11,} {r['system']:>14,} {r['user']:>13,} {r['schema']:>13,} {other:>6,}")
    print("  (JSON as sent: google-genai escapes non-ASCII, so each Hangul character is 6 characters on the wire;"
          "\n   'other' is the JSON around the parts, safetySettings and the rest of generationConfig)")
    print(f"  text the model reads: system {rows[7]['system_text']:,} characters; user message "
          + ", ".join(f"{r['user_text']:,} ({c} trades)" for c, r in rows.items()))

    print("\nTokens (no Gemini tokenizer offline):")
    print(f"  {'trades':>6} {'body, est. at 4 chars/token':>28} {'texts+schema, est. at 4 chars/token':>37} "
          f"{'estimate_tokens()':>18} {'budget check/call':>18}")
    for count, r in rows.items():
        print(f"  {count:>6} {r['est4']:>28,} {r['est4_text']:>37,} {r['estimate_tokens']:>18,} "
              f"{r['budget_estimate']:>18,}")
    print(f"  budget check/call = estimate_tokens() + max_output_tokens ({rows[7]['max_output']:,}); "
          "estimate_tokens() counts 2 ASCII characters or 1 other character per token")

    old = len(system_prompt) // CHARS_PER_TOKEN
    print(f"\nOld estimate, system prompt alone: {len(system_prompt):,} characters, est. {old:,} tokens at 4 chars/token "
          f"(estimate_tokens(): {estimate_tokens([system_prompt]):,})")
    for count, r in rows.items():
        print(f"  {count:>2} trades: the request body is {r['body'] / len(system_prompt):.1f}x the system prompt's "
              f"characters (est. {r['est4']:,} vs {old:,} tokens at 4 chars/token)")


if __name__ == "__main__":
    main()
