"""Every word the terminal session prints, English and Korean side by side (``ui.language``).

Only Rebal's own words are translated: data (tickers, instrument names, guardrail and planner
messages, the model's answers) are shown as they are. Commands stay English words; ``COMMAND_ALIASES``
lets a Korean speaker type 승인, 거절 and the like as well.
"""

from __future__ import annotations

from agent.config import Language

# key: (English, Korean). ``str.format`` fields are filled by ``SessionText.__call__``.
TEXT: dict[str, tuple[str, str]] = {
    # the plan screen
    "run": ("Run {run_id}", "실행 {run_id}"),
    "account": ("Account: holdings {holdings} KRW · cash {cash_d0} KRW now (D+0), {cash_d2} KRW after "
                "settlement (D+2) · total {total} KRW",
                "계좌: 보유 종목 {holdings}원 · 현금 {cash_d0}원 (D+0), 결제 후 {cash_d2}원 (D+2) · 합계 {total}원"),
    "drift_title": ("Drift from the targets", "목표 비중과의 차이"),
    "drift_caption": ("classes: share of the account · indented instruments: share of their class · "
                      "band: the tightest configured · red: outside a band",
                      "자산군: 계좌 대비 비중 · 들여쓴 종목: 자산군 안의 비중 · 허용폭: 설정 중 가장 좁은 것 · "
                      "빨강: 허용폭 밖"),
    "col_asset": ("asset", "자산"),
    "col_now": ("now", "현재"),
    "col_target": ("target", "목표"),
    "col_deviation": ("deviation", "차이"),
    "col_band": ("band", "허용폭"),
    "triggered_by": ("Rebalance triggered by:", "리밸런싱 사유:"),
    "breach": ("{asset}: {current} vs target {target} ({deviation}), outside {bands}",
               "{asset}: 현재 {current}, 목표 {target} ({deviation}), 허용폭 밖: {bands}"),
    "rule_absolute_mp": ("class band", "자산군 허용폭"),
    "rule_absolute_sub": ("in-class band", "자산군 내 허용폭"),
    "rule_relative": ("relative band", "상대 허용폭"),
    "rule_five_twenty_five": ("5/25 rule", "5/25 규칙"),
    "not_triggered": ("within every band: nothing triggered", "모든 허용폭 안: 리밸런싱 사유 없음"),
    "trades_title": ("Trades · whole shares, sells first · weights of the account",
                     "매매 · 정수 주, 매도 먼저 · 비중은 계좌 대비"),
    "col_no": ("#", "#"),
    "col_id": ("id", "번호"),
    "col_instrument": ("instrument", "종목"),
    "col_side": ("side", "구분"),
    "col_qty": ("qty", "수량"),
    "col_ref_price": ("ref price", "기준가"),
    "col_value": ("value KRW", "금액(원)"),
    "col_cost": ("cost", "비용"),
    "col_weight": ("now → after (target)", "현재 → 매매 후 (목표)"),
    "no_trades": ("no trades", "매매 없음"),
    "orders_title": ("Orders · planner: {planner}", "주문 · 계획: {planner}"),
    "planner_why": ("planner: {reason}", "계획 방식: {reason}"),
    "col_order": ("order", "주문"),
    "col_type": ("type", "주문 유형"),
    "col_limit": ("limit", "지정 가격"),
    "col_schedule": ("when", "시점"),
    "cash_path": ("Cash (KRW): {steps} · the buys reserve {committed} at their order prices",
                  "현금(원): {steps} · 매수 주문이 주문 가격으로 {committed}원을 묶어 둡니다"),
    "costs": ("Costs: turnover {turnover} KRW · commission {commission} KRW · tax {tax} KRW · "
              "cash after {cash_after} KRW",
              "비용: 거래대금 {turnover}원 · 수수료 {commission}원 · 세금 {tax}원 · 매매 후 현금 {cash_after}원"),
    "fit": ("After these trades the weights miss the targets by {error} in total; the best whole-share "
            "result possible is {bound}.",
            "매매 후 비중은 목표와 합계 {error} 차이가 납니다. 정수 주로 가능한 최선은 {bound}입니다."),
    "guardrails_title": ("Guardrails", "안전 점검"),
    "guardrails_passed": ("Guardrails: all {count} passed ('show guardrails' lists them).",
                          "안전 점검: {count}개 모두 통과 ('show guardrails'로 목록 보기)."),
    "guardrails_failed_title": ("Guardrails: {failed} of {count} failed", "안전 점검: {count}개 중 {failed}개 실패"),
    "col_rule": ("rule", "규칙"),
    "col_detail": ("detail", "내용"),
    "headless": ("(headless)", "(자동 승인)"),
    "guardrail_failed": ("A guardrail failed: this plan cannot be approved. Edit it, or reject it.",
                         "안전 점검 실패: 이 계획은 승인할 수 없습니다. 수정하거나 거절하세요."),
    "open_title": ("Orders already resting on these tickers", "이 종목들에 이미 걸려 있는 주문"),
    "col_order_no": ("order no", "주문번호"),
    "col_remaining": ("remaining", "미체결"),
    "col_price": ("price", "가격"),
    "col_placed_by": ("placed by", "주문자"),
    "no_open": ("no orders resting on these tickers", "이 종목들에 걸려 있는 주문 없음"),
    "footer": ("plan {plan} · type 'help' for commands", "계획 {plan} · 명령어는 'help'(도움말)"),
    "changed": ("Changed: {changes}", "변경: {changes}"),
    "changed_nothing": ("Recomputed: the trades are the same", "다시 계산함: 매매는 그대로입니다"),
    "change_qty": ("{trade} {qty_before} → {qty_after}", "{trade} {qty_before} → {qty_after}"),
    "change_gone": ("{trade} dropped", "{trade} 제외"),
    "change_new": ("{trade} new ({qty})", "{trade} 추가 ({qty})"),
    "change_type": ("{trade} type {before} → {after}", "{trade} 유형 {before} → {after}"),
    # the market clock
    "closed_day": ("The market is closed today ({day}). The next session opens {open}; orders can only be "
                   "placed then: run again after it opens.",
                   "오늘({day})은 휴장입니다. 다음 장은 {open}에 열립니다. 그때 다시 실행하세요."),
    "closed_after": ("The market has closed for today. The next session opens {open}; orders can only be "
                     "placed then: run again after it opens.",
                     "오늘 장이 마감되었습니다. 다음 장은 {open}에 열립니다. 그때 다시 실행하세요."),
    "closed_before": ("The market is not open yet: it opens {open} (the opening auction takes orders from "
                      "30 minutes before).",
                      "아직 장 시작 전입니다. {open}에 열립니다 (동시호가는 30분 전부터)."),
    "open_at": ("at {time} on {date}", "{date} {time}"),
    # words
    "buy": ("buy", "매수"),
    "sell": ("sell", "매도"),
    "sched_now": ("now", "즉시"),
    "sched_twap": ("spread (TWAP)", "분할 (TWAP)"),
    "sched_closing_auction": ("closing auction", "종가 동시호가"),
    "step_before trading": ("before trading", "매매 전"),
    "step_after the sells": ("after the sells", "매도 후"),
    "step_after the buys": ("after the buys", "매수 후"),
    # the prompt
    "prompt": ("approve / reject / edit / undo / explain / show / help",
               "승인 approve / 거절 reject / edit / undo / explain / show / help"),
    "help": ("Commands", "명령어"),
    "help_approve": ("place these orders (sells first, then buys)", "이 주문을 냅니다 (매도 먼저, 그다음 매수)"),
    "help_reject": ("stop here; nothing is sent", "여기서 멈춥니다. 아무 주문도 나가지 않습니다"),
    "help_edit_qty": ("set a trade's total quantity (0 drops it); the plan is recomputed at once",
                      "매매 수량을 바꿉니다 (0이면 제외). 계획을 바로 다시 계산합니다"),
    "help_edit_exclude": ("leave a ticker as it is (neither bought nor sold)",
                          "이 종목은 그대로 둡니다 (매수도 매도도 안 함)"),
    "help_edit_type": ("order type: {types}", "주문 유형: {types}"),
    "help_undo": ("take back the last edit (recomputed at once)", "마지막 수정을 취소합니다 (바로 다시 계산)"),
    "help_cancel_open": ("also cancel the orders already resting on these tickers",
                         "이 종목들에 걸려 있는 기존 주문도 취소합니다"),
    "help_explain": ("why this trade, and why this way of executing it", "이 매매를 하는 이유와 주문 방식의 이유"),
    "help_show": ("show one part of the plan again", "계획의 한 부분을 다시 보여 줍니다"),
    "help_question": ("a question about this run (needs an LLM; read-only)",
                      "이 실행에 대한 질문 (LLM 필요, 읽기 전용)"),
    "help_other": ("anything else", "그 밖의 입력"),
    "help_ids": ("TRADE_ID: the whole id, its row number (1, 2, …) or a prefix such as T01. Korean aliases: "
                 "승인 approve, 거절 reject, 수정 edit, 되돌리기 undo, 설명 explain, 보기 show, 도움말 help.",
                 "TRADE_ID: 전체 번호, 행 번호 (1, 2, …) 또는 T01 같은 앞부분. 한글 명령: 승인, 거절, 수정, "
                 "되돌리기, 설명, 보기, 도움말."),
    "eof": ("No answer (end of input): nothing was approved; the run waits for one. Resume it with "
            "`rebal runs resume {run_id}`.",
            "응답 없음 (입력 끝): 아무것도 승인되지 않았고 실행은 대기 중입니다. "
            "`rebal runs resume {run_id}`로 이어서 하세요."),
    "cannot_approve": ("Not possible: a guardrail failed. Edit the plan or reject it.",
                       "승인 불가: 안전 점검이 실패했습니다. 수정하거나 거절하세요."),
    "edit_applying": ("Applying {edit}: recomputing the plan…", "{edit} 적용: 계획을 다시 계산합니다…"),
    "undo_applying": ("Undoing the last edit: recomputing the plan…", "마지막 수정 취소: 계획을 다시 계산합니다…"),
    "nothing_to_undo": ("Nothing to undo: no edit has been applied.", "되돌릴 수정이 없습니다."),
    "cancel_open_none": ("No orders are resting on these tickers: nothing to cancel.",
                         "이 종목들에 걸려 있는 주문이 없습니다: 취소할 것이 없습니다."),
    "cancel_open_set": ("The {count} resting order(s) will be cancelled before trading (kept across edits).",
                        "기존 주문 {count}건은 매매 전에 취소됩니다 (수정해도 유지)."),
    "edit_usage": ("Edit what? edit qty TRADE_ID N · edit exclude TICKER · edit type TRADE_ID CODE",
                   "무엇을 수정할까요? edit qty TRADE_ID N · edit exclude TICKER · edit type TRADE_ID CODE"),
    "edit_refused": ("Edit refused: {why}", "수정 거부: {why}"),
    "bad_quantity": ("Edit refused: the quantity must be a whole number of shares, 0 or more (not {typed!r}).",
                     "수정 거부: 수량은 0 이상의 정수여야 합니다 ({typed!r} 아님)."),
    "bad_type": ("Edit refused: {typed!r} is not an order type; use one of {types}.",
                 "수정 거부: {typed!r}은(는) 주문 유형이 아닙니다. 다음 중 하나: {types}."),
    "no_trade": ("No trade {typed!r}: use a row number 1–{count} or an id ({ids}).",
                 "{typed!r} 매매가 없습니다: 행 번호 1–{count} 또는 번호 ({ids})."),
    "no_trades_here": ("There are no trades in this plan.", "이 계획에는 매매가 없습니다."),
    "explain_usage": ("Explain which trade? explain TRADE_ID (e.g. explain 1)",
                      "어느 매매를 설명할까요? explain TRADE_ID (예: explain 1)"),
    "show_usage": ("Show what? {views}", "무엇을 보여 줄까요? {views}"),
    "execution": ("execution: {type}, {price}, {slices} slice(s), {schedule}",
                  "주문 방식: {type}, {price}, {slices}회 분할, {schedule}"),
    "price_rule": ("price {rule} {ticks:+d} ticks", "가격 {rule} {ticks:+d}틱"),
    "why": ("why: {why}", "이유: {why}"),
    "no_llm": ("Free-text questions need an LLM (set GOOGLE_API_KEY); type 'help' for the commands.",
               "자유 질문에는 LLM이 필요합니다 (GOOGLE_API_KEY 설정). 명령어는 'help'."),
    "reviewer_title": ("reviewer (read-only)", "검토 (읽기 전용)"),
    "reviewer_failed": ("The reviewer could not answer ({why}).", "검토자가 답하지 못했습니다 ({why})."),
    # the live execution board
    "live_title": ("Execution (exchange clock, KST)", "주문 실행 (거래소 시각, KST)"),
    "live_col_slice": ("slice", "주문"),
    "live_col_instrument": ("instrument", "종목"),
    "live_col_side": ("side", "매매"),
    "live_col_qty": ("qty", "수량"),
    "live_col_type": ("type", "유형"),
    "live_col_price": ("price", "가격"),
    "live_col_at": ("at", "시각"),
    "live_col_state": ("state", "상태"),
    "live_col_filled": ("filled", "체결"),
    "live_col_average": ("avg price", "평균가"),
    "state_waiting": ("waiting", "대기"),
    "state_waiting_in": ("waiting, in {span}", "대기, {span} 후"),
    "state_due": ("due", "전송 차례"),
    "state_sent": ("sent", "전송됨"),
    "state_working": ("working", "접수됨"),
    "state_partly filled": ("partly filled", "부분 체결"),
    "state_filled": ("filled", "체결 완료"),
    "state_re-priced": ("re-priced", "정정됨"),
    "state_cancelled": ("cancelled", "취소됨"),
    "state_not sent": ("not sent", "미전송"),
    "state_rejected": ("rejected", "거부됨"),
    "state_not placed": ("not placed", "미접수"),
    "state_answer lost": ("answer lost", "응답 확인 중"),
    "live_clock": ("exchange clock {time}", "거래소 시각 {time}"),
    "live_next": ("next slice {order} at {time} (in {span})", "다음 주문 {order} {time} ({span} 후)"),
    "live_settled": ("{done}/{total} slices settled", "{done}/{total}건 완료"),
    "live_done_by": ("done by {time} at worst", "늦어도 {time} 완료"),
    "live_cash": ("{label} {cash} KRW", "{label} {cash}원"),
    "cash D+2 before trading": ("cash D+2 before trading", "매매 전 현금 (D+2)"),
    "orderable cash after the sells": ("orderable cash after the sells", "매도 후 주문 가능 현금"),
    "live_keys": ("press c to cancel the remaining slices (what filled stays filled) · Ctrl-C stops the run where "
                  "it is (working orders stay on the book; resumable)",
                  "c: 남은 주문 취소 (체결분은 그대로) · Ctrl-C: 실행을 여기서 멈춤 (접수된 주문은 남음, 재개 가능)"),
    "live_confirm": ("cancel the remaining slices? press y to confirm, any other key to go on",
                     "남은 주문을 취소할까요? 확인은 y, 계속하려면 다른 키"),
    "live_cancelling": ("cancel requested by {by}: nothing more is sent; working slices are being cancelled",
                        "{by} 님의 취소 요청: 더 보내지 않고, 접수된 주문을 취소하는 중"),
    "live_cancelled": ("the remaining slices were cancelled at the request of {by}",
                       "{by} 님의 요청으로 남은 주문을 취소했습니다"),
}

