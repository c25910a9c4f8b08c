"""When each order slice goes out and by when it is done: the one timetable of a rebalance.

The planner's schedules (``now``, ``twap``, ``closing_auction``), the TWAP definition, the fill
window and the sells-before-buys rule are defined here once and used by the planner's policy,
the feasibility guardrails and the executor alike. A timetable is worst case: every slice is
assumed to rest its whole fill window, be re-priced once and rest again (each step noticed up
to one poll late). When even the worst case cannot finish inside the session, the plan is
refused before its first order: the timetable lists why in ``problems`` (``issues`` carries the
same with a kind each) and what to do in ``advice``.

The schedules, for a stage (all sells, or all buys) that begins at ``begin``:

- ``now``: sent at ``max(begin, open)``: at once during continuous trading, at the open when
  the run starts before it (and in the closing auction when the stage begins there);
- ``twap``: slice k of n sent at ``first + (k − 1) × (twap_end − first) / n`` with
  ``first = max(begin, twap_start, open)`` (by default the chapter's 09:10–15:00); a one-slice
  twap is a ``now``; no twap once ``twap_end`` has passed;
- ``closing_auction``: sent at ``max(begin, continuous_close)``, settled at the close.

A continuous-session slice is done ``slice_lifetime`` after it is sent, and must be done by the
end of continuous trading; an auction slice, or a conditional limit (02, whose rest joins the
closing auction), is done at the close. Sells go first; the buys begin once every sell is done,
so sells that complete only at the close leave nothing bought today: that is a problem too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.market import CLOSING_AUCTION_LENGTH, KST, KrxCalendar, OrderType, Phase, order_type_allowed

StageSide = Literal["sell", "buy"]
IssueKind = Literal["closed", "order_type", "after_close", "past_continuous", "twap_over", "bad_slice",
                    "buys_wait"]
# The kinds that say a slice does not fit its session phase (guardrail schedule.fits_session); the
# rest, "buys_wait", says the buys would wait on sells that complete only at the close
# (schedule.buys_after_sells).
SESSION_ISSUES: frozenset[str] = frozenset({"closed", "order_type", "after_close", "past_continuous",
                                            "twap_over", "bad_slice"})


def clock(moment: dt.datetime) -> str:
    """``HH:MM`` on the exchange clock, with seconds only when there are any."""
    local = moment.astimezone(KST)
    return f"{local:%H:%M:%S}" if local.second or local.microsecond else f"{local:%H:%M}"


def _minutes(value: float) -> str:
    return f"{value:g}-minute"


class TimetableSettings(BaseModel):
    """How long slices may rest and where TWAP slices go (``[execution]`` in the config)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    fill_window_minutes: float = Field(default=10.0, ge=0.5, le=120)  # a slice rests this long, then re-price/cancel
    reprice_unfilled: bool = True  # re-price an unfilled remainder once (it rests one more window), else cancel
    twap_start: dt.time = dt.time(9, 10)
    twap_end: dt.time = dt.time(15, 0)
    # The executor notices a window's end at its next fill check, up to this much later.
    poll_seconds: float = Field(default=0.0, ge=0, le=300)

    @model_validator(mode="after")
    def _twap_window(self) -> TimetableSettings:
        if self.twap_start.tzinfo is not None or self.twap_end.tzinfo is not None:
            raise ValueError("twap_start and twap_end are exchange-clock times without a time zone")
        if self.twap_start >= self.twap_end:
            raise ValueError(f"twap_start {self.twap_start:%H:%M} must be before twap_end {self.twap_end:%H:%M}")
        return self

    @property
    def fill_window(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.fill_window_minutes)

    @property
    def slice_lifetime(self) -> dt.timedelta:
        """Worst case from sending a continuous-session slice to its end (filled or cancelled)."""
        step = self.fill_window + dt.timedelta(seconds=self.poll_seconds)
        return step * (2 if self.reprice_unfilled else 1)

    def describe(self) -> str:
        """``a 10-minute fill window, re-priced once`` (for messages)."""
        return f"a {_minutes(self.fill_window_minutes)} fill window" + \
            (", re-priced once" if self.reprice_unfilled else "")


