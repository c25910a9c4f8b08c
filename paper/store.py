"""SQLite persistence for the paper exchange: accounts, orders, fills, tokens and the clock mark.

The exchange keeps its state in memory and records what changed in one transaction at the end of
every operation, so a restarted server picks up exactly where it stopped. ``":memory:"`` gives a
throwaway exchange (tests, the embedded default).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from paper.ledger import Account, DayTotals, Fill, Order, OrderStatus, Position, Settlement, Side
from tools.market import InstrumentKind, OrderType
from tools.private import private_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (number TEXT PRIMARY KEY, app_key TEXT UNIQUE, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (order_no INTEGER PRIMARY KEY, account TEXT NOT NULL, day TEXT NOT NULL,
                                   status TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_open ON orders (status);
CREATE TABLE IF NOT EXISTS fills (id INTEGER PRIMARY KEY AUTOINCREMENT, order_no INTEGER NOT NULL,
                                  account TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, app_key TEXT NOT NULL, issued_at REAL NOT NULL,
                                   expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value))


def _account_body(account: Account) -> str:
    return json.dumps(dataclasses.asdict(account), default=_encode, ensure_ascii=False)


def _account_from(body: str) -> Account:
    raw = json.loads(body)
    raw["positions"] = {t: Position(**p) for t, p in raw["positions"].items()}
    raw["settlements"] = [Settlement(dt.date.fromisoformat(s["due"]), s["amount"]) for s in raw["settlements"]]
    raw["today"] = DayTotals(**raw["today"])
    raw["yesterday"] = DayTotals(**raw["yesterday"])
    return Account(**raw)


def _order_from(body: str) -> Order:
    raw = json.loads(body)
    raw["kind"] = InstrumentKind(raw["kind"])
    raw["side"] = Side(raw["side"])
    raw["order_type"] = OrderType(raw["order_type"])
    raw["status"] = OrderStatus(raw["status"])
    raw["placed_at"] = dt.datetime.fromisoformat(raw["placed_at"])
    raw["day"] = dt.date.fromisoformat(raw["day"])
    return Order(**raw)


def _fill_from(body: str) -> Fill:
    raw = json.loads(body)
    raw["side"] = Side(raw["side"])
    raw["at"] = dt.datetime.fromisoformat(raw["at"])
    return Fill(**raw)


class Store:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = private_db(path)  # accounts' keys, secrets and tokens: 0600 with its -wal/-shm
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._orders: dict[int, Order] = {}
        self._fills: list[Fill] = []
        self._meta: dict[str, str] = {}

    # --- staging: what the current operation changed ----------------------------------------

    def stage_account(self, account: Account) -> None:
        self._accounts[account.number] = account

    def stage_order(self, order: Order) -> None:
        self._orders[order.order_no] = order

    def stage_fill(self, fill: Fill) -> None:
        self._fills.append(fill)

    def stage_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    @property
    def has_changes(self) -> bool:
        """Whether accounts, orders or fills are staged (bookkeeping meta alone does not count)."""
        return bool(self._accounts or self._orders or self._fills)

    def flush(self) -> None:
        """Write everything staged in one transaction."""
        if not (self._accounts or self._orders or self._fills or self._meta):
            return
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN")
            try:
                cur.executemany(
                    "INSERT INTO accounts (number, app_key, body) VALUES (?, ?, ?) "
                    "ON CONFLICT(number) DO UPDATE SET app_key=excluded.app_key, body=excluded.body",
                    [(a.number, a.app_key, _account_body(a)) for a in self._accounts.values()])
                cur.executemany(
                    "INSERT OR REPLACE INTO orders (order_no, account, day, status, body) VALUES (?, ?, ?, ?, ?)",
                    [(o.order_no, o.account, o.day.isoformat(), o.status.value,
                      json.dumps(dataclasses.asdict(o), default=_encode, ensure_ascii=False))
                     for o in self._orders.values()])
                cur.executemany(
                    "INSERT INTO fills (order_no, account, body) VALUES (?, ?, ?)",
                    [(f.order_no, f.account, json.dumps(dataclasses.asdict(f), default=_encode)) for f in self._fills])
                cur.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(self._meta.items()))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                self._accounts.clear()
                self._orders.clear()
                self._fills.clear()
                self._meta.clear()

    # --- loading --------------------------------------------------------------------------------

    def load_accounts(self) -> list[Account]:
        return [_account_from(row[0]) for row in self._conn.execute("SELECT body FROM accounts ORDER BY number")]

    def load_orders(self) -> list[Order]:
        return [_order_from(row[0]) for row in self._conn.execute("SELECT body FROM orders ORDER BY order_no")]

    def load_fills(self) -> list[Fill]:
        return [_fill_from(row[0]) for row in self._conn.execute("SELECT body FROM fills ORDER BY id")]

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # --- tokens (written at once: they are issued outside market operations) ---------------

    def save_token(self, token: str, app_key: str, issued_at: float, expires_at: float) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?, 0)",
                               (token, app_key, issued_at, expires_at))

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE tokens SET revoked = 1 WHERE token = ?", (token,))

    def load_tokens(self) -> list[tuple[str, str, float, float, bool]]:
        rows = self._conn.execute("SELECT token, app_key, issued_at, expires_at, revoked FROM tokens")
        return [(t, k, i, e, bool(r)) for t, k, i, e, r in rows]

    def reset(self) -> None:
        """Forget everything (``rebal paper reset``)."""
        with self._lock:
            self._conn.executescript(
                "DELETE FROM accounts; DELETE FROM orders; DELETE FROM fills; DELETE FROM tokens; DELETE FROM meta;")

    def close(self) -> None:
        self._conn.close()
