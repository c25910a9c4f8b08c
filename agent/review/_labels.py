"""Every fixed word of the transcript review, English and Korean side by side.

Only the review's own words are translated; what the run wrote (guardrail messages, reasons,
the broker's answers) is shown as written. A key missing from a language falls back to English.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.config import Language
from agent.review.session_text import order_type_label

LANGUAGES: tuple[Language, ...] = ("en", "ko")

# key: (English, Korean)
WORDS: dict[str, tuple[str, str]] = {
    # sections
    "account": ("Account", "계좌"),
    "drift": ("Drift", "드리프트"),
    "trades": ("Trades", "매매"),
    "planner": ("Planner", "주문 계획"),
    "guardrails": ("Guardrails", "안전 규칙"),
    "approval": ("Approval", "승인"),
    "execution": ("Execution", "주문 실행"),
    "report": ("Report", "보고서"),
    "errors": ("Errors", "오류"),
    "other events": ("Other events", "기타 이벤트"),
    "run": ("Run", "실행"),
    "run id": ("run", "실행"),
    # header
    "mode": ("mode", "모드"),
    "profile": ("profile", "프로필"),
    "as of": ("as of", "기준일"),
    "targets version": ("targets version", "목표 버전"),
    "outcome": ("outcome", "결과"),
    "started": ("started", "시작"),
    "finished": ("finished", "종료"),
    "clock": ("times", "시각"),
    "exchange clock": ("exchange clock (KST)", "거래소 시계 (KST)"),
    "wall clock": ("wall clock (KST): this transcript did not record the exchange clock",
                   "실제 시계 (KST): 이 기록에는 거래소 시계가 없음"),
    "headless": ("headless", "자동"),
    "interactive": ("interactive", "대화형"),
    # common columns
    "ticker": ("ticker", "종목"),
    "side": ("side", "구분"),
    "qty": ("qty", "수량"),
    "price": ("price", "가격"),
    "weight": ("weight", "비중"),
    "target": ("target", "목표"),
    "deviation": ("deviation", "차이"),
    "value KRW": ("value KRW", "평가금액"),
    "sellable": ("sellable", "매도가능"),
    "at": ("at", "시각"),
    "buy": ("buy", "매수"),
    "sell": ("sell", "매도"),
    # account / drift / trades
    "inputs snapshot": ("inputs snapshot", "시작 시점 잔고"),
    "re-read at": ("re-read at", "다시 읽은 시각"),
    "cash D+0": ("cash D+0", "예수금 D+0"),
    "cash D+2": ("cash D+2", "예수금 D+2"),
    "total value": ("total value", "총평가금액"),
    "level": ("level", "단계"),
    "asset": ("asset", "자산"),
    "band": ("band", "허용폭"),
    "rule fired": ("rule fired", "발동 규칙"),
    "targets from": ("targets version {version} from {source}, {count} instruments",
                     "목표 버전 {version} ({source}), {count}개 종목"),
    "triggered": ("rebalance triggered; rules fired: {rules}", "리밸런싱 필요; 발동 규칙: {rules}"),
    "not triggered": ("rebalance not triggered: within the bands", "리밸런싱 불필요: 허용폭 이내"),
    "id": ("id", "번호"),
    "ref price": ("ref price", "기준가"),
    "notional KRW": ("notional KRW", "금액"),
    "est. cost KRW": ("est. cost KRW", "예상 비용"),
    "reason": ("reason", "사유"),
    "no trades": ("no trades", "매매 없음"),
    "turnover line": ("turnover {turnover} KRW · est. costs {costs} KRW (commission {commission}, tax {tax})",
                      "거래대금 {turnover}원 · 예상 비용 {costs}원 (수수료 {commission}, 세금 {tax})"),
    "error line": ("after the trades the weights miss the targets by {error} in total (the best whole-share "
                   "result possible: {bound}); the largest single miss is {largest}",
                   "매매 후 비중은 목표와 합계 {error} 차이 (정수 주로 가능한 최선: {bound}); 가장 큰 차이 {largest}"),
    "solver line": ("solver {solver} ({status}) in {seconds} s", "최적화 {solver} ({status}) {seconds} s"),
    "cash line": ("cash {before} → {after} KRW (expected)", "현금 {before} → {after}원 (예상)"),
    "edits": ("edits by the approver: {edits}", "승인자 수정: {edits}"),
    # planner
    "planner input": ("planner input at {at}: {trades} trades, {phase}, {minutes} min to the close",
                      "계획 입력 {at}: 매매 {trades}건, {phase}, 마감까지 {minutes}분"),
    "llm calls": ("LLM calls", "LLM 호출"),
    "model": ("model", "모델"),
    "attempt": ("attempt", "시도"),
    "finish": ("finish", "종료 사유"),
    "tokens in": ("tokens in", "입력 토큰"),
    "tokens out": ("tokens out", "출력 토큰"),
    "total": ("total", "합계"),
    "cost": ("cost", "비용"),
    "error": ("error", "오류"),
    "reviewer": ("reviewer", "검토"),
    "planned by": ("planner {planner} — {reason}", "계획 {planner} — {reason}"),
    "plan hash": ("plan hash {hash}", "계획 해시 {hash}"),
    "trade": ("trade", "매매"),
    "order type": ("order type", "주문 유형"),
    "price rule": ("price rule", "가격 기준"),
    "offset ticks": ("offset ticks", "호가 조정"),
    "slices": ("slices", "분할"),
    "schedule": ("schedule", "시점"),
    "rationale": ("rationale", "근거"),
    "response": ("call {number} response: {text}", "호출 {number} 응답: {text}"),
    # guardrails
    "ok": ("ok", "통과"),
    "rule": ("rule", "규칙"),
    "scope": ("scope", "범위"),
    "message": ("message", "내용"),
    "stage plan": ("the plan at {at}", "계획 검사 {at}"),
    "stage approval": ("again at approval, {at}", "승인 시 재검사 {at}"),
    "stage execution start": ("at the start of execution, {at}", "실행 시작 시 {at}"),
    "stage buys": ("the buys after the sells, {at}", "매도 후 매수 검사 {at}"),
    "all passed": ("✓ all {count} rules passed", "✓ 규칙 {count}개 모두 통과"),
    "failed rules": ("✗ failed: {rules}", "✗ 실패: {rules}"),
    "auto-approvable": ("auto-approvable: {answer}", "자동 승인 가능: {answer}"),
    "yes": ("yes", "예"),
    "no": ("no", "아니오"),
    # approval
    "requested": ("requested at {at}: plan {hash}", "승인 요청 {at}: 계획 {hash}"),
    "requested waiting": ("waiting for a person (not auto-approvable: {failures})",
                          "사람의 승인 대기 (자동 승인 불가: {failures})"),
    "requested blocked": ("blocked by the guardrails ({failures}): not asked", "안전 규칙 위반 ({failures}): 요청 안 함"),
    "approve": ("approved", "승인"),
    "reject": ("rejected", "거절"),
    "edit": ("edited (not an approval: the plan is recomputed and shown again)",
             "수정 (승인 아님: 계획을 다시 계산해 다시 보여 줌)"),
    "undo": ("undid the last edit (not an approval: the plan is recomputed)",
             "마지막 수정 취소 (승인 아님: 계획을 다시 계산)"),
    "edit detail": ("  edit: {edit}", "  수정: {edit}"),
    "answered": ("{mark} {decision} by {by} at {at} for plan {hash}", "{mark} {decision}: {by}, {at}, 계획 {hash}"),
    "hash mismatch": ("⚠ answered plan {answered} is not the requested {requested}",
                      "⚠ 승인된 계획 {answered} 이(가) 요청한 계획 {requested} 과 다름"),
    "note": ("note: {note}", "메모: {note}"),
    "cancel open orders": ("cancel orders already resting: yes", "기존 미체결 주문 취소: 예"),
    # execution
    "orders": ("orders", "주문"),
    "order": ("order", "주문"),
    "type": ("type", "유형"),
    "limit": ("limit", "지정가"),
    "sent": ("sent", "전송"),
    "ODNO": ("ODNO", "주문번호"),
    "filled": ("filled", "체결"),
    "filled @ avg": ("filled @ avg", "체결 @ 평균가"),
    "h account": ("account", "계좌"),
    "h planner": ("planner", "계획"),
    "avg price": ("avg price", "평균가"),
    "state": ("state", "상태"),
    "fills": ("fills", "체결"),
    "resting before": ("orders already resting before trading", "매매 전 미체결 주문"),
    "remaining": ("remaining", "잔량"),
    "placed by": ("placed by", "주문자"),
    "st filled": ("✓ filled", "✓ 체결"),
    "st partly": ("partly filled {filled}/{quantity}", "일부 체결 {filled}/{quantity}"),
    "st working": ("working, {filled}/{quantity} filled", "미체결 {filled}/{quantity} 체결"),
    "st unfilled": ("not filled (cancelled or lapsed)", "미체결 (취소 또는 소멸)"),
    "st cancelled": ("cancelled, {filled}/{quantity} filled", "취소, {filled}/{quantity} 체결"),
    "st repriced": ("re-priced → ODNO {order_no}, {filled}/{quantity} filled here",
                    "정정 → 주문번호 {order_no}, 여기서 {filled}/{quantity} 체결"),
    "st not sent": ("not sent: {why}", "미전송: {why}"),
    "st refused": ("✗ refused: {why}", "✗ 거부: {why}"),
    "st lost": ("⚠ answer lost: {why}", "⚠ 응답 유실: {why}"),
    "st no answer": ("⚠ no broker answer recorded", "⚠ 증권사 응답 기록 없음"),
    "re-price of": ("re-price of {order}", "{order} 정정"),
    "step timetable": ("timetable: {count} slices from {start}, done by {done_by} at worst",
                       "일정: {count}개 주문, {start} 시작, 늦어도 {done_by} 완료"),
    "step buy timetable": ("buy timetable: {count} slices from {start}", "매수 일정: {count}개 주문, {start} 시작"),
    "step done": ("{side}s done: {orders} orders, {filled} of {quantity} shares filled, {amount} KRW",
                  "{side} 완료: 주문 {orders}건, {quantity}주 중 {filled}주 체결, {amount}원"),
    "step sized": ("buys sized after the sells: orderable cash {cash} KRW, {kept} KRW kept; {count} buys commit "
                   "{committed} KRW", "매도 후 매수 수량 결정: 주문가능 {cash}원, 보유 {kept}원; 매수 {count}건 {committed}원"),
    "step refused": ("refused before the first order: {problems}", "첫 주문 전 중단: {problems}"),
    "step resting": ("cancelled resting order {order_no} placed by {placed_by} ({status})",
                     "기존 주문 {order_no} 취소 ({placed_by}, {status})"),
    "step retry": ("broker read failed ({what}), retry {attempt}: {error}", "조회 실패 ({what}), 재시도 {attempt}: {error}"),
    "step repriced": ("re-priced {order}: {quantity} shares at {price} KRW → ODNO {order_no}",
                      "{order} 정정: {quantity}주 {price}원 → 주문번호 {order_no}"),
    "step not sent": ("{order} not sent: {reason}", "{order} 미전송: {reason}"),
    "step cancel requested": ("the remaining slices were cancelled by {by} at {at}",
                              "남은 주문 취소 요청: {by}, {at}"),
    "step cancelled": ("cancelled the remainder of {order}: {reason}", "{order} 잔량 취소: {reason}"),
    # report
    "summary": ("{outcome}: {summary}", "{outcome}: {summary}"),
    "report value": ("total value {total} KRW · cash D+2 {cash} KRW = {weight} (target {target})",
                     "총평가금액 {total}원 · 예수금 D+2 {cash}원 = {weight} (목표 {target})"),
    "report drift": ("largest |weight − target| {drift} · implementation shortfall {shortfall} vs the arrival mid",
                     "최대 비중 차이 {drift} · 실행 비용 {shortfall} (도착 시 중간가 대비)"),
    "report costs": ("fees and taxes {fees} KRW · {orders} orders filled · {unfilled} shares not done",
                     "수수료·세금 {fees}원 · 체결 주문 {orders}건 · 미체결 {unfilled}주"),
    "after the run": ("after the run", "실행 후"),
    "per trade": ("per trade", "매매별"),
    "planned": ("planned", "계획"),
    "placed": ("placed", "주문"),
    "arrival mid": ("arrival mid", "도착 중간가"),
    "shortfall": ("shortfall", "실행 비용"),
    "not done": ("not done", "미완료"),
    # errors
    "damaged": ("damaged transcript, {detail}", "손상된 기록, {detail}"),
    "torn": ("the last line is cut off (the run stopped mid-write); it was skipped",
             "마지막 줄이 잘림 (기록 중 중단); 건너뜀"),
    "unfinished": ("no run_finished event: the run is still going, or stopped without finishing",
                   "run_finished 없음: 실행 중이거나 끝나지 않고 중단됨"),
    "unanswered": ("no broker answer recorded for {orders}: check the broker's order list before sending "
                   "anything again", "{orders} 에 대한 증권사 응답 기록 없음: 다시 주문하기 전에 주문 내역을 확인하세요"),
    "failed at": ("✗ {at} in {stage}: {error}", "✗ {at} {stage}: {error}"),
    "account then": ("account state then: {state}", "당시 계좌 상태: {state}"),
    "unreadable": ("unreadable event {kind} (shown raw): {data}", "읽을 수 없는 이벤트 {kind} (원본): {data}"),
    "seq": ("seq", "순번"),
    "kind": ("kind", "종류"),
    "data": ("data", "데이터"),
    # list
    "orders sent": ("orders", "주문"),
    "turnover KRW": ("turnover KRW", "거래대금"),
}

order_type_name = order_type_label  # one spelling of an order type in the session and the review


Words = Callable[..., str]


def words(language: Language) -> Words:
    """``w(key, **fields)``: the key's phrase in ``language``, with ``fields`` filled in."""
    index = 1 if language == "ko" else 0

    def w(key: str, **fields: object) -> str:
        pair = WORDS.get(key)
        phrase = pair[index] if pair is not None else key
        return phrase.format(**fields) if fields else phrase

    return w
