"""The runs kept in the checkpoint store, read without LangGraph (``rebal runs list``).

Importing LangGraph and building the graph costs seconds; the listing needs only, per run, the
newest checkpoint's state values and which node would run next. Both are in the checkpoint rows
that ``langgraph.checkpoint.sqlite.SqliteSaver`` writes: the values inline (every state key is a
plain last-value channel), and a node is next when its trigger channel (``branch:to:<node>``,
or ``__start__``) holds a value newer than the version the node last saw — LangGraph's own rule.

Anything else (another serializer or checkpoint format, subgraphs, pending sends, writes left by
a step that did not finish other than an interrupt or an error) is not interpreted here:
``read_runs`` returns None and the caller asks LangGraph (``agent.runner.list_runs``). A test
compares both readers on runs in every state.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHECKPOINT_FORMAT = 4  # Checkpoint["v"] written by langgraph 1.2
_NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
_HARMLESS_WRITES = frozenset({"__interrupt__", "__error__"})  # leave the task in `next`, change no value


class _Unknown(Exception):
    """Something only LangGraph can interpret."""


def read_runs(runs_db: Path) -> list[dict[str, Any]] | None:
    """Every run, newest first, as ``agent.runner.list_runs`` gives it; None when LangGraph must be asked."""
    try:
        import ormsgpack  # LangGraph's checkpoint encoding (a dependency of langgraph-checkpoint)
    except ImportError:
        return None
    try:  # read only: nothing is written to the store, and a missing store is not created
        conn = sqlite3.connect(runs_db.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return _read(conn, ormsgpack)
    except (_Unknown, sqlite3.Error, ValueError, TypeError, KeyError, AttributeError):
        return None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, ormsgpack: Any) -> list[dict[str, Any]]:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").fetchone():
        return []  # a store that was opened but never written to
    if conn.execute("SELECT 1 FROM checkpoints WHERE checkpoint_ns != '' LIMIT 1").fetchone():
        raise _Unknown("subgraph checkpoints")
    rows = conn.execute(
        "SELECT c.thread_id, c.checkpoint_id, c.type, c.checkpoint FROM checkpoints c "
        "JOIN (SELECT thread_id, MAX(checkpoint_id) AS newest FROM checkpoints GROUP BY thread_id) n "
        "ON c.thread_id = n.thread_id AND c.checkpoint_id = n.newest "
        "WHERE c.checkpoint_ns = '' ORDER BY c.checkpoint_id DESC").fetchall()
    runs = []
    for thread, checkpoint_id, kind, blob in rows:
        if kind != "msgpack":
            raise _Unknown(f"checkpoint type {kind}")
        checkpoint = ormsgpack.unpackb(blob, ext_hook=_no_ext, option=ormsgpack.OPT_NON_STR_KEYS)
        writes = conn.execute("SELECT task_id, channel FROM writes WHERE thread_id = ? AND checkpoint_ns = '' "
                              "AND checkpoint_id = ?", (thread, checkpoint_id)).fetchall()
        values = checkpoint["channel_values"]
        waiting_for = _next_nodes(checkpoint, writes)
        runs.append({"run_id": thread, "as_of": values.get("as_of", ""), "mode": values.get("mode", ""),
                     "outcome": values.get("outcome") or ("in progress" if waiting_for else ""),
                     "waiting_for": waiting_for, "updated": checkpoint.get("ts", "")})
    return sorted(runs, key=lambda r: r["updated"], reverse=True)


def _no_ext(code: int, data: bytes) -> Any:
    raise _Unknown(f"msgpack extension type {code}")


def _next_nodes(checkpoint: dict[str, Any], writes: list[tuple[str, str]]) -> list[str]:
    if checkpoint.get("v") != CHECKPOINT_FORMAT:
        raise _Unknown(f"checkpoint format {checkpoint.get('v')}")
    if any(task == _NULL_TASK_ID or channel not in _HARMLESS_WRITES for task, channel in writes):
        raise _Unknown("writes of an unfinished step")
    values, versions, seen = checkpoint["channel_values"], checkpoint["channel_versions"], checkpoint["versions_seen"]
    if "__pregel_tasks" in values:
        raise _Unknown("pending sends")
    if not all(isinstance(v, str) for v in versions.values()):
        raise _Unknown("channel versions")
    waiting = []
    for channel in values:
        if channel == "__start__":
            node = "__start__"
        elif channel.startswith("branch:to:"):
            node = channel.removeprefix("branch:to:")
        else:
            continue
        node_seen = seen.get(node)
        if node_seen is None or versions.get(channel, "") > node_seen.get(channel, ""):
            waiting.append(node)
    if len(waiting) > 1:
        raise _Unknown("several nodes due at once")  # LangGraph's order is the graph's node order
    return waiting


# --- the broker and account of each run (from its transcript's run_started event) -----------------

_MASKED = re.compile(r"^\d{4}\*{4}(-\d{2})?$")
_HEAD_LINES = 50  # run_started is a transcript's first event; a few more lines cover a resumed writer


def run_brokers(transcripts: Path, run_ids: list[str]) -> dict[str, str]:
    """``run id → "KIND · MASKED-ACCOUNT"`` (e.g. ``embedded · 5851****-01``), "" when the run's
    transcript is gone or has no ``run_started``. Only a masked account number is ever returned."""
    return {run_id: _broker_of(transcripts / f"{run_id}.jsonl") for run_id in run_ids}


def _broker_of(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as handle:
            for _, line in zip(range(_HEAD_LINES), handle, strict=False):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("kind") == "run_started":
                    return broker_label(event.get("data") or {})
    except OSError:
        pass
    return ""


def broker_label(started: dict[str, Any]) -> str:
    """The broker kind (embedded / paper server HOST / KIS paper / KIS real) and the masked account
    of a ``run_started`` event's data."""
    from tools.kis.redact import mask_account  # light: no client, no httpx

    description = str(started.get("broker", ""))
    profile = str(started.get("profile", ""))
    if description.startswith("embedded"):
        kind = "embedded"
    elif description.startswith("KIS real server"):
        kind = "KIS real"
    elif description.startswith("KIS paper server"):
        kind = "KIS paper"
    elif description.startswith(("http://", "https://")):
        host = urlsplit(description.split()[0].rstrip(",")).netloc
        if "Rebal paper exchange" in description:
            kind = f"paper server {host}"
        else:
            kind = f"{'KIS real' if profile == 'real' else 'KIS paper'} via {host}"
    else:
        kind = description.split(",")[0].strip() or "?"
    account = str(started.get("account", ""))
    if account and not _MASKED.match(account):
        account = mask_account(account)  # never an unmasked number, whatever the transcript holds
    return f"{kind} · {account}" if account else kind
