"""Tokens: issued once and reused across clients and processes, throttle handling, expiry, revoke."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from support.kiskit import client

from tools.kis import TokenThrottled


def _issued(h) -> int:
    return len(h.app.state.tokens._tokens)


async def test_one_token_shared_by_client_instances(h, account, tmp_path):
    async with client(h, account, tmp_path) as first:
        await first.quote("069500")
    async with client(h, account, tmp_path) as second:
        await second.quote("069500")
    assert first.tokens.issued == 1 and second.tokens.issued == 0
    assert _issued(h) == 1
    (cache_file,) = tmp_path.glob("*.json")
    assert stat.S_IMODE(os.stat(cache_file).st_mode) == 0o600
    assert account.app_key not in cache_file.name  # keyed by a digest of host and key


@pytest.mark.parametrize("mode", ["http"])  # another process reaches the exchange over loopback only
async def test_token_reused_by_another_process(make_harness, tmp_path, mode):
    async with make_harness() as h:
        account = h.exchange.create_account(1_000_000)
        async with client(h, account, tmp_path) as kis:
            await kis.quote("069500")
        script = textwrap.dedent(f"""
            import asyncio, sys
            sys.path.insert(0, {str(tmp_path.parent)!r})
            from pydantic import SecretStr
            from tools.kis import Credentials, KisClient, KisConfig
            async def main():
                creds = Credentials(app_key=SecretStr({account.app_key!r}), app_secret=SecretStr({account.app_secret!r}),
                                    account={account.number!r}, source="test")
                config = KisConfig(account={account.number!r}, base_url={str(h.http.base_url)!r},
                                   requests_per_second=0, token_cache_dir={str(tmp_path)!r})
                async with KisClient(config, creds) as kis:
                    quote = await kis.quote("069500")
                    print(kis.tokens.issued, quote.price)
            asyncio.run(main())
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        issued, price = result.stdout.split()
        assert issued == "0" and int(price) > 0
        assert _issued(h) == 1


async def test_throttled_issue_waits_and_retries_once(make_harness, tmp_path):
    async with make_harness(token_issue_interval=0.15) as h:
        account = h.exchange.create_account(1_000_000)
        async with client(h, account, tmp_path / "a") as first:
            await first.quote("069500")
        # A client without the cache (another machine, a wiped cache) asks again at once.
        async with client(h, account, tmp_path / "b", token_throttle_wait=0.3) as second:
            started = time.monotonic()
            await second.quote("069500")
            assert time.monotonic() - started >= 0.3
            assert second.tokens.issued == 1  # the retry got the (same) token


async def test_persistent_throttle_is_a_clear_error(make_harness, tmp_path):
    async with make_harness(token_issue_interval=3600) as h:
        account = h.exchange.create_account(1_000_000)
        async with client(h, account, tmp_path / "a") as first:
            await first.quote("069500")
        async with client(h, account, tmp_path / "b", token_throttle_wait=0.05) as second:
            with pytest.raises(TokenThrottled) as error:
                await second.quote("069500")
    assert "EGW00133" in str(error.value) and "still throttled" in str(error.value)


async def test_token_expiring_mid_run_is_renewed(h, account, tmp_path):
    async with client(h, account, tmp_path) as kis:
        await kis.quote("069500")
        h.exchange.settings.faults.expire_tokens_at = time.time()
        time.sleep(0.01)
        await kis.balance()  # EGW00123 → re-issue → the read is retried once
        assert kis.tokens.issued == 2
    cached = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert cached["token"] == kis.tokens._token


async def test_revoke(h, account, tmp_path):
    async with client(h, account, tmp_path) as kis:
        await kis.quote("069500")
        assert await kis.revoke_token()
        assert list(tmp_path.glob("*.json")) == []
        await kis.quote("069500")  # a fresh token is issued on the next call
        assert kis.tokens.issued == 2