EDITABLE_ORDER_TYPES = ("00", "01", "02", "03", "04")

COMMAND_ALIASES = {"a": "approve", "yes": "approve", "승인": "approve", "r": "reject", "no": "reject",
                   "거절": "reject", "수정": "edit", "되돌리기": "undo", "취소": "undo", "설명": "explain",
                   "보기": "show", "도움말": "help", "?": "help"}


def order_type_label(code: str, language: Language) -> str:
    """``limit (00)`` / ``지정가 (00)``: the name (tools.market, the one definition), then the KIS code."""
    from tools.market import OrderType

    try:
        kind = OrderType(code)
    except ValueError:
        return code
    return f"{kind.korean_name if language == 'ko' else kind.english_name} ({code})"


class SessionText:
    """The session's words in one language: ``text("key", field=value)``."""

    def __init__(self, language: Language = "en") -> None:
        self.language: Language = language
        self._index = 1 if language == "ko" else 0

    def __call__(self, key: str, **values: object) -> str:
        pair = TEXT.get(key)
        if pair is None:  # a word without a translation (a new cash-step label): shown as it is
            return key.removeprefix("step_")
        return pair[self._index].format(**values) if values else pair[self._index]

    def side(self, side: str) -> str:
        return self(side) if side in ("buy", "sell") else side

    def order_type(self, code: str) -> str:
        return order_type_label(code, self.language)

    def schedule(self, schedule: str) -> str:
        return self(f"sched_{schedule}") if f"sched_{schedule}" in TEXT else schedule

    def order_types_listing(self) -> str:
        return ", ".join(f"{code} {self.order_type(code).rsplit(' (', 1)[0]}" for code in EDITABLE_ORDER_TYPES)
