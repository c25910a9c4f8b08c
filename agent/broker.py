"""Connecting to a broker: KIS (paper or real, with the opt-in) or the embedded paper exchange.

The market clock travels with the connection: on KIS it is the wall clock; on the embedded
exchange it is the exchange's simulated clock, which only moves when the executor waits — so a
whole trading day runs in seconds and every run is reproducible.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from agent.config import RebalConfig
from tools.kis import Credentials, KisConfig, KisConfigError, load_credentials, mask_account
from tools.market import KST
from tools.private import private_dir

if TYPE_CHECKING:
    from tools.kis import SyncKisClient  # the client (and httpx) loads when a connection is made


class MarketClock(Protocol):
    def now(self) -> dt.datetime: ...

    def wait(self, seconds: float) -> None: ...


class WallClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(KST)

    def wait(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


class SimulatedClock:
    """The embedded exchange's clock: waiting moves simulated time instead of sleeping."""

    def __init__(self, exchange) -> None:
        self._exchange = exchange

    def now(self) -> dt.datetime:
        return self._exchange.clock.now()

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self._exchange.clock.advance(seconds)


class RemotePaperClock:
    """The clock of a Rebal paper exchange reached over HTTP (``rebal paper serve --date …``).

    Read once from ``/paper/clock`` and then run locally at the server's speed; waiting is in
    market seconds: slept at the server's speed, or advanced on the server when it is frozen.
    """

    def __init__(self, base_url: str) -> None:
        import httpx

        self._url = base_url.rstrip("/") + "/paper/clock"
        self._http = httpx
        self._sync(httpx.get(self._url, timeout=3).json())

    def _sync(self, state: dict) -> None:
        self._anchor = dt.datetime.fromisoformat(state["now"])
        self._wall = time.monotonic()
        self._speed = float(state["speed"])

    def now(self) -> dt.datetime:
        return self._anchor + dt.timedelta(seconds=(time.monotonic() - self._wall) * self._speed)

    def wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._speed > 0:
            time.sleep(seconds / self._speed)
        else:
            self._sync(self._http.post(self._url, json={"advance_seconds": seconds}, timeout=10).json())


def _paper_clock(base_url: str | None) -> MarketClock | None:
    """A Rebal paper exchange answers /paper/clock; KIS does not (and is never asked: no base_url)."""
    if not base_url:
        return None
    try:
        return RemotePaperClock(base_url)
    except Exception:  # not a Rebal paper exchange, or not reachable yet: the wall clock it is
        return None


class BrokerError(RuntimeError):
    """No broker can be used as configured (e.g. a real account without the opt-in)."""


@dataclass
class BrokerConnection:
    client: SyncKisClient
    clock: MarketClock
    profile: str
    account: str
    description: str
    notes: list[str] = field(default_factory=list)
    embedded: object | None = None  # paper.embedded.EmbeddedExchange when in-process
    kind: str = ""  # "embedded", "paper server HOST:PORT", "KIS paper" or "KIS real" ("" → from the rest)

    @property
    def masked_account(self) -> str:
        return mask_account(self.account)

    @property
    def broker_kind(self) -> str:
        """Which broker, in a few words (``rebal runs list``): embedded / paper server host / KIS paper / KIS real."""
        if self.kind:
            return self.kind
        if self.embedded is not None:
            return "embedded"
        return "KIS real" if self.profile == "real" else "KIS paper"

    @property
    def offers_product_info(self) -> bool:
        """KIS documents its product-info queries as not offered on its paper server (모의투자 미지원);
        KIS's real server and the Rebal paper exchange (embedded or served) answer them."""
        return not self.broker_kind.startswith("KIS paper")

    @property
    def is_real(self) -> bool:
        return self.profile == "real" and self.embedded is None

    def close(self) -> None:
        self.client.close()


def connect(config: RebalConfig, *, confirm_real: Callable[[str], bool] | None = None) -> BrokerConnection:
    """The broker the configuration asks for; the embedded exchange when no credentials are found.

    ``confirm_real`` is asked (interactive runs) to confirm a real account by its typed number.
    """
    broker = config.broker
    notes: list[str] = []
    if broker.mode in ("auto", "kis"):
        try:
            credentials = load_credentials(broker.profile)
        except KisConfigError as error:
            if broker.mode == "kis":
                raise BrokerError(str(error)) from None
            if broker.base_url:  # the person pointed Rebal at a server: never switch away from it silently
                notes.append(f"broker.base_url {broker.base_url} ignored: no KIS credentials found ({error}); "
                             'using the embedded paper exchange (set broker.mode = "kis" to stop instead)')
            else:
                notes.append(f"no KIS credentials ({error}); using the embedded paper exchange")
        else:
            return _kis(config, credentials, notes, confirm_real)
    return _embedded(config, notes)


def _kis(config: RebalConfig, credentials: Credentials, notes: list[str],
         confirm_real: Callable[[str], bool] | None) -> BrokerConnection:
    from tools.kis import SyncKisClient

    broker = config.broker
    if broker.profile == "real":
        if not broker.allow_real_trading:
            raise BrokerError("this is a REAL account: set broker.allow_real_trading = true in the config to trade it")
        if confirm_real is not None and not confirm_real(credentials.account):
            raise BrokerError("the account number typed did not match; nothing was sent")
    kis_config = KisConfig(profile=broker.profile, account=credentials.account, base_url=broker.base_url,
                           requests_per_second=broker.requests_per_second,
                           token_cache_dir=config.paths.home / "kis-tokens")
    client = SyncKisClient(kis_config, credentials)
    where = broker.base_url or ("KIS real server" if broker.profile == "real" else "KIS paper server (모의투자)")
    kind = "KIS real" if broker.profile == "real" else "KIS paper"
    clock = _paper_clock(broker.base_url) or WallClock()
    if isinstance(clock, RemotePaperClock):
        where += f" (Rebal paper exchange, market clock {clock.now():%Y-%m-%d %H:%M} KST)"
        kind = f"paper server {urlsplit(broker.base_url or '').netloc}"
    elif broker.base_url:
        kind += f" via {urlsplit(broker.base_url).netloc}"
    return BrokerConnection(client=client, clock=clock, profile=broker.profile, account=credentials.account,
                            kind=kind,
                            description=f"{where}, account {mask_account(credentials.account)} "
                                        f"(credentials from {credentials.source})", notes=notes)


def _embedded(config: RebalConfig, notes: list[str]) -> BrokerConnection:
    from paper.embedded import EmbeddedExchange, embedded_settings
    from tools.kis import SyncKisClient

    private_dir(config.paths.home, own=True)
    embedded = EmbeddedExchange(embedded_settings(db=str(config.embedded_db), speed=0.0, rate_limit=0))
    account = embedded.account
    credentials = Credentials(app_key=SecretStr(account.app_key), app_secret=SecretStr(account.app_secret),
                              account=account.number, source="embedded paper exchange")
    kis_config = KisConfig(profile="paper", account=account.number, base_url="http://embedded.paper",
                           requests_per_second=0, token_cache_dir=config.paths.home / "kis-tokens")
    client = SyncKisClient(kis_config, credentials, transport=embedded.transport())
    now = embedded.exchange.clock.now()
    return BrokerConnection(client=client, clock=SimulatedClock(embedded.exchange), profile="paper",
                            account=account.number, embedded=embedded, notes=notes, kind="embedded",
                            description=f"embedded paper exchange (simulated clock {now:%Y-%m-%d %H:%M} KST), "
                                        f"account {mask_account(account.number)}")
