"""Redaction of secrets: app key and secret, tokens, authorization headers, full account numbers.

A tested function, not a convention: every message, repr and log line that can carry request data
goes through ``Redactor.redact`` (and the logging filter installs it for Rebal's loggers).
"""

from __future__ import annotations

import logging
import re
import threading

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-+/=]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
# 8-digit account number with or without the 2-digit product code: keep the first 4 digits.
_ACCOUNT = re.compile(r"(?<!\d)(\d{4})\d{4}(-?\d{2})?(?!\d)")

MASK = "***"


def mask_account(number: str) -> str:
    """``50012345-01`` → ``5001****-01``: enough to recognise, not enough to use."""
    digits = number.replace("-", "")
    if len(digits) < 8:
        return MASK
    product = f"-{digits[8:10]}" if len(digits) >= 10 else ""
    return f"{digits[:4]}****{product}"


class Redactor:
    """Replaces every registered secret (and anything shaped like a token) in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._accounts: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, value: str | None) -> None:
        if value and len(value) >= 6:
            with self._lock:
                self._secrets.add(value)

    def add_account(self, number: str | None) -> None:
        if number:
            digits = number.replace("-", "")
            with self._lock:
                self._accounts.update({number, digits, digits[:8]})

    def redact(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
            accounts = sorted(self._accounts, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        for number in accounts:
            text = text.replace(number, mask_account(number))
        text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
        return _JWT.sub(MASK, text)


# The process-wide redactor: every client registers its secrets here, the log filter reads it.
REDACTOR = Redactor()


def redact(text: str) -> str:
    return REDACTOR.redact(text)


def redact_account_numbers(text: str) -> str:
    """Mask anything shaped like an 8(+2)-digit account number (for free text of unknown origin)."""
    return _ACCOUNT.sub(lambda m: f"{m.group(1)}****{m.group(2) or ''}", text)


_installed = False


def install_log_redaction() -> None:
    """Redact every log record of the process when it is created, whichever logger makes it.

    A record factory rather than a logger filter: filters on a parent logger do not see records of
    child loggers (``tools.kis.client``) nor of libraries (httpx logs request URLs).
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left for logging itself to report
            return record
        record.msg, record.args = REDACTOR.redact(message), None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
