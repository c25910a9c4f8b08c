"""Feasibility: the whole plan, sells then buys with their fill windows, fits today's session.

Both rules judge the worst-case timetable of ``tools.schedule`` (the one the planner's policy and
the executor use), computed from the orders, the start moment, the session and the
``[execution]`` settings in the context. Without those inputs they fail closed.

- ``schedule.fits_session``: every slice is sent in a phase that accepts its order type, and a
  continuous-session slice is done (filled, re-priced and filled, or cancelled) before continuous
  trading ends; a TWAP has its window left; the market is open today.
- ``schedule.buys_after_sells``: the buys, which wait until every sell is done, never wait on
  sells that complete only at the close (closing auction, 02, or a worst case past 15:20):
  otherwise everything is sold and nothing bought today.
"""

from __future__ import annotations

from guardrails.models import GuardrailContext, RuleResult
from guardrails.registry import missing, rule, verdict
from tools.schedule import SESSION_ISSUES, Timetable, clock, make_timetable

_INPUTS = "start moment, session and timetable settings"


def context_timetable(ctx: GuardrailContext) -> Timetable | None:
    """The worst-case timetable of the context's orders; None when an input is missing."""
    if ctx.orders is None or ctx.start is None or ctx.session is None or ctx.timetable_settings is None:
        return None
    return make_timetable(ctx.orders, ctx.start, ctx.session, ctx.timetable_settings)


def _listed(problems: list[str]) -> str:
    return "; ".join(problems[:4]) + (f"; … {len(problems) - 4} more" if len(problems) > 4 else "")


def _figures(table: Timetable) -> dict:
    def iso(moment):
        return moment.isoformat() if moment is not None else None

    return {"start": iso(table.start), "sells_done_by": iso(table.sells_done_by), "buys_start": iso(table.buys_start),
            "done_by": iso(table.done_by), "advice": table.advice}


@rule("schedule.fits_session")
def fits_session(ctx: GuardrailContext) -> RuleResult:
    """Every slice is sent in a phase that accepts its order type and done before its phase closes."""
    if ctx.orders is None:
        return missing("schedule.fits_session", "orders")
    table = context_timetable(ctx)
    if table is None:
        return missing("schedule.fits_session", _INPUTS)
    problems = [i.message for i in table.issues_of(SESSION_ISSUES)]
    settings = ctx.timetable_settings
    assert settings is not None and ctx.session is not None
    if problems:
        message = f"{len(problems)} problem(s) fitting the session: {_listed(problems)}. What to do: {table.advice}"
    elif not ctx.orders:
        message = "no orders to schedule"
    else:
        message = (f"every slice fits the session: done by {clock(table.done_by)} at worst "
                   f"({settings.describe()}; continuous trading ends {clock(ctx.session.continuous_close)})")
    return verdict("schedule.fits_session", not problems, message, problems=problems, **_figures(table))


@rule("schedule.buys_after_sells")
def buys_after_sells(ctx: GuardrailContext) -> RuleResult:
    """The buys, sent once every sell is done, never wait on sells that complete only at the close."""
    if ctx.orders is None:
        return missing("schedule.buys_after_sells", "orders")
    table = context_timetable(ctx)
    if table is None:
        return missing("schedule.buys_after_sells", _INPUTS)
    problems = [i.message for i in table.issues_of({"buys_wait"})]
    sells = sum(1 for o in ctx.orders if o.side == "sell")
    buys = len(ctx.orders) - sells
    if problems:
        message = f"{_listed(problems)}. What to do: {table.advice}"
    elif not sells or not buys:
        message = f"nothing waits on sells: {'sells' if sells else 'buys' if buys else 'no orders'} only"
    elif table.sells_done_by is None:
        message = "nothing is scheduled today (see schedule.fits_session)"
    else:
        message = (f"the sells are done by {clock(table.sells_done_by)} at worst, before continuous trading "
                   f"ends: the buys follow from then")
    return verdict("schedule.buys_after_sells", not problems, message, problems=problems, sells=sells, buys=buys,
                   **_figures(table))
