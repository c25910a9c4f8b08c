"""Estimated cost of one LLM call from its token usage.

LangChain ships no price table, so Rebal keeps a small one: USD per 1M input / output tokens,
Gemini Developer API paid tier, prompts under 200k tokens (the planner's are ~2k). Gemini bills
thinking tokens as output, and ``usage_metadata.output_tokens`` already includes them. Prices
change: check https://ai.google.dev/gemini-api/docs/pricing when editing this table.
"""

from __future__ import annotations

PRICES_USD_PER_MTOK: dict[str, tuple[float, float]] = {
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.0-flash": (0.10, 0.40),
}


def normalise_model_id(model: str) -> str:
    """``google_genai:gemini-2.5-flash`` or ``models/gemini-2.5-flash`` → ``gemini-2.5-flash``."""
    return model.split(":", 1)[-1].removeprefix("models/")


def call_cost(model: str, input_tokens: int, output_tokens: int) -> tuple[float, str | None]:
    """(cost in USD, note). Unknown models cost 0 with a note saying so, never a guess."""
    prices = PRICES_USD_PER_MTOK.get(normalise_model_id(model))
    if prices is None:
        return 0.0, f"no price for model {model!r}: cost counted as 0"
    per_input, per_output = prices
    return round((input_tokens * per_input + output_tokens * per_output) / 1_000_000, 8), None
