"""`rebal run` driven through a real pseudo-terminal (160x50) on the embedded paper exchange: every
command of the help, the bad inputs a person types, an edit recomputed on the spot, undo, Ctrl-D,
Ctrl-C, approve, and the session in Korean."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

PROMPT_EN = "approve / reject / edit / undo / explain / show / help"
PROMPT_KO = "승인 approve / 거절 reject"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
NEVER = ("Traceback", "pydantic", "errors.pydantic.dev", "Task was destroyed")


def rebal_command() -> list[str]:
    script = Path(sys.executable).parent / "rebal"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from agent.commands.cli import main; main()"]


class Session:
    """One `rebal run` in a PTY; ``text`` is everything it printed, without colour codes."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        config = tmp_path / "rebal.toml"
        config.write_text(f'[broker]\nmode = "embedded"\n[targets]\nfile = "{Path.cwd() / "examples/targets/demo.toml"}"\n'
                          f'[paths]\nhome = "{tmp_path / "home"}"\ntranscripts = "{tmp_path / "transcripts"}"\n')
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "LINES": "50"}
        for key in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):  # the free-text question must find no LLM
            env.pop(key, None)
        command = rebal_command()
        self.child = pexpect.spawn(command[0], [*command[1:], "run", "-c", str(config), *args], cwd=str(tmp_path),
                                   env=env, encoding="utf-8", dimensions=(50, 160), timeout=60)
        self.log: list[str] = []

    def _collect(self) -> str:
        chunk = ANSI.sub("", (self.child.before or "") + (self.child.after if isinstance(self.child.after, str)
                                                           else ""))
        self.log.append(chunk)
        return chunk

    def until(self, pattern: str) -> str:
        """Output up to and including ``pattern`` (a literal)."""
        self.child.expect_exact(pattern)
        return self._collect()

    def answer(self, line: str, prompt: str = PROMPT_EN) -> str:
        """Types ``line`` and returns what the session printed before asking again."""
        self.child.sendline(line)
        return self.until(prompt)

    def end(self) -> int:
        self.child.expect(pexpect.EOF)
        self._collect()
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0)

    @property
    def text(self) -> str:
        return "".join(self.log)


def clean(text: str) -> None:
    for word in NEVER:
        assert word not in text, word


@pytest.fixture
def session(tmp_path):
    started: list[Session] = []

    def start(*args: str) -> Session:
        started.append(Session(tmp_path, *args))
        return started[-1]

    yield start
    for s in started:
        if s.child.isalive():
            s.child.terminate(force=True)


def quantity_of(screen: str, short_id: str) -> int:
    """The quantity in the trades table row of ``short_id`` (e.g. T01) on one plan screen."""
    table = screen[screen.index("Trades · whole shares"):screen.index("Orders · planner")]
    row = next(line for line in table.splitlines() if re.match(rf"\s*\d+\s+{short_id}\s", line))
    return int(re.search(r"\s(?:sell|buy)\s+(\d+)\s", row).group(1))


def test_every_command_and_every_bad_input(session):
    s = session()
    screen = s.until(PROMPT_EN)
    for heading in ("Drift from the targets", "Rebalance triggered by:", "Trades · whole shares, sells first",
                    "now → after (target)", "Orders · planner: rules", "limit (00)", "Account: holdings",
                    "(D+0)", "(D+2)", "Costs: turnover", "miss the targets by", "Guardrails: all"):
        assert heading in screen, heading
    assert "069500 KODEX 200" in screen and "069500/069500" not in screen and "equity/equity" not in screen
    assert quantity_of(screen, "T01") == 41

    help_text = s.answer("help")
    for command in ("approve", "reject [reason]", "edit qty TRADE_ID N", "edit exclude TICKER",
                    "edit type TRADE_ID CODE", "undo", "cancel-open", "explain TRADE_ID", "show drift|trades"):
        assert command in help_text, command
    assert "Drift from the targets" in s.answer("show drift")
    assert "Trades · whole shares" in s.answer("show trades")
    assert "Orders · planner" in s.answer("show orders")
    assert "Costs: turnover" in s.answer("show costs")
    assert "krx.order_type_session" in s.answer("show guardrails")
    assert "no orders resting on these tickers" in s.answer("show open")
    assert "execution: limit (00)" in s.answer("explain 1")
    assert "T01-069500-SELL · 069500 KODEX 200" in s.answer("explain T01")
    assert "need an LLM" in s.answer("why sell the KODEX 200?")
    assert "nothing to cancel" in s.answer("cancel-open")
    assert "Nothing to undo" in s.answer("undo")

    bad = {"edit qty 1 abc": "the quantity must be a whole number", "edit qty 1 -5": "the quantity must be a whole",
           "edit type 1 99": "'99' is not an order type", "explain 42": "No trade '42'",
           "show nonsense": "Show what?", "edit": "Edit what?", "edit exclude 005930": "cannot exclude '005930'",
           "edit qty 9 3": "no trade '9'", "explain": "Explain which trade?"}
    for line, message in bad.items():
        said = s.answer(line)
        assert message in said, (line, said)
        assert "Applying" not in said, line  # refused: nothing went back to the graph

    # An edit is applied at once: the next screen is the recomputed plan, with what changed.
    recomputed = s.answer("edit qty 1 30")
    assert quantity_of(recomputed, "T01") == 30 and "Changed: 069500 sell 41 → 30" in recomputed
    typed = s.answer("edit type T02 03")
    assert "best counter (03)" in typed and "Changed: 360750 sell type limit (00) → best counter (03)" in typed
    s.answer("edit exclude 132030")
    undone = s.answer("undo")
    assert "Changed: 132030 buy new" in undone and quantity_of(undone, "T01") == 30
    s.child.sendline("reject prices look odd")
    code = s.end()
    assert code == 4 and "prices look odd" in s.text
    clean(s.text)


def test_approve_places_the_orders(session):
    s = session()
    s.until(PROMPT_EN)
    s.child.sendline("approve")
    assert s.end() == 0
    assert "completed" in s.text
    clean(s.text)


def test_end_of_input_leaves_the_run_waiting(session):
    s = session()
    s.until(PROMPT_EN)
    s.child.sendeof()  # Ctrl-D at the prompt
    assert s.end() == 3
    text = " ".join(s.text.split())
    assert "nothing was approved" in text and "rebal runs resume" in text
    clean(s.text)


def test_ctrl_c_at_the_prompt(session):
    s = session()
    s.until(PROMPT_EN)
    s.child.sendintr()
    assert s.end() == 130
    text = " ".join(s.text.split())
    assert "interrupted (Ctrl-C)" in text and "No order was sent" in text and "rebal runs resume" in text
    clean(s.text)


def test_the_session_in_korean(session):
    s = session("--lang", "ko")
    screen = s.until(PROMPT_KO)
    for heading in ("목표 비중과의 차이", "리밸런싱 사유:", "매매 · 정수 주, 매도 먼저", "현재 → 매매 후 (목표)",
                    "주문 · 계획: rules", "지정가 (00)", "매도", "매수", "계좌: 보유 종목", "안전 점검"):
        assert heading in screen, heading
    assert "명령어" in s.answer("도움말", PROMPT_KO)
    assert "수정 거부" in s.answer("edit qty 1 abc", PROMPT_KO)
    s.child.sendline("거절 아직은")
    assert s.end() == 4
    clean(s.text)
