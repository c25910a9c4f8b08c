"""KIS client benchmarks: does it sit at the real-profile limit, and what does one call cost?

    .venv/bin/python bench/bench_kis.py [--seconds 10]

1. ``rebal paper serve --profile real`` (18 req/s per account, as KIS) on loopback; the client,
   configured for 18 req/s, reads quotes for ``--seconds``. Prints calls/s achieved and how many
   EGW00201 refusals it met (the target is 18.0/s with none).
2. The client's own overhead: in-process (no network, no limit), the time of ``client.quote()``
   minus the time of the same request sent raw through the same transport.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.kis import Credentials, KisClient, KisConfig  # noqa: E402


async def at_the_limit(seconds: float) -> None:
    from paper.process import served_exchange

    with tempfile.TemporaryDirectory() as tmp:
        creds_file = Path(tmp) / "creds.json"
        with served_exchange(Path(tmp) / "p.db", "--profile", "real", "--date", "2026-11-20", "--time", "10:00",
                             "--credentials", str(creds_file), cwd=ROOT) as url:
            keys = json.loads(creds_file.read_text())
            creds = Credentials(app_key=SecretStr(keys["app_key"]), app_secret=SecretStr(keys["app_secret"]),
                                account=keys["account"], source="bench")
            config = KisConfig(profile="real", account=keys["account"], base_url=url, token_cache_dir=Path(tmp))
            async with KisClient(config, creds) as kis:
                await kis.quote("069500")
                started = time.perf_counter()
                calls = 0
                while time.perf_counter() - started < seconds:
                    await kis.quote("069500")
                    calls += 1
                elapsed = time.perf_counter() - started
                print(f"At the real-profile limit (server 18 req/s, client configured 18/s), {seconds:.0f} s:")
                print(f"  {calls} quotes in {elapsed:.2f} s = {calls / elapsed:.2f} calls/s; "
                      f"EGW00201 refusals met: {kis.session.rate_limited}")


async def overhead(n: int = 2000) -> None:
    from paper.embedded import EmbeddedExchange, embedded_settings

    embedded = EmbeddedExchange(embedded_settings(speed=0, rate_limit=0))
    account = embedded.account
    creds = Credentials(app_key=SecretStr(account.app_key), app_secret=SecretStr(account.app_secret),
                        account=account.number, source="bench")
    with tempfile.TemporaryDirectory() as tmp:
        config = KisConfig(account=account.number, base_url="http://paper.local", requests_per_second=0,
                           token_cache_dir=Path(tmp))
        async with KisClient(config, creds, transport=embedded.transport()) as kis:
            await kis.quote("069500")
            token = kis.tokens._token
            started = time.perf_counter()
            for _ in range(n):
                await kis.quote("069500")
            client_time = (time.perf_counter() - started) / n
        headers = {"authorization": f"Bearer {token}", "appkey": account.app_key, "appsecret": account.app_secret,
                   "tr_id": "FHKST01010100", "custtype": "P"}
        params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "069500"}
        async with httpx.AsyncClient(transport=embedded.transport(), base_url="http://paper.local") as raw:
            started = time.perf_counter()
            for _ in range(n):
                (await raw.get("/uapi/domestic-stock/v1/quotations/inquire-price", params=params,
                               headers=headers)).json()
            raw_time = (time.perf_counter() - started) / n
    print(f"\nClient overhead, in-process, {n} quotes each:")
    print(f"  KisClient.quote(): {client_time * 1e3:.3f} ms/call   raw httpx + json: {raw_time * 1e3:.3f} ms/call")
    print(f"  overhead of the client itself: {(client_time - raw_time) * 1e6:.0f} µs/call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(at_the_limit(args.seconds))
    asyncio.run(overhead())


if __name__ == "__main__":
    main()
