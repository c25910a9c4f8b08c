"""Access tokens as KIS issues them: 24 h validity, the same token again within 6 h, throttled issuance.

Tokens look like KIS's (a JWT signed with a per-server secret). Times are wall-clock seconds, not
the market clock: a token must not expire because a simulated day went by in a minute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from paper import errors
from paper.errors import PaperError
from paper.settings import ExchangeSettings
from paper.store import Store


@dataclass
class IssuedToken:
    token: str
    app_key: str
    issued_at: float
    expires_at: float
    revoked: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    def __init__(self, settings: ExchangeSettings, store: Store, wall: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._store = store
        self._wall = wall
        self._signing_key = secrets.token_bytes(32)
        self._tokens: dict[str, IssuedToken] = {}
        self._latest: dict[str, IssuedToken] = {}  # app key -> newest token
        self._last_issue_call: dict[str, float] = {}
        for token, app_key, issued, expires, revoked in store.load_tokens():
            self._remember(IssuedToken(token, app_key, issued, expires, revoked))

    def _remember(self, issued: IssuedToken) -> None:
        self._tokens[issued.token] = issued
        newest = self._latest.get(issued.app_key)
        if not issued.revoked and (newest is None or issued.issued_at >= newest.issued_at):
            self._latest[issued.app_key] = issued

    def issue(self, app_key: str) -> IssuedToken:
        """Issue (or re-return) a token for an app key whose secret was already checked."""
        now = self._wall()
        last_call = self._last_issue_call.get(app_key)
        interval = self._settings.token_issue_interval
        if last_call is not None and interval and now - last_call < interval:
            raise PaperError(errors.TOKEN_THROTTLED)
        self._last_issue_call[app_key] = now
        current = self._latest.get(app_key)
        if current and not current.revoked and now - current.issued_at < self._settings.token_reuse_window \
                and now < current.expires_at and not self._force_expired(current, now):
            return current
        expires = now + self._settings.token_lifetime
        issued = IssuedToken(self._mint(app_key, now, expires), app_key, now, expires)
        self._remember(issued)
        self._store.save_token(issued.token, app_key, now, expires)
        return issued

    def _mint(self, app_key: str, now: float, expires: float) -> str:
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        claims = {"sub": "token", "aud": secrets.token_hex(16), "prdt_cd": "", "iss": "unogw",
                  "exp": int(expires), "iat": int(now), "jti": app_key[:6] + secrets.token_hex(8)}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def verify(self, token: str) -> IssuedToken:
        issued = self._tokens.get(token)
        if issued is None or issued.revoked:
            raise PaperError(errors.TOKEN_INVALID)
        now = self._wall()
        if now >= issued.expires_at or self._force_expired(issued, now):
            raise PaperError(errors.TOKEN_EXPIRED)
        return issued

    def _force_expired(self, issued: IssuedToken, now: float) -> bool:
        forced = self._settings.faults.expire_tokens_at
        return forced is not None and now >= forced and issued.issued_at < forced

    def revoke(self, token: str, app_key: str) -> bool:
        issued = self._tokens.get(token)
        if issued is None or issued.app_key != app_key or issued.revoked:
            return False
        issued.revoked = True
        if self._latest.get(app_key) is issued:
            del self._latest[app_key]
        self._store.revoke_token(token)
        return True
