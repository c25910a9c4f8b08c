"""The terminal's reviewer against the fake Gemini server: every call transcribed like the
planner's, a per-run token budget that refuses before calling, and a cut of the run data said."""

from __future__ import annotations

import pytest
from planner.planner_kit import GEMINI_MODEL, gemini_body
from support.fake_gemini import FakeGemini, error

from agent.planner import PlannerSettings
from agent.planner.llm import make_chat_model
from agent.reviewer import ReviewerRefused, make_reviewer
from agent.transcript import Transcript, read_events

API_KEY = "test-key-not-real"
DATA = {"trades": [{"ticker": "360750", "side": "buy", "quantity": 200}]}


def _model(server: FakeGemini):
    return make_chat_model(f"google_genai:{GEMINI_MODEL}", API_KEY,
                           PlannerSettings(model=f"google_genai:{GEMINI_MODEL}", base_url=server.base_url))


def test_each_question_is_transcribed_with_usage_and_cost(fake_gemini: FakeGemini, tmp_path) -> None:
    fake_gemini.respond(gemini_body("One buy: 200 of 360750.", prompt_tokens=300, output_tokens=9))
    transcript = Transcript(tmp_path, "run-1")
    reviewer = make_reviewer(_model(fake_gemini), token_budget=5_000, transcript=lambda: transcript)
    assert reviewer("What is bought?", DATA) == "One buy: 200 of 360750."
    (event,) = [e for e in read_events(transcript.path) if e.kind == "reviewer_call"]
    d = event.data
    assert (d["input_tokens"], d["output_tokens"], d["total_tokens"]) == (300, 9, 309)
    assert d["question"] == "What is bought?" and d["raw_text"] == "One buy: 200 of 360750."
    assert d["messages"][0]["role"] == "system" and '"360750"' in d["messages"][1]["content"]
    assert d["data_cut_to"] is None and d["tokens_used"] == 309 and d["token_budget"] == 5_000
    assert API_KEY not in transcript.path.read_text()


def test_the_budget_refuses_before_calling(fake_gemini: FakeGemini, tmp_path) -> None:
    fake_gemini.respond(gemini_body("First answer.", prompt_tokens=1_500, output_tokens=20))
    transcript = Transcript(tmp_path, "run-2")
    reviewer = make_reviewer(_model(fake_gemini), token_budget=2_600, transcript=lambda: transcript)
    assert reviewer("First?", DATA) == "First answer."
    with pytest.raises(ReviewerRefused, match="token budget for this run is spent"):
        reviewer("Second?", DATA)  # 1,520 used + about 1,100 for this one > 2,600
    assert fake_gemini.pending == 0 and len(fake_gemini.requests) == 1  # the second question never left
    assert [e.kind for e in read_events(transcript.path)] == ["reviewer_call"]


def test_a_failed_call_is_transcribed_and_counted(fake_gemini: FakeGemini, tmp_path) -> None:
    fake_gemini.respond(error(500))
    transcript = Transcript(tmp_path, "run-3")
    reviewer = make_reviewer(_model(fake_gemini), token_budget=50_000, transcript=lambda: transcript)
    with pytest.raises(RuntimeError):
        reviewer("Anything?", DATA)
    (event,) = [e for e in read_events(transcript.path) if e.kind == "reviewer_call"]
    assert event.data["error"] and event.data["raw_text"] is None
    assert reviewer.tokens_used > 0  # no usage reported: the estimate counts


def test_a_cut_of_the_run_data_is_said_in_the_answer(fake_gemini: FakeGemini, tmp_path) -> None:
    fake_gemini.respond(gemini_body("Many trades.", prompt_tokens=100, output_tokens=3))
    transcript = Transcript(tmp_path, "run-4")
    reviewer = make_reviewer(_model(fake_gemini), token_budget=100_000, transcript=lambda: transcript)
    reviewer.max_chars = 2_000
    big = {"trades": [{"ticker": f"{n:06d}", "quantity": n} for n in range(400)]}
    answer = reviewer("How many trades?", big)
    assert answer.startswith("(The run data was cut to its first 2,000 of ") and answer.endswith("Many trades.")
    (sent,) = fake_gemini.requests
    assert len(sent.texts("user")[0]) < 2_100
    (event,) = [e for e in read_events(transcript.path) if e.kind == "reviewer_call"]
    assert event.data["data_cut_to"] == 2_000 and event.data["data_chars"] > 2_000
