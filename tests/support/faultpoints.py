"""Named moments of an execution, hooked from outside the production code (tests only).

Rebal's code has no test hook: these points are installed by monkeypatching the real methods the
executor goes through, and only a test (or ``tests/support/crashing_cli.py``) installs them.

    before_send / before_revise / before_cancel
        the journal holds the action's ``intent`` row (and the transcript its ``order_intent``
        line); nothing has gone to the broker and the row is not yet ``sent``.
    after_send / after_revise / after_cancel
        the broker accepted the order / revision / cancellation; its ``acked`` is not journaled.
    after_sells
        the sell stage is over; the buy stage has not started.

A point named ``name#n`` is its n-th arrival (``name`` alone: the first); arrivals are counted per
name from the moment the points are installed.

Where each point is hooked, and why that is the moment the executor passes there:

* ``before_*`` wraps ``Journal.update``: the point is reached when an order/revise/cancel row is
  about to be marked ``status="sent"`` (before the update runs). ``OrderDesk.send``, ``.revise``
  and ``.cancel`` each do ``record_intent`` (status ``intent``), write the transcript, then mark the
  row ``sent`` and call the broker at once, and nothing else in Rebal marks a row ``sent``: so this
  is exactly where the executor's own ``before_*`` used to sit. The row's ``action`` ("new",
  "revise", "cancel") tells the three apart. Hooking ``Journal.record_intent`` (with
  ``status == "intent"``; ``OrderDesk.skip`` records ``skipped`` rows through it too) would fire a
  step earlier, before the transcript line: for exactly-once checking that is the same moment,
  since the journal row is ``intent`` either way and a resume goes by the journal alone (an
  ``intent`` row is sent again as the same attempt, never matched against the broker); only the
  transcript would lack one ``order_intent`` line. The ``sent`` update is kept because it is exact.
* ``after_*`` wraps ``SyncKisClient.place_order`` / ``.revise_order`` / ``.cancel_order``: the
  point is reached when the call returns an acknowledgement (an exception passes through without
  reaching it, as the executor's error branches return before its ``after_*``). Both broker kinds
  the executor uses, the embedded exchange and KIS over HTTP (``agent.broker``), hand ``OrderDesk``
  a ``SyncKisClient``, which runs the async ``KisClient`` method on its private event loop. The
  point is hooked at the synchronous client, not at ``KisClient``, so that a hook runs in the
  executor's thread like the code it stands for: an exception raised there (a stand-in for
  kill -9, ``KeyboardInterrupt``) leaves ``OrderDesk`` before its ``acked`` update, where inside
  the event loop it would stop the loop, and a hook doing blocking I/O would stall it.
  ``SyncKisClient`` reaches these methods through ``__getattr__``; the wrappers are class
  attributes set (and removed again) by ``monkeypatch``.
* ``after_sells`` wraps ``Executor._buy_stage``: the point is reached on entering it. ``Executor.run``
  calls it once, right after the sell stage (also when there is nothing to sell).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable
from typing import Any

from agent.executor.run import Executor
from agent.journal import Journal
from tools.kis.client import SyncKisClient

BEFORE = {"new": "before_send", "revise": "before_revise", "cancel": "before_cancel"}
AFTER = {"place_order": "after_send", "revise_order": "after_revise", "cancel_order": "after_cancel"}
POINTS = (*BEFORE.values(), *AFTER.values(), "after_sells")

OnPoint = Callable[[str, int], None]


def parse(spec: str) -> tuple[str, int]:
    """``"after_send#2"`` → ``("after_send", 2)``; ``"after_sells"`` → ``("after_sells", 1)``."""
    name, _, nth = spec.partition("#")
    if name not in POINTS:
        raise ValueError(f"no fault point {name!r} (known: {', '.join(POINTS)})")
    n = int(nth or 1)
    if n < 1:
        raise ValueError(f"{spec!r}: the count starts at 1")
    return name, n


def install(monkeypatch: Any, on_point: OnPoint) -> Counter:
    """Call ``on_point(name, n)`` when the executor reaches point ``name`` for the n-th time.

    ``monkeypatch`` is pytest's fixture (or a ``pytest.MonkeyPatch``): ``undo()`` removes the
    points. Returns the counter of arrivals per name (updated before ``on_point`` runs)."""
    reached: Counter = Counter()

    def arrive(name: str) -> None:
        reached[name] += 1
        on_point(name, reached[name])

    original_update = Journal.update

    def update(self: Journal, key: str, **fields: Any) -> None:
        if fields.get("status") == "sent" and (entry := self.get(key)) is not None and entry.status == "intent":
            arrive(BEFORE[entry.kind])
        original_update(self, key, **fields)

    monkeypatch.setattr(Journal, "update", update)

    for method, point in AFTER.items():
        monkeypatch.setattr(SyncKisClient, method, _after(method, point, arrive), raising=False)

    original_buy_stage = Executor._buy_stage

    def buy_stage(self: Executor) -> Any:
        arrive("after_sells")
        return original_buy_stage(self)

    monkeypatch.setattr(Executor, "_buy_stage", buy_stage)
    return reached


def _after(method: str, point: str, arrive: Callable[[str], None]) -> Callable[..., Any]:
    defined = SyncKisClient.__dict__.get(method)  # None: reached through SyncKisClient.__getattr__

    def call(self: SyncKisClient, *args: Any, **kwargs: Any) -> Any:
        real = defined.__get__(self) if defined is not None else SyncKisClient.__getattr__(self, method)
        ack = real(*args, **kwargs)
        arrive(point)
        return ack

    call.__name__ = method
    return call


def on(monkeypatch: Any, hooks: dict[str, Callable[[], None]]) -> Counter:
    """Call ``hooks[spec]()`` at each ``spec`` (``"after_send#2"``); returns the arrivals counter."""
    wanted = [(parse(spec), action) for spec, action in hooks.items()]

    def on_point(name: str, n: int) -> None:
        for point, action in wanted:
            if point == (name, n):
                action()

    return install(monkeypatch, on_point)


def kill_at(monkeypatch: Any, spec: str) -> Counter:
    """SIGKILL this process at ``spec``: a crash that leaves nothing but what was written."""
    return on(monkeypatch, {spec: lambda: os.kill(os.getpid(), signal.SIGKILL)})
