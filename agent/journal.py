"""The order journal: each slice's intent is recorded before it is sent, its order number after.

KIS has no client order id. So on resume, intents without an acknowledgement are matched against
the broker's orders of the day (ticker, side, quantity, price, time) before anything is sent again;
that is what makes order placement exactly-once even across a kill -9.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tools.private import private_db

Status = Literal["intent", "sent", "acked", "unknown", "rejected", "void", "done", "skipped"]
# Every broker action (place, revise, cancel) goes intent → sent → acked:
# intent   recorded, not sent yet (a crash here: it surely never reached the broker)
# sent     about to be / being sent (a crash here leaves it for reconciliation)
# acked    the broker gave an order number
# unknown  sent, answer lost and not settled yet: never sent again before it is
# rejected the broker refused it (a definite answer: nothing is on the book)
# void     not on the book (a definite gateway refusal, or absent from the broker's order list
#          read several times over a window): it may be sent again as a new attempt
# done     no longer working: filled, cancelled or lapsed (fills recorded)
# skipped  never sent, by decision (e.g. the session closed first); the note says why
Action = Literal["new", "revise", "cancel"]


class JournalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str  # run_id/trade_id/slice[/attempt]
    run_id: str
    trade_id: str
    slice_no: int
    attempt: int
    ticker: str
    side: str
    quantity: int
    order_type: str
    price: int
    status: Status
    order_no: str | None = None
    branch: str | None = None
    sent_at: str | None = None
    acked_at: str | None = None
    filled_quantity: int = 0
    filled_amount: int = 0
    note: str | None = None
    # Whose order it is: rows written before these columns existed have them empty and count as
    # nobody's (never treated as Rebal's). ``account_id`` is a keyed hash, never the number.
    broker: str | None = None  # the broker's identity: profile and host
    account_id: str | None = None
    trading_day: str | None = None  # ISO date of the session it was sent in
    action: Action | None = None  # None on old rows: "new"
    original_order_no: str | None = None  # revise/cancel: the order acted on
    parent_key: str | None = None  # revise/cancel: the journal row of the order acted on

    @property
    def kind(self) -> Action:
        return self.action or "new"


class Owner(BaseModel):
    """Who placed an order, as the journal keys it: KIS order numbers restart every day and are
    per account, so an order number alone says nothing about whose an order is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    broker: str
    account_id: str
    trading_day: str


class NotFoundError(Exception):
    """No journal row has that key."""


