"""Errors the paper exchange answers with, in KIS's codes and words.

Gateway errors (EGW…) come with HTTP 500 (403 for token issuance), business rejections with HTTP
200 and ``rt_cd`` "1", as KIS does. Codes marked "ours" were not confirmed against a live KIS server
(see shared docs kis-open-api §14); they keep KIS's shape so clients handle them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    paper_text: str
    real_text: str
    http_status: int = 200
    confirmed: bool = True
    rt_cd: str = "1"


class PaperError(Exception):
    """A rejection to answer in KIS's envelope; ``spec`` says how, ``detail`` adds specifics."""

    def __init__(self, spec: ErrorSpec, detail: str = "") -> None:
        self.spec = spec
        self.detail = detail
        super().__init__(f"{spec.code} {spec.real_text} {detail}".strip())

    def text(self, profile: str) -> str:
        base = self.spec.paper_text if profile == "paper" else self.spec.real_text
        return f"{base} ({self.detail})" if self.detail else base


def _gw(code: str, text: str, status: int = 500, confirmed: bool = True) -> ErrorSpec:
    return ErrorSpec(code, text, text, status, confirmed)


# Gateway (both profiles).
RATE_LIMITED = _gw("EGW00201", "초당 거래건수를 초과하였습니다.")
TOKEN_EXPIRED = _gw("EGW00123", "기간이 만료된 token 입니다.")
TOKEN_INVALID = _gw("EGW00121", "유효하지 않은 token 입니다.")
TOKEN_THROTTLED = _gw("EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)", 403)
BAD_APP_KEY = _gw("EGW00103", "유효하지 않은 AppKey입니다.", 403)
BAD_APP_SECRET = _gw("EGW00105", "유효하지 않은 AppSecret입니다.", 403)
PAPER_KEY_ON_REAL = _gw("EGW02004", "실전투자 도메인은 모의투자 앱키로 호출하실 수 없습니다.")
REAL_KEY_ON_PAPER = _gw("EGW02005", "모의투자 도메인은 실전투자 앱키로 호출하실 수 없습니다.", confirmed=False)
NOT_PAPER_TR = _gw("EGW02006", "모의투자 TR 이 아닙니다.")
NOT_REAL_TR = _gw("EGW02007", "실전투자 TR 이 아닙니다.", confirmed=False)
UNKNOWN_TR = _gw("EGW00202", "유효하지 않은 TR ID 입니다.", confirmed=False)
SERVICE_NOT_FOUND = _gw("MCA00124", "해당 서비스를 찾을수 없습니다.", 404)
INTERNAL = _gw("EGW00500", "일시적인 오류가 발생하였습니다.", confirmed=False)

# Business rejections.
MARKET_CLOSED = ErrorSpec("40580000", "모의투자 장종료 입니다.", "장운영시간이 아닙니다.")
MARKET_NOT_OPEN = ErrorSpec("40570000", "모의투자 장시작전 입니다.", "장운영시간이 아닙니다.")
INSUFFICIENT_CASH = ErrorSpec("40250000", "모의투자 주문가능금액이 부족합니다.", "주문가능금액을 초과 했습니다",
                              confirmed=False)
INSUFFICIENT_QTY = ErrorSpec("40240000", "모의투자 주문가능수량을 초과하였습니다.", "주문가능수량을 초과 했습니다",
                             confirmed=False)
UNKNOWN_TICKER = ErrorSpec("40070000", "모의투자 주문처리가 안되었습니다(매매불가 종목)", "매매불가 종목입니다.",
                           confirmed=False)
TICK_ERROR = ErrorSpec("40080000", "모의투자 주문처리가 안되었습니다(호가단위 오류)", "호가단위 오류입니다.",
                       confirmed=False)
PRICE_LIMIT = ErrorSpec("40090000", "모의투자 주문가격이 상하한가를 벗어났습니다.", "주문가격이 상하한가를 벗어났습니다.",
                        confirmed=False)
ORDER_TYPE = ErrorSpec("40100000", "모의투자 주문구분 입력오류입니다.", "주문구분 입력오류입니다.", confirmed=False)
BAD_INPUT = ErrorSpec("OPSQ2001", "ERROR : INPUT INVALID_CHECK", "ERROR : INPUT INVALID_CHECK")
INVALID_INQR_DVSN = ErrorSpec("OPSQ2001", "ERROR : INPUT INVALID_CHECK_INQR_DVSN",
                              "ERROR : INPUT INVALID_CHECK_INQR_DVSN", rt_cd="2")
NOTHING_TO_REVISE = ErrorSpec("40330000", "모의투자 정정/취소할 수량이 없습니다.", "정정/취소할 수량이 없습니다.")
NO_ROWS = ErrorSpec("70070000", "모의투자 조회할 내역(자료)이 없습니다.", "조회할 자료가 없습니다.")
ACCOUNT_MISMATCH = ErrorSpec("OPSQ0013", "계좌번호가 토큰의 계좌와 다릅니다.", "계좌번호가 토큰의 계좌와 다릅니다.",
                             confirmed=False)
PAGING_CHANGED = ErrorSpec("SYDB0050", "조회이후에 자료가 변경되었습니다.(다시 조회하세요)",
                           "조회이후에 자료가 변경되었습니다.(다시 조회하세요)", rt_cd="7")
BAD_EXCHANGE = ErrorSpec("40110000", "모의투자는 KRX만 가능합니다.", "거래소구분 입력오류입니다.", confirmed=False)
