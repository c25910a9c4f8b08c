"""Paper exchange benchmarks: HTTP throughput and latency over loopback, and a simulated trading day.

    .venv/bin/python bench/bench_paper.py [--seconds 5] [--connections 8]

1. Starts ``rebal paper serve`` (one uvicorn worker, rate limit off) on 127.0.0.1 and drives
   inquire-price and inquire-balance over keep-alive connections from a lean asyncio client, so the
   client costs little next to the server. Prints requests/s and p50/p99 latency.
2. Simulates a full session (08:30–15:31) for 20 instruments with resting orders, in process:
   once as one jump of the clock and once in one-minute steps with a quote read each step.
Targets (issue 2): >= 1,000 req/s with p99 < 20 ms; a trading day for 20 instruments in < 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _load(port: int, raw: bytes, seconds: float, connections: int) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = await _request(reader, writer, raw)
            latencies.append(time.perf_counter() - started)
            errors += status != 200
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(latencies), errors, latencies


def _raw_get(port: int, path: str, params: dict[str, str], headers: dict[str, str]) -> bytes:
    lines = [f"GET {path}?{urlencode(params)} HTTP/1.1", f"host: 127.0.0.1:{port}",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def http_benchmark(seconds: float, connections: int) -> None:
    from paper.process import served_exchange

    with tempfile.TemporaryDirectory() as tmp:
        creds = Path(tmp) / "creds.json"
        with served_exchange(Path(tmp) / "p.db", "--date", "2026-11-20", "--time", "10:00", "--rate-limit", "0",
                             "--credentials", str(creds), cwd=ROOT) as base:
            port = int(base.rsplit(":", 1)[1])
            keys = json.loads(creds.read_text())
            token = httpx.post(base + "/oauth2/tokenP", json={
                "grant_type": "client_credentials", "appkey": keys["app_key"],
                "appsecret": keys["app_secret"]}).json()["access_token"]
            cano, product = keys["account"].split("-")
            headers = {"authorization": f"Bearer {token}", "appkey": keys["app_key"],
                       "appsecret": keys["app_secret"], "custtype": "P"}
            cases = {
                "inquire-price": _raw_get(port, "/uapi/domestic-stock/v1/quotations/inquire-price",
                                          {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "069500"},
                                          {**headers, "tr_id": "FHKST01010100"}),
                "inquire-balance": _raw_get(port, "/uapi/domestic-stock/v1/trading/inquire-balance",
                                            {"CANO": cano, "ACNT_PRDT_CD": product, "INQR_DVSN": "01",
                                             "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""},
                                            {**headers, "tr_id": "VTTC8434R"}),
            }
            print(f"HTTP over loopback: one uvicorn worker, {connections} keep-alive connections, {seconds:.0f} s each")
            print(f"{'endpoint':<18}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
            for name, raw in cases.items():
                asyncio.run(_load(port, raw, 1.0, connections))  # warm-up
                count, errors, latencies = asyncio.run(_load(port, raw, seconds, connections))
                latencies.sort()
                p50 = statistics.median(latencies) * 1e3
                p99 = latencies[int(len(latencies) * 0.99) - 1] * 1e3
                print(f"{name:<18}{count:>10}{count / seconds:>10.0f}{p50:>10.2f}{p99:>10.2f}{errors:>8}")


def trading_day_benchmark() -> None:
    from paper.exchange import PaperExchange
    from paper.ledger import Side
    from paper.settings import ExchangeSettings
    from tools.market import KST, OrderType, price_limits, shift_ticks

    day = dt.date(2026, 11, 20)

    def build() -> tuple[PaperExchange, int]:
        exchange = PaperExchange(ExchangeSettings(date=day, time=dt.time(8, 30), speed=0, rate_limit=0))
        instruments = exchange.market.instruments()[:20]
        account = exchange.create_account(50_000_000_000, {i.ticker: 10_000 for i in instruments})
        exchange.clock.set(dt.datetime.combine(day, dt.time(9, 0, 1), KST))
        orders = 0
        for inst in instruments:
            base = exchange.market.base_price(inst.ticker, day)
            lower, upper = price_limits(base, inst.kind)
            for k in range(1, 6):  # resting buys and sells a few ticks either side of the base price
                buy = max(shift_ticks(base, -k * 3, inst.kind), lower)
                sell = min(shift_ticks(base, k * 3, inst.kind), upper)
                exchange.place_order(account, inst.ticker, Side.BUY, OrderType.LIMIT, 100 * k, buy)
                exchange.place_order(account, inst.ticker, Side.SELL, OrderType.LIMIT, 100 * k, sell)
                orders += 2
        return exchange, orders

    close = dt.datetime.combine(day, dt.time(15, 31), KST)
    exchange, orders = build()
    started = time.perf_counter()
    exchange.clock.set(close)
    exchange.sync()
    jump = time.perf_counter() - started
    fills = len(exchange.fills)

    exchange, _ = build()
    started = time.perf_counter()
    moment = exchange.clock.now()
    steps = 0
    while moment < close:
        moment += dt.timedelta(minutes=1)
        exchange.clock.set(moment)
        exchange.quote("069500")
        steps += 1
    stepped = time.perf_counter() - started
    print(f"\nTrading day 09:00–15:31 for 20 instruments, {orders} resting orders ({fills} fills by the close):")
    print(f"  one clock jump:            {jump:6.2f} s")
    print(f"  {steps} one-minute steps:     {stepped:6.2f} s (a quote read at each step)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    http_benchmark(args.seconds, args.connections)
    trading_day_benchmark()


if __name__ == "__main__":
    main()
