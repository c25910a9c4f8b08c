"""No secret in anything a run writes: transcripts, the checkpoint store, the order journal, logs.

The run uses the LLM planner through the real ChatGoogleGenerativeAI, sent by ``planner.base_url``
to the fake Gemini API on loopback (realistic bodies), so the Gemini key is in play too. Not
scanned: the broker's own database (the embedded exchange is the other side and holds the
account's keys, like KIS does) and the token cache (it exists to hold the token, mode 0600).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat

from planner.planner_kit import answer_for, as_text, gemini_body
from support.fake_gemini import FakeGemini, Recorded
from support.runkit import ScriptedApprover, make_config, reject, runner

from agent.runner import auto_approver

GEMINI_KEY = "AIzaSyD-FAKE-KEY-0123456789abcdefghijk"


def gemini_answer(request: Recorded) -> dict:
    """A valid plan for whatever trades the request lists: one marketable limit per trade."""
    trade_ids = sorted(set(re.findall(r"T\d\d-[0-9Q]{6,7}-(?:BUY|SELL)", "".join(request.texts("user")))))
    assert trade_ids, "the request must list the run's trades"
    return gemini_body(as_text(answer_for(trade_ids)), prompt_tokens=1_480, output_tokens=310)


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


def test_nothing_written_by_runs_contains_a_secret(tmp_path, monkeypatch, caplog, fake_gemini: FakeGemini):
    monkeypatch.setenv("GOOGLE_API_KEY", GEMINI_KEY)
    caplog.set_level(logging.DEBUG)
    config = make_config(tmp_path, planner={"base_url": fake_gemini.base_url})
    fake_gemini.respond(gemini_answer, gemini_answer)  # one planner call per run
    with runner(config) as r:
        rejected = r.start(ScriptedApprover(reject))
    with runner(config, headless=True) as r:
        headless = r.start(auto_approver, again=True)
        secrets = _secrets(r)
    assert headless.outcome == "completed" and rejected.outcome == "rejected"
    assert len(fake_gemini.requests) == 2
    assert all(q.headers["x-goog-api-key"] == GEMINI_KEY and GEMINI_KEY.encode() not in q.raw
               for q in fake_gemini.requests)
    for result in (rejected, headless):
        events = [json.loads(line) for line in result.transcript.read_text().splitlines()]
        (call,) = [e["data"] for e in events if e["kind"] == "llm_call"]
        assert (call["error"], call["total_tokens"]) == (None, 1_790)
        plan = next(e for e in events if e["kind"] == "plan")["data"]
        assert (plan["planner"], plan["reason"]) == ("llm", "LLM plan accepted")  # the plan came from the LLM

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
