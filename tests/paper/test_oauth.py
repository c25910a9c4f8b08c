"""Token issue, reuse, throttle, expiry and revocation; the approval key and hashkey."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from support.paperkit import out, rejected, settings

from paper.auth import TokenService
from paper.exchange import PaperExchange


class WallClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def test_token_has_kis_shape(wire, h):
    response = await wire.issue_token()
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith("eyJ") and body["access_token"].count(".") == 2
    assert 86_390 <= body["expires_in"] <= 86_400
    expiry = dt.datetime.strptime(body["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")
    assert expiry > dt.datetime.now() + dt.timedelta(hours=23)
    assert len(wire.app_key) == 36 and len(wire.app_secret) == 180


async def test_same_token_within_six_hours_then_new_one(make_harness, market):
    clock = WallClock()
    exchange = PaperExchange(settings(token_issue_interval=60), market=market)
    tokens = TokenService(exchange.settings, exchange.store, wall=clock)
    async with make_harness(exchange=exchange, tokens=tokens) as h:
        account = h.exchange.create_account(1_000_000)
        wire = h.wire(account)
        first = (await wire.issue_token()).json()["access_token"]
        clock.now += 30
        throttled = await wire.issue_token()
        assert throttled.status_code == 403
        assert throttled.json() == {"error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
                                    "error_code": "EGW00133"}
        clock.now += 60
        again = await wire.issue_token()
        assert again.json()["access_token"] == first
        assert again.json()["expires_in"] == 86_400 - 90
        clock.now += 6 * 3600
        fresh = (await wire.issue_token()).json()["access_token"]
        assert fresh != first
        out(await wire.price("069500"))  # the new token works
        wire.token = first
        out(await wire.price("069500"))  # and the old one stays valid until its own expiry
        clock.now += 24 * 3600
        expired = await wire.price("069500")
        rejected(expired, "EGW00123", 500)


async def test_bad_credentials_on_token_issue(h, account):
    wire = h.wire(account)
    wire.app_key = "PS" + "x" * 34
    response = await wire.issue_token()
    assert response.status_code == 403 and response.json()["error_code"] == "EGW00103"
    wire = h.wire(account)
    wire.app_secret = "y" * 180
    response = await wire.issue_token()
    assert response.status_code == 403 and response.json()["error_code"] == "EGW00105"


async def test_revoked_token_is_invalid(wire, h):
    token = wire.token
    response = await h.http.post("/oauth2/revokeP", json={"appkey": wire.app_key, "appsecret": wire.app_secret,
                                                         "token": token})
    assert response.json() == {"code": 200, "message": "접근토큰 폐기에 성공하였습니다"}
    rejected(await wire.price("069500"), "EGW00121", 500)
    again = await h.http.post("/oauth2/revokeP", json={"appkey": wire.app_key, "appsecret": wire.app_secret,
                                                      "token": token})
    assert again.status_code == 403


async def test_missing_or_garbage_token(wire):
    wire.token = ""
    rejected(await wire.price("069500"), "EGW00121", 500)
    wire.token = "eyJnot.a.token"
    rejected(await wire.price("069500"), "EGW00121", 500)


async def test_approval_key_uses_secretkey(h, account):
    ok = await h.http.post("/oauth2/Approval", json={"grant_type": "client_credentials", "appkey": account.app_key,
                                                    "secretkey": account.app_secret})
    assert ok.status_code == 200 and len(ok.json()["approval_key"]) == 36
    wrong = await h.http.post("/oauth2/Approval", json={"grant_type": "client_credentials",
                                                       "appkey": account.app_key, "appsecret": account.app_secret})
    assert wrong.status_code == 403


async def test_hashkey_echoes_body_and_hashes_it(h, account):
    body = {"CANO": account.cano, "ACNT_PRDT_CD": "01", "PDNO": "069500", "ORD_DVSN": "00", "ORD_QTY": "1",
            "ORD_UNPR": "40000"}
    raw = json.dumps(body).encode()
    response = await h.http.post("/uapi/hashkey", content=raw, headers={
        "content-type": "application/json", "appkey": account.app_key, "appsecret": account.app_secret})
    assert response.json() == {"BODY": body, "HASH": hashlib.sha256(raw).hexdigest()}