class SessionDay(BaseModel):
    """The KRX session a run trades in, as fixed times on the exchange clock (KST)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: dt.date
    is_session: bool
    open: dt.datetime  # continuous trading starts (the opening auction ends)
    continuous_close: dt.datetime  # continuous trading ends, the closing auction starts (15:20)
    close: dt.datetime  # the closing auction's single price (15:30)
    next_open: dt.datetime  # when trading is next possible: today's open, or the next session's
    next_session_open: dt.datetime | None = None  # the open of the first session after ``day``

    @classmethod
    def of(cls, calendar: KrxCalendar, moment: dt.datetime) -> SessionDay:
        day = moment.astimezone(KST).date()
        opening, closing = calendar.session_bounds(day)
        is_session = calendar.is_session(day)
        following = calendar.session_bounds(calendar.next_session(day))[0]
        next_open = opening if is_session and moment < closing else following
        return cls(day=day, is_session=is_session, open=opening, continuous_close=closing - CLOSING_AUCTION_LENGTH,
                   close=closing, next_open=next_open, next_session_open=following)

    def phase(self, moment: dt.datetime) -> Phase:
        if not self.is_session:
            return Phase.CLOSED_DAY
        if moment < self.open:
            return Phase.PRE_OPEN if moment < self.open - dt.timedelta(minutes=30) else Phase.OPENING_AUCTION
        if moment < self.continuous_close:
            return Phase.CONTINUOUS
        return Phase.CLOSING_AUCTION if moment < self.close else Phase.POST_CLOSE

    def at(self, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(self.day, time, KST)

    def run_again(self) -> str:
        """``run again after 09:00 on 2026-03-11`` (the next session after today)."""
        following = self.next_session_open
        if following is None:
            return "run again in the next session"
        local = following.astimezone(KST)
        return f"run again after {local:%H:%M} on {local:%Y-%m-%d}"


def latest_start(session: SessionDay, settings: TimetableSettings, *, sells_and_buys: bool) -> dt.datetime:
    """The last moment a plan of ``now`` slices can start and still finish: the sells' worst case
    must end before continuous trading does when buys follow them (they may then go to the
    closing auction); one side alone can still use the closing auction until the close."""
    if sells_and_buys:
        return session.continuous_close - settings.slice_lifetime
    return session.close


class SliceSpec(Protocol):
    """What the timetable needs of an order slice (``tools.plan.Order`` has it)."""

    @property
    def order_id(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def schedule(self) -> str: ...
    @property
    def order_type(self) -> OrderType | str: ...
    @property
    def slice_no(self) -> int: ...
    @property
    def slice_count(self) -> int: ...
    @property
    def trade_id(self) -> str: ...


class SliceTime(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str
    side: StageSide
    send_at: dt.datetime
    phase: Phase  # the session phase it is sent in
    done_by: dt.datetime  # worst case: filled, or re-priced and filled, or cancelled, or lapsed at the close


class TimetableIssue(BaseModel):
    """One reason a plan cannot finish: what kind, which slice (when one), and the message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: IssueKind
    message: str
    order_id: str | None = None


class Timetable(BaseModel):
    """Every slice's send time and worst-case end, sells first; ``problems`` empty when it fits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.datetime
    slices: tuple[SliceTime, ...]
    sells_done_by: dt.datetime | None
    buys_start: dt.datetime | None
    done_by: dt.datetime
    problems: tuple[str, ...] = ()  # the issues' messages
    issues: tuple[TimetableIssue, ...] = ()
    advice: str = ""  # what to do when it does not fit ("" when it does)

    @property
    def feasible(self) -> bool:
        return not self.problems

    def time_of(self, order_id: str) -> SliceTime:
        """The slice's times (KeyError when the timetable has no such slice)."""
        for slice_time in self.slices:
            if slice_time.order_id == order_id:
                return slice_time
        raise KeyError(order_id)

    def issues_of(self, kinds: Iterable[str]) -> tuple[TimetableIssue, ...]:
        wanted = frozenset(kinds)
        return tuple(i for i in self.issues if i.kind in wanted)


def twap_times(begin: dt.datetime, slices: int, session: SessionDay,
               settings: TimetableSettings) -> list[dt.datetime] | None:
    """Send times of ``slices`` TWAP slices starting no earlier than ``begin``: evenly spread
    from max(begin, twap_start) to twap_end. ``None`` when that window is already over."""
    first = max(begin, session.at(settings.twap_start), session.open)
    end = session.at(settings.twap_end)
    if slices <= 1:
        return [first] if first <= end else None
    if first >= end:
        return None
    step = (end - first) / slices
    return [first + step * k for k in range(slices)]