class Journal:
    """Plain sqlite3 (no sqlite-utils: it imports pandas). The tables are those sqlite-utils made
    before, so journals written by earlier versions open unchanged."""

    def __init__(self, path: Path) -> None:
        # Autocommit: every journal write is durable before the next broker call. 0600, like its key.
        self._conn = sqlite3.connect(private_db(path), isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA recursive_triggers=on")
        tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "orders" not in tables:
            columns = ",\n".join(f'   "{name}" {_SQL_TYPES[kind]}' + (" PRIMARY KEY" if name == "key" else "")
                                  for name, kind in _COLUMNS.items())
            self._conn.execute(f'CREATE TABLE "orders" (\n{columns}\n)')
            self._conn.execute('CREATE INDEX "idx_orders_run_id"\n    ON "orders" ("run_id")')
        present = {row[1] for row in self._conn.execute('PRAGMA table_info("orders")')}
        for name, kind in _COLUMNS.items():  # journals of earlier versions: add the new columns
            if name not in present:
                self._conn.execute(f'ALTER TABLE "orders" ADD COLUMN "{name}" {_SQL_TYPES[kind]}')
        self._key_path = path.parent / "journal.key"
        if "intents" not in tables:  # keyed hash of a rebalance's intent → the runs started for it
            self._conn.execute('CREATE TABLE "intents" (\n   "intent_key" TEXT,\n   "run_id" TEXT,\n'
                               '   PRIMARY KEY ("intent_key", "run_id")\n)')
        if "run_notes" not in tables:
            self._conn.execute('CREATE TABLE "run_notes" (\n   "run_id" TEXT,\n   "name" TEXT,\n   "value" TEXT,\n'
                               '   PRIMARY KEY ("run_id", "name")\n)')

    def entries(self, run_id: str) -> list[JournalEntry]:
        rows = self._conn.execute('SELECT * FROM "orders" WHERE run_id = ? ORDER BY rowid', [run_id])
        return [JournalEntry.model_validate(dict(row)) for row in rows]

    def _row(self, key: str) -> dict[str, Any]:
        row = self._conn.execute('SELECT * FROM "orders" WHERE "key" = ?', [key]).fetchone()
        if row is None:
            raise NotFoundError(key)
        return dict(row)

    def get(self, key: str) -> JournalEntry | None:
        try:
            return JournalEntry.model_validate(self._row(key))
        except NotFoundError:
            return None

    def record_intent(self, entry: JournalEntry) -> None:
        self._upsert("orders", entry.model_dump(), ("key",))

    def update(self, key: str, **fields: Any) -> None:
        self._row(key)  # NotFoundError for an unknown key
        if not fields:
            return
        assignments = ", ".join(f'"{name}" = ?' for name in fields)
        self._conn.execute(f'UPDATE "orders" SET {assignments} WHERE "key" = ?', [*fields.values(), key])

    def claimed_order_nos(self, owner: Owner) -> set[str]:
        """Order numbers Rebal placed (or got from a revision) for this broker, account and day."""
        rows = self._conn.execute(
            'SELECT order_no FROM "orders" WHERE order_no IS NOT NULL AND broker = ? AND account_id = ? '
            'AND trading_day = ?', [owner.broker, owner.account_id, owner.trading_day])
        return {row[0] for row in rows}

    def account_id(self, account: str) -> str:
        """A keyed hash of the account number (HMAC-SHA256 with a secret kept beside the journal,
        created mode 0600): the journal can tell accounts apart without holding their numbers."""
        digits = account.replace("-", "").strip()
        return hmac.new(self._secret(), digits.encode(), hashlib.sha256).hexdigest()[:32]

    def intent_key(self, account: str, as_of: str, targets_version: str) -> str:
        """The keyed hash (HMAC-SHA256, the journal's secret) of one rebalance's intent: the same
        account, session date and targets. It stays in this private database; run ids are random."""
        digits = account.replace("-", "").strip()
        message = f"intent|{digits}|{as_of}|{targets_version}".encode()
        return hmac.new(self._secret(), message, hashlib.sha256).hexdigest()

    def runs_for_intent(self, intent_key: str) -> list[str]:
        """The runs started for this intent, oldest first."""
        rows = self._conn.execute('SELECT run_id FROM "intents" WHERE intent_key = ? ORDER BY rowid', [intent_key])
        return [row[0] for row in rows]

    def claim_intent(self, intent_key: str, run_id: str) -> None:
        self._conn.execute('INSERT OR IGNORE INTO "intents" (intent_key, run_id) VALUES (?, ?)', [intent_key, run_id])

    def _secret(self) -> bytes:
        try:
            return bytes.fromhex(self._key_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            pass
        try:
            fd = os.open(self._key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            return bytes.fromhex(self._key_path.read_text().strip())
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        return bytes.fromhex(self._key_path.read_text().strip())

    def note(self, run_id: str, name: str, value: Any | None = None) -> Any:
        """Per-run decisions that a resume must reuse (e.g. the buy sizes after the sells)."""
        if value is not None:
            self._upsert("run_notes", {"run_id": run_id, "name": name, "value": json.dumps(value)}, ("run_id", "name"))
            return value
        row = self._conn.execute('SELECT "value" FROM "run_notes" WHERE "run_id" = ? AND "name" = ?',
                                 [run_id, name]).fetchone()
        return None if row is None else json.loads(row[0])

    def _upsert(self, table: str, row: dict[str, Any], pk: tuple[str, ...]) -> None:
        """Insert the row, or overwrite the given columns of the row with its primary key."""
        names = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" for _ in row)
        conflict = ", ".join(f'"{name}"' for name in pk)
        updates = ", ".join(f'"{name}" = excluded."{name}"' for name in row if name not in pk)
        self._conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks}) '
                           f'ON CONFLICT({conflict}) DO UPDATE SET {updates}', list(row.values()))

    def close(self) -> None:
        self._conn.close()


_COLUMNS = {"key": str, "run_id": str, "trade_id": str, "slice_no": int, "attempt": int, "ticker": str, "side": str,
            "quantity": int, "order_type": str, "price": int, "status": str, "order_no": str, "branch": str,
            "sent_at": str, "acked_at": str, "filled_quantity": int, "filled_amount": int, "note": str,
            "broker": str, "account_id": str, "trading_day": str, "action": str, "original_order_no": str,
            "parent_key": str}
_SQL_TYPES = {str: "TEXT", int: "INTEGER"}


def now_iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")
