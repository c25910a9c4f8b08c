"""The paper exchange's instrument master: real KRX listings with calibration for synthetic prices.

Codes and names are real (KRX short codes, Korean names as listed). The calibration is not market
data: it is a plausible late-2025 price level, annualised volatility and average daily volume,
used only to make the synthetic daily bars look like the instrument (see ``bars.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tools.market import (
    InstrumentKind,
    is_on_tick,
    is_valid_ticker,
    kind_from_name,  # noqa: F401  (re-exported)
)

Market = Literal["KOSPI", "KOSDAQ"]

@dataclass(frozen=True, slots=True)
class Calibration:
    """What synthetic bars are drawn around: price level (on the tick grid), yearly volatility of
    log returns, and the mean daily volume in shares."""

    reference_price: int
    annual_volatility: float
    average_daily_volume: int


@dataclass(frozen=True, slots=True)
class Instrument:
    ticker: str
    name: str
    kind: InstrumentKind
    market: Market
    calibration: Calibration

    def __post_init__(self) -> None:
        cal = self.calibration
        if not is_valid_ticker(self.ticker):
            raise ValueError(f"{self.ticker!r} is not a KRX short code")
        if not is_on_tick(cal.reference_price, self.kind):
            raise ValueError(f"{self.ticker}: reference price {cal.reference_price} is off the tick grid")
        if not 0 < cal.annual_volatility < 3 or cal.average_daily_volume < 0:
            raise ValueError(f"{self.ticker}: implausible calibration {cal}")


def _etf(ticker: str, name: str, price: int, vol: float, volume: int) -> Instrument:
    # Every KRX ETF is listed on the KOSPI market, whatever its underlying.
    return Instrument(ticker, name, InstrumentKind.ETF, "KOSPI", Calibration(price, vol, volume))


def _stock(ticker: str, name: str, market: Market, price: int, vol: float, volume: int) -> Instrument:
    return Instrument(ticker, name, InstrumentKind.STOCK, market, Calibration(price, vol, volume))


BUILT_IN_INSTRUMENTS: tuple[Instrument, ...] = (
    # Domestic equity ETFs
    _etf("069500", "KODEX 200", 56_000, 0.20, 6_000_000),
    _etf("102110", "TIGER 200", 56_200, 0.20, 1_500_000),
    _etf("278530", "KODEX 200TR", 19_800, 0.20, 400_000),
    _etf("229200", "KODEX 코스닥150", 14_200, 0.28, 3_000_000),
    _etf("091160", "KODEX 반도체", 62_000, 0.35, 700_000),
    _etf("122630", "KODEX 레버리지", 38_000, 0.40, 20_000_000),
    _etf("233740", "KODEX 코스닥150레버리지", 9_200, 0.55, 15_000_000),
    _etf("114800", "KODEX 인버스", 3_005, 0.20, 40_000_000),
    _etf("251340", "KODEX 코스닥150선물인버스", 3_520, 0.28, 15_000_000),
    _etf("252670", "KODEX 200선물인버스2X", 650, 0.40, 150_000_000),
    # Overseas equity ETFs
    _etf("360750", "TIGER 미국S&P500", 24_400, 0.17, 3_000_000),
    _etf("379800", "KODEX 미국S&P500TR", 22_500, 0.17, 1_200_000),
    _etf("219480", "KODEX 미국S&P500선물(H)", 30_100, 0.18, 60_000),
    _etf("133690", "TIGER 미국나스닥100", 160_000, 0.22, 150_000),
    # Bonds, dollar, gold, cash
    _etf("152380", "KODEX 국채선물10년", 67_500, 0.06, 60_000),
    _etf("148070", "KOSEF 국고채10년", 115_500, 0.07, 30_000),
    _etf("114260", "KODEX 국고채3년", 62_400, 0.02, 20_000),
    _etf("308620", "KODEX 미국채10년선물", 12_700, 0.09, 80_000),
    _etf("305080", "TIGER 미국채10년선물", 13_150, 0.09, 100_000),
    _etf("329750", "TIGER 미국달러단기채권액티브", 14_050, 0.06, 400_000),
    _etf("261240", "KODEX 미국달러선물", 12_600, 0.07, 150_000),
    _etf("132030", "KODEX 골드선물(H)", 23_000, 0.18, 500_000),
    _etf("357870", "TIGER CD금리투자KIS(합성)", 56_300, 0.003, 200_000),
    # KOSPI stocks
    _stock("005930", "삼성전자", "KOSPI", 98_000, 0.30, 20_000_000),
    _stock("000660", "SK하이닉스", "KOSPI", 580_000, 0.45, 4_000_000),
    _stock("373220", "LG에너지솔루션", "KOSPI", 420_000, 0.40, 300_000),
    _stock("207940", "삼성바이오로직스", "KOSPI", 1_200_000, 0.30, 80_000),
    _stock("005380", "현대차", "KOSPI", 260_000, 0.30, 900_000),
    _stock("000270", "기아", "KOSPI", 115_000, 0.30, 1_200_000),
    _stock("012330", "현대모비스", "KOSPI", 300_000, 0.28, 250_000),
    _stock("068270", "셀트리온", "KOSPI", 175_000, 0.35, 800_000),
    _stock("035420", "NAVER", "KOSPI", 250_000, 0.35, 900_000),
    _stock("035720", "카카오", "KOSPI", 60_000, 0.40, 2_000_000),
    _stock("105560", "KB금융", "KOSPI", 115_000, 0.30, 1_500_000),
    _stock("055550", "신한지주", "KOSPI", 72_000, 0.28, 1_500_000),
    _stock("051910", "LG화학", "KOSPI", 350_000, 0.40, 350_000),
    _stock("006400", "삼성SDI", "KOSPI", 300_000, 0.45, 600_000),
    _stock("005490", "POSCO홀딩스", "KOSPI", 320_000, 0.35, 300_000),
    _stock("066570", "LG전자", "KOSPI", 90_000, 0.32, 800_000),
    _stock("017670", "SK텔레콤", "KOSPI", 53_000, 0.18, 400_000),
    # KOSDAQ stocks
    _stock("086520", "에코프로", "KOSDAQ", 90_000, 0.60, 1_200_000),
    _stock("028300", "HLB", "KOSDAQ", 45_000, 0.60, 1_500_000),
    _stock("263750", "펄어비스", "KOSDAQ", 35_000, 0.45, 400_000),
    _stock("293490", "카카오게임즈", "KOSDAQ", 15_000, 0.45, 500_000),
)
