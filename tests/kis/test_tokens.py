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
from support.paperkit import settings

from paper import errors
from paper.auth import TokenService
from paper.errors import PaperError
from paper.exchange import PaperExchange
from tools.kis import TokenThrottled


def _issued(h) -> int:
    return len(h.app.state.tokens._tokens)


class WallClock:
    """The exchange's wall clock (token issue, throttle, expiry), moved only by the test.

    It starts at the real time so the client's own view of a token's expiry (the real clock) agrees.
    """

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class ObservedTokens(TokenService):
    """The exchange's token service on a ``WallClock``, recording each issue call's outcome.

    After a refusal (EGW00133) the wall clock moves on by ``after_refusal`` seconds: the wait of
    a client before its one retry, which a test measures in real time.
    """

    def __init__(self, exchange: PaperExchange, wall: WallClock) -> None:
        super().__init__(exchange.settings, exchange.store, wall=wall)
        self.wall = wall
        self.after_refusal = 0.0
        self.calls: list[str] = []

    def issue(self, app_key: str):
        try:
            issued = super().issue(app_key)
        except PaperError as error:
            if error.spec is errors.TOKEN_THROTTLED:
                self.calls.append("throttled")
                self.wall.now += self.after_refusal
            raise
        self.calls.append("issued")
        return issued


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
async def h(make_harness, market, wall):
    """The suite's ``h``, with the exchange keeping token time on ``wall`` (``h.app.state.tokens.calls``)."""
    exchange = PaperExchange(settings(), market=market)
    async with make_harness(exchange=exchange, tokens=ObservedTokens(exchange, wall)) as harness:
        yield harness


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


async def test_throttled_issue_waits_and_retries_once(h, account, tmp_path):
    # The throttle follows the exchange's wall clock, frozen here: however slowly this machine gets
    # from the first issue to the second, the second falls inside KIS's one-a-minute window.
    h.exchange.settings.token_issue_interval = 60
    h.app.state.tokens.after_refusal = 60  # while the client waits, its minute passes on the exchange
    async with client(h, account, tmp_path / "a") as first:
        await first.quote("069500")
    # A client without the cache (another machine, a wiped cache) asks again at once.
    async with client(h, account, tmp_path / "b", token_throttle_wait=0.3) as second:
        started = time.monotonic()
        await second.quote("069500")
        assert time.monotonic() - started >= 0.3  # it waited token_throttle_wait before the retry
        assert h.app.state.tokens.calls == ["issued", "throttled", "issued"]  # refused once, retried once
        assert second.tokens.issued == 1  # the retry got the (same) token
    assert _issued(h) == 1


async def test_persistent_throttle_is_a_clear_error(h, account, tmp_path):
    h.exchange.settings.token_issue_interval = 60  # and the wall clock stays put: throttled throughout
    async with client(h, account, tmp_path / "a") as first:
        await first.quote("069500")
    async with client(h, account, tmp_path / "b", token_throttle_wait=0.05) as second:
        with pytest.raises(TokenThrottled) as error:
            await second.quote("069500")
    assert h.app.state.tokens.calls == ["issued", "throttled", "throttled"]
    assert "EGW00133" in str(error.value) and "still throttled" in str(error.value)


async def test_token_expiring_mid_run_is_renewed(h, account, wall, tmp_path):
    async with client(h, account, tmp_path) as kis:
        await kis.quote("069500")
        wall.now += 1
        h.exchange.settings.faults.expire_tokens_at = wall.now  # every token issued before now has expired
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
