"""Redaction is a function with tests, and a scan of what the client writes."""

from __future__ import annotations

import logging

from support.kiskit import client

from tools.kis import InsufficientCash, OrderOutcomeUnknown
from tools.kis.redact import Redactor, install_log_redaction, mask_account, redact_account_numbers
from tools.market import OrderType

KEY = "PS" + "A1b2C3" * 5 + "xyzw"
SECRET = "S" * 179 + "!"
JWT = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ0b2tlbiJ9.c2lnbmF0dXJl"


def test_redactor_masks_every_kind_of_secret():
    redactor = Redactor()
    redactor.add_secret(KEY)
    redactor.add_secret(SECRET)
    redactor.add_account("50012345-01")
    text = (f"appkey={KEY} appsecret={SECRET} authorization: Bearer {JWT} token {JWT} "
            f"CANO=50012345 ACNT=5001234501 account 50012345-01")
    cleaned = redactor.redact(text)
    for secret in (KEY, SECRET, JWT, "50012345"):
        assert secret not in cleaned
    assert "Bearer ***" in cleaned and "5001****-01" in cleaned and "CANO=5001****" in cleaned


def test_account_masks():
    assert mask_account("50012345-01") == "5001****-01"
    assert mask_account("50012345") == "5001****"
    assert mask_account("12") == "***"
    assert redact_account_numbers("acct 5001234501 and 60012345") == "acct 5001****01 and 6001****"


def test_log_records_are_redacted_whatever_the_logger(caplog):
    install_log_redaction()
    from tools.kis.redact import REDACTOR

    REDACTOR.add_secret(KEY)
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library").info("sending %s with Bearer %s", KEY, JWT)
    assert KEY not in caplog.text and JWT not in caplog.text and "***" in caplog.text


async def test_errors_and_reprs_of_a_real_session_hold_no_secret(h, account, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    async with client(h, account, tmp_path) as kis:
        texts.append(repr(kis))
        await kis.balance()
        try:
            await kis.place_order("buy", "069500", 100_000, OrderType.MARKET)
        except InsufficientCash as error:
            texts.append(str(error))
        h.exchange.settings.faults.lose_order_responses = 1
        try:
            await kis.place_order("buy", "069500", 1, OrderType.MARKET)
        except OrderOutcomeUnknown as error:
            texts.append(str(error))
            texts.append(repr(error.request))
        token = kis.tokens._token
    texts.append(caplog.text)
    for text in texts:
        for secret in (account.app_key, account.app_secret, token, account.cano, account.number):
            assert secret not in text
    assert len(texts) == 5
