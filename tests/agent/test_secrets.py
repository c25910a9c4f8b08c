"""No secret in anything a run writes: transcripts, the checkpoint store, the order journal, logs.

The run uses the LLM planner through the real ChatGoogleGenerativeAI (its HTTP calls answered by
respx with Gemini-shaped bodies), so the Gemini key is in play too. Not scanned: the broker's own
database (the embedded exchange is the other side and holds the account's keys, like KIS does)
and the token cache (it exists to hold the token, mode 0600).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat

import httpx
import respx
from support.runkit import ScriptedApprover, make_config, reject, runner

from agent.runner import auto_approver

GEMINI_KEY = "AIzaSyD-FAKE-KEY-0123456789abcdefghijk"
GENERATE = re.compile(r".*generativelanguage\.googleapis\.com/.*:generateContent")


def gemini_answer(request: httpx.Request) -> httpx.Response:
    """A valid plan for whatever trades the request lists: one marketable limit per trade."""
    body = json.loads(request.content)
    prompt = json.dumps(body)
    trade_ids = sorted(set(re.findall(r"T\d\d-[0-9Q]{6,7}-(?:BUY|SELL)", prompt)))
    choices = [{"trade_id": t, "order_type": "00", "price_rule": "ask1" if t.endswith("BUY") else "bid1",
                "offset_ticks": 0, "slices": 1, "schedule": "now", "rationale": "small order: one limit at the touch"}
               for t in trade_ids]
    text = json.dumps({"choices": choices})
    return httpx.Response(200, json={
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1480, "candidatesTokenCount": 310, "totalTokenCount": 1790},
        "modelVersion": "gemini-2.5-flash"})


def _secrets(r) -> list[str]:
    account = r.broker.embedded.exchange.accounts[r.broker.account]
    tokens = [t.token for t in r.broker.embedded.app.state.tokens._tokens.values()]
    assert tokens, "the run must have used a token"
    return [account.app_key, account.app_secret, account.cano, account.number,
            account.cano + account.product_code, GEMINI_KEY, *tokens]


def _written_files(home):
    for path in home.rglob("*"):
        if path.is_file() and "kis-tokens" not in path.parts and "embedded-exchange" not in path.name:
            yield path


def test_nothing_written_by_runs_contains_a_secret(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GOOGLE_API_KEY", GEMINI_KEY)
    caplog.set_level(logging.DEBUG)
    config = make_config(tmp_path)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(url__regex=GENERATE.pattern).mock(side_effect=gemini_answer)
        with runner(config) as r:
            rejected = r.start(ScriptedApprover(reject))
        with runner(config, headless=True) as r:
            headless = r.start(auto_approver, again=True)
            secrets = _secrets(r)
    assert route.called and headless.outcome == "completed" and rejected.outcome == "rejected"
    plan_events = [json.loads(line) for line in headless.transcript.read_text().splitlines()]
    assert any(e["kind"] == "llm_call" for e in plan_events)
    assert next(e for e in plan_events if e["kind"] == "plan")["data"]["planner"] == "llm"

    files = list(_written_files(tmp_path))
    assert any(p.suffix == ".jsonl" for p in files) and any(p.name == "runs.db" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"{path.name} holds a secret ({secret[:4]}…)"
        if path.suffix == ".jsonl":
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for secret in secrets:
        assert secret not in caplog.text
