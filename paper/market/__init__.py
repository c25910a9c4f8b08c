"""Market data behind the paper exchange: instruments, daily bars and intraday paths."""

from paper.market.bars import MarketData, NoBarError, UnknownInstrumentError
from paper.market.instruments import BUILT_IN_INSTRUMENTS, Calibration, Instrument, kind_from_name
from paper.market.intraday import IntradayPath

__all__ = [
    "BUILT_IN_INSTRUMENTS",
    "Calibration",
    "Instrument",
    "IntradayPath",
    "MarketData",
    "NoBarError",
    "UnknownInstrumentError",
    "kind_from_name",
]
