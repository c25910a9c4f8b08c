"""Access tokens: issued once, cached on disk (mode 0600, keyed by host and app key), reused.

KIS allows about one issuance a minute and notifies the account holder of each one, so every
client instance and process of the same key shares the cached token until it nears expiry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
from pathlib import Path

import httpx

from tools.kis.errors import AuthError, KisTransportError, TokenThrottled, classify
from tools.kis.redact import REDACTOR
from tools.market import KST
from tools.private import private_dir

log = logging.getLogger("tools.kis.tokens")
EXPIRY_MARGIN = dt.timedelta(minutes=10)  # renew a little before KIS would refuse the token


class TokenCache:
    def __init__(self, directory: Path, host: str, app_key: str) -> None:
        digest = hashlib.sha256(f"{host}\n{app_key}".encode()).hexdigest()[:32]
        self.path = directory / f"{digest}.json"

    def load(self, now: dt.datetime) -> str | None:
        try:
            data = json.loads(self.path.read_text())
            expires = dt.datetime.fromisoformat(data["expires_at"])
            token = str(data["token"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return token if now < expires - EXPIRY_MARGIN else None

    def save(self, token: str, expires: dt.datetime) -> None:
        private_dir(self.path.parent)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"token": token, "expires_at": expires.isoformat()}, handle)
        os.replace(tmp, self.path)

    def clear(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is ``token``, when given)."""
        try:
            if token is None or json.loads(self.path.read_text()).get("token") == token:
                self.path.unlink()
        except (OSError, ValueError):
            pass


class TokenManager:
    def __init__(self, http: httpx.AsyncClient, cache: TokenCache, app_key: str, app_secret: str,
                 throttle_wait: float) -> None:
        self._http = http
        self._cache = cache
        self._app_key = app_key
        self._app_secret = app_secret
        self._throttle_wait = throttle_wait
        self._token: str | None = None
        self._lock = asyncio.Lock()
        self.issued = 0  # tokens this manager obtained from the server (not from the cache)

    async def token(self) -> str:
        if self._token is None:
            async with self._lock:
                if self._token is None:
                    self._token = self._cache.load(dt.datetime.now(KST)) or await self._issue()
        return self._token

    async def renew(self, stale: str) -> str:
        """The token ``stale`` was refused: drop it and get another (once per refusal)."""
        async with self._lock:
            if self._token == stale or self._token is None:
                self._cache.clear(stale)
                self._token = self._cache.load(dt.datetime.now(KST))
                if self._token in (None, stale):
                    self._token = await self._issue()
        return self._token

    async def _issue(self) -> str:
        try:
            return await self._request_token()
        except TokenThrottled:
            # Another process may have just issued one: look in the cache before waiting.
            cached = self._cache.load(dt.datetime.now(KST))
            if cached:
                return cached
            log.warning("token issuance throttled by KIS (EGW00133); waiting %.0f s before one retry",
                        self._throttle_wait)
            await asyncio.sleep(self._throttle_wait)
            cached = self._cache.load(dt.datetime.now(KST))
            if cached:
                return cached
            try:
                return await self._request_token()
            except TokenThrottled as again:
                raise TokenThrottled(again.msg_cd, again.msg1 + " — still throttled after waiting; try again in a "
                                     "minute", http_status=again.http_status, operation="token issue") from None

    async def _request_token(self) -> str:
        try:
            response = await self._http.post("/oauth2/tokenP", json={
                "grant_type": "client_credentials", "appkey": self._app_key, "appsecret": self._app_secret})
        except httpx.HTTPError as error:
            raise KisTransportError(f"token issue failed: {type(error).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise KisTransportError(f"token issue: HTTP {response.status_code} without a JSON body") from None
        if response.status_code != 200 or "access_token" not in body:
            error = classify(str(body.get("error_code") or body.get("msg_cd") or ""),
                             str(body.get("error_description") or body.get("msg1") or response.text),
                             http_status=response.status_code, operation="token issue")
            raise error if isinstance(error, AuthError) else AuthError(error.msg_cd, error.msg1,
                                                                      http_status=response.status_code,
                                                                      operation="token issue")
        token = str(body["access_token"])
        REDACTOR.add_secret(token)
        expires = dt.datetime.strptime(body["access_token_token_expired"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)
        self._cache.save(token, expires)
        self.issued += 1
        log.info("issued a KIS access token valid until %s", expires.isoformat())
        return token

    async def revoke(self) -> bool:
        token = self._token or self._cache.load(dt.datetime.now(KST))
        if token is None:
            return False
        try:
            response = await self._http.post("/oauth2/revokeP", json={
                "appkey": self._app_key, "appsecret": self._app_secret, "token": token})
        except httpx.HTTPError as error:
            raise KisTransportError(f"token revoke failed: {type(error).__name__}") from None
        self._cache.clear(token)
        self._token = None
        return response.status_code == 200