def _slice_end(send_at: dt.datetime, phase: Phase, order_type: OrderType, session: SessionDay,
               settings: TimetableSettings) -> dt.datetime:
    if phase in (Phase.CLOSING_AUCTION, Phase.POST_CLOSE, Phase.CLOSED_DAY) \
            or order_type is OrderType.CONDITIONAL_LIMIT:
        return max(send_at, session.close)  # settled by the closing single price (a 02's rest joins it)
    return send_at + settings.slice_lifetime


def _stage_issues(slices: Sequence[SliceSpec], begin: dt.datetime, session: SessionDay,
                  settings: TimetableSettings) -> tuple[list[SliceTime], list[TimetableIssue]]:
    times: list[SliceTime] = []
    issues: list[TimetableIssue] = []
    twap_plans: dict[str, list[dt.datetime] | None] = {}
    for order in slices:
        oid = order.order_id
        side: StageSide = "sell" if order.side == "sell" else "buy"
        if order.schedule == "closing_auction":
            send_at = max(begin, session.continuous_close)
        elif order.schedule == "twap" and order.slice_count > 1:
            if order.trade_id not in twap_plans:
                twap_plans[order.trade_id] = twap_times(begin, order.slice_count, session, settings)
            planned = twap_plans[order.trade_id]
            if planned is None:
                issues.append(TimetableIssue(kind="twap_over", order_id=oid, message=(
                    f"{oid}: the TWAP window {settings.twap_start:%H:%M}–{settings.twap_end:%H:%M} is over "
                    f"at {clock(max(begin, session.open))}")))
                send_at = max(begin, session.open)
            elif not 1 <= order.slice_no <= len(planned):
                issues.append(TimetableIssue(kind="bad_slice", order_id=oid, message=(
                    f"{oid}: slice {order.slice_no} of {order.slice_count} has no place in the TWAP")))
                send_at = planned[-1]
            else:
                send_at = planned[order.slice_no - 1]
        else:  # "now", or a one-slice twap: as soon as continuous trading allows
            send_at = max(begin, session.open)
        phase = session.phase(send_at)
        order_type = OrderType(order.order_type)
        if phase in (Phase.POST_CLOSE, Phase.CLOSED_DAY):
            issues.append(TimetableIssue(kind="after_close", order_id=oid, message=(
                f"{oid}: would be sent at {clock(send_at)}, after the close ({clock(session.close)})")))
        elif not order_type_allowed(order_type, phase):
            issues.append(TimetableIssue(kind="order_type", order_id=oid, message=(
                f"{oid}: {order_type.value} {order_type.korean_name} is not accepted in the "
                f"{phase.value.replace('_', ' ')} (sent {clock(send_at)})")))
        done_by = _slice_end(send_at, phase, order_type, session, settings)
        if phase is Phase.CONTINUOUS and order_type is not OrderType.CONDITIONAL_LIMIT \
                and done_by > session.continuous_close:
            issues.append(TimetableIssue(kind="past_continuous", order_id=oid, message=(
                f"{oid}: sent {clock(send_at)}, it may rest until {clock(done_by)} ({settings.describe()}), "
                f"after continuous trading ends at {clock(session.continuous_close)}")))
        times.append(SliceTime(order_id=oid, side=side, send_at=send_at, phase=phase, done_by=done_by))
    return times, issues


def stage_times(slices: Sequence[SliceSpec], begin: dt.datetime, session: SessionDay,
                settings: TimetableSettings) -> tuple[list[SliceTime], list[str]]:
    """Send times and ends of one stage's slices (all sells, or all buys) starting at ``begin``,
    and why any of them does not fit. Send times never get later when ``begin`` gets earlier, so
    an executor that starts a stage earlier than the worst case stays inside the timetable."""
    times, issues = _stage_issues(slices, begin, session, settings)
    return times, [i.message for i in issues]


