"""The order journal: each slice's intent is recorded before it is sent, its order number after.

KIS has no client order id. So on resume, intents without an acknowledgement are matched against
the broker's orders of the day (ticker, side, quantity, price, time) before anything is sent again;
that is what makes order placement exactly-once even across a kill -9.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any, Literal

import sqlite_utils
from pydantic import BaseModel, ConfigDict

Status = Literal["intent", "acked", "unknown", "rejected", "void", "done"]
# intent   recorded, maybe sent (a crash here leaves it for reconciliation)
# acked    the broker gave an order number
# unknown  sent, answer lost: reconcile before doing anything else with it
# rejected the broker refused it (a definite answer: nothing is on the book)
# void     reconciliation found nothing on the book: it may be sent again as a new attempt
# done     no longer working: filled, cancelled or lapsed (fills recorded)


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


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: every journal write is durable before the next broker call.
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self.db = sqlite_utils.Database(self._conn)
        if "orders" not in self.db.table_names():
            self.db["orders"].create(_COLUMNS, pk="key")
            self.db["orders"].create_index(["run_id"])
        if "run_notes" not in self.db.table_names():
            self.db["run_notes"].create({"run_id": str, "name": str, "value": str}, pk=("run_id", "name"))

    def entries(self, run_id: str) -> list[JournalEntry]:
        rows = self.db["orders"].rows_where("run_id = ?", [run_id], order_by="rowid")
        return [JournalEntry.model_validate(row) for row in rows]

    def get(self, key: str) -> JournalEntry | None:
        try:
            return JournalEntry.model_validate(self.db["orders"].get(key))
        except sqlite_utils.db.NotFoundError:
            return None

    def record_intent(self, entry: JournalEntry) -> None:
        self.db["orders"].upsert(entry.model_dump(), pk="key")

    def update(self, key: str, **fields: Any) -> None:
        self.db["orders"].update(key, fields)

    def claimed_order_nos(self) -> set[str]:
        rows = self._conn.execute("SELECT order_no FROM orders WHERE order_no IS NOT NULL")
        return {row[0] for row in rows}

    def note(self, run_id: str, name: str, value: Any | None = None) -> Any:
        """Per-run decisions that a resume must reuse (e.g. the buy sizes after the sells)."""
        if value is not None:
            self.db["run_notes"].upsert({"run_id": run_id, "name": name, "value": json.dumps(value)},
                                        pk=("run_id", "name"))
            return value
        try:
            return json.loads(self.db["run_notes"].get((run_id, name))["value"])
        except sqlite_utils.db.NotFoundError:
            return None

    def close(self) -> None:
        self._conn.close()


_COLUMNS = {"key": str, "run_id": str, "trade_id": str, "slice_no": int, "attempt": int, "ticker": str, "side": str,
            "quantity": int, "order_type": str, "price": int, "status": str, "order_no": str, "branch": str,
            "sent_at": str, "acked_at": str, "filled_quantity": int, "filled_amount": int, "note": str}


def now_iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")