def _advice(issues: Sequence[TimetableIssue], start: dt.datetime, session: SessionDay,
            settings: TimetableSettings, *, sells_and_buys: bool) -> str:
    """What to do about ``issues``, most useful first."""
    hints: list[str] = []
    kinds = {i.kind for i in issues}
    begin = max(start, session.open)
    cc = clock(session.continuous_close)
    if "closed" in kinds:
        return f"too late today: {session.run_again()}"
    too_late = begin >= latest_start(session, settings, sells_and_buys=sells_and_buys)
    if sells_and_buys and too_late:
        needs = clock(begin + 2 * settings.slice_lifetime)  # sells now, then buys now, each worst case
        latest = latest_start(session, settings, sells_and_buys=True)
        hints.append(f"too late today for sells then buys: continuous trading ends {cc}; sells then buys need "
                     f"until {needs} with {settings.describe()}: {session.run_again()} (start before "
                     f"{clock(latest)}), or lower execution.fill_window_minutes")
    elif "buys_wait" in kinds:
        hints.append("with buys in the plan, sell during continuous trading ('now', or 'twap' with fewer slices) "
                     "and never in the closing auction or with 02, so the sells are done before "
                     f"{cc}; or run earlier")
    if "past_continuous" in kinds and not (sells_and_buys and too_late):
        hints.append(f"use fewer TWAP slices, or send what cannot finish by {cc} to the closing auction "
                     "(or as 02) when nothing waits on it; or run earlier or lower execution.fill_window_minutes")
    if "twap_over" in kinds:
        hints.append(f"the TWAP window ends {settings.twap_end:%H:%M}: use 'now' (or 'closing_auction')")
    if "order_type" in kinds:
        hints.append("03/04 are accepted only in continuous trading: use 00 or 02 in an auction")
    if "after_close" in kinds and not hints:
        hints.append(f"too late today: {session.run_again()}")
    if "bad_slice" in kinds:
        hints.append("rebuild the orders from the plan (slice numbers 1..n)")
    return "; ".join(dict.fromkeys(hints))


def make_timetable(orders: Iterable[SliceSpec], start: dt.datetime, session: SessionDay,
                   settings: TimetableSettings) -> Timetable:
    """The worst-case timetable of a whole plan started at ``start``: sells, then buys once every
    sell is done. Buys never wait on sells that complete only at the close."""
    orders = list(orders)
    sells = [o for o in orders if o.side == "sell"]
    buys = [o for o in orders if o.side == "buy"]
    both = bool(sells) and bool(buys)
    issues: list[TimetableIssue] = []
    if orders and (not session.is_session or start >= session.close):
        when = f"today's session closed at {clock(session.close)}" if session.is_session \
            else f"{session.day:%Y-%m-%d} is not a KRX session"
        issues.append(TimetableIssue(kind="closed", message=(
            f"{when} (run started {start.astimezone(KST):%Y-%m-%d %H:%M} KST): nothing can be traded today")))
        return Timetable(start=start, slices=(), sells_done_by=None, buys_start=None, done_by=start,
                         problems=tuple(i.message for i in issues), issues=tuple(issues),
                         advice=_advice(issues, start, session, settings, sells_and_buys=both))
    begin = max(start, session.open)
    sell_times, sell_issues = _stage_issues(sells, begin, session, settings)
    issues += sell_issues
    sells_done = max((s.done_by for s in sell_times), default=None)
    buy_times: list[SliceTime] = []
    buys_start = None
    if buys:
        buys_start = max(sells_done, begin) if sells_done else begin
        if sells_done is not None and sells_done >= session.continuous_close:
            late = [s.order_id for s in sell_times if s.done_by >= session.continuous_close]
            at_close = sells_done >= session.close
            issues.append(TimetableIssue(kind="buys_wait", message=(
                f"the buys would wait for sells that complete only at {clock(sells_done)}"
                f"{' (the close)' if at_close else ''} ({', '.join(late[:4])}{' …' if len(late) > 4 else ''}): "
                "nothing could be bought today")))
            buy_times = [SliceTime(order_id=o.order_id, side="buy", send_at=buys_start,
                                   phase=session.phase(buys_start), done_by=max(buys_start, session.close))
                         for o in buys]
        else:
            buy_times, buy_issues = _stage_issues(buys, buys_start, session, settings)
            issues += buy_issues
    every = [*sell_times, *buy_times]
    done_by = max((s.done_by for s in every), default=start)
    advice = _advice(issues, start, session, settings, sells_and_buys=both) if issues else ""
    return Timetable(start=start, slices=tuple(every), sells_done_by=sells_done, buys_start=buys_start,
                     done_by=done_by, problems=tuple(i.message for i in issues), issues=tuple(issues), advice=advice)
