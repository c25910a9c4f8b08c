"""Validation of target portfolios, with messages that name the file, the class and the ticker.

Every problem is collected (not just the first) so a user can fix a file in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from typing import Literal

from tools.market import is_valid_ticker
from tools.targets.models import SUM_TOLERANCE, AssetClass, InstrumentTarget, Targets, TargetsError

KnownTickers = Collection[str] | Callable[[str], bool] | None


def pct(weight: float) -> str:
    """A weight as the percentage a user wrote: 0.225 → '22.5%'."""
    return f"{weight * 100:g}%"


def _is_known(ticker: str, known: KnownTickers) -> bool:
    if known is None:
        return True
    if callable(known):
        return bool(known(ticker))
    return ticker in known


def check_classes(
    classes: Sequence[AssetClass],
    source: str,
    *,
    form: Literal["mp", "flat"] = "mp",
    known_tickers: KnownTickers = None,
    check_sums: bool = True,
    tolerance: float = SUM_TOLERANCE,
) -> list[str]:
    """All problems in ``classes``; an empty list means valid."""
    problems: list[str] = []
    if not classes:
        return [f"{source}: no asset classes or weights"]

    def where(asset_class: AssetClass) -> str:
        # In the flat form a class is one ticker, so naming the class would only repeat it.
        return f"{source}:" if form == "flat" else f'{source}: class "{asset_class.name}":'

    seen_classes: set[str] = set()
    home_of: dict[str, str] = {}  # ticker → first class it was seen in
    cash_classes = [c.name for c in classes if c.is_cash]
    if len(cash_classes) > 1:
        problems.append(f"{source}: more than one cash class ({', '.join(cash_classes)})")
    for asset_class in classes:
        here = where(asset_class)
        # The flat form names a class after its ticker (or "cash").
        subject = ("cash" if asset_class.is_cash else f"ticker {asset_class.name}") if form == "flat" \
            else f'class "{asset_class.name}"'
        if not asset_class.name.strip():
            problems.append(f"{source}: a class has an empty name")
        elif asset_class.name in seen_classes:
            problems.append(f"{source}: {subject} is listed twice" if form == "flat"
                            else f"{source}: {subject} is defined twice")
            continue
        seen_classes.add(asset_class.name)
        if not math.isfinite(asset_class.weight):
            problems.append(f"{source}: {subject} weight {asset_class.weight} is not a number")
        elif asset_class.weight < 0:
            problems.append(f"{source}: {subject} weight {pct(asset_class.weight)} is negative")
        if asset_class.is_cash:
            if asset_class.instruments:
                problems.append(f'{here} the cash class cannot hold instruments')
            continue
        if not asset_class.instruments:
            problems.append(f"{source}: {subject} is empty (no instruments)")
            continue
        in_this_class: set[str] = set()
        for instrument in asset_class.instruments:
            ticker = instrument.ticker
            if not is_valid_ticker(ticker):
                problems.append(
                    f"{here} ticker {ticker!r} is malformed (expected 6 digits, or Q + 6 digits for an ETN)")
            elif not _is_known(ticker, known_tickers):
                problems.append(f"{here} ticker {ticker} is not a known instrument")
            if ticker in in_this_class:
                problems.append(f"{here} ticker {ticker} is listed twice")
            elif ticker in home_of:
                problems.append(f'{here} ticker {ticker} is also in class "{home_of[ticker]}"')
            in_this_class.add(ticker)
            home_of.setdefault(ticker, asset_class.name)
            if not math.isfinite(instrument.weight):
                problems.append(f"{here} ticker {ticker} weight {instrument.weight} is not a number")
            elif instrument.weight < 0 and form == "mp":
                problems.append(f"{here} ticker {ticker} weight {pct(instrument.weight)} is negative")
        if check_sums and form == "mp" and all(math.isfinite(i.weight) for i in asset_class.instruments):
            total = sum(i.weight for i in asset_class.instruments)
            if abs(total - 1.0) > tolerance:
                problems.append(f"{here} instrument weights sum to {pct(total)} (expected 100%)")
    if check_sums and all(math.isfinite(c.weight) for c in classes):
        total = sum(c.weight for c in classes)
        if abs(total - 1.0) > tolerance:
            what = "weights" if form == "flat" else "class weights"
            problems.append(f"{source}: {what} sum to {pct(total)} (expected 100%)")
    return problems


def _rescaled(classes: Sequence[AssetClass]) -> tuple[AssetClass, ...]:
    """Class weights and each Sub-MP scaled to sum to 1 (sums of zero are left for validation)."""
    class_total = sum(c.weight for c in classes)
    out = []
    for asset_class in classes:
        inner_total = sum(i.weight for i in asset_class.instruments)
        instruments = tuple(
            i.model_copy(update={"weight": i.weight / inner_total}) if inner_total > 0 else i
            for i in asset_class.instruments)
        weight = asset_class.weight / class_total if class_total > 0 else asset_class.weight
        out.append(asset_class.model_copy(update={"weight": weight, "instruments": instruments}))
    return tuple(out)


def build_targets(
    classes: Sequence[AssetClass],
    *,
    source: str = "<memory>",
    form: Literal["mp", "flat"] = "mp",
    label: str = "",
    known_tickers: KnownTickers = None,
    normalise: bool = False,
) -> Targets:
    """Validate and build ``Targets``; raises ``TargetsError`` listing every problem.

    ``normalise=True`` rescales sums that are off 100% (negative weights are still errors).
    """
    problems = check_classes(classes, source, form=form, known_tickers=known_tickers, check_sums=not normalise)
    if problems:
        raise TargetsError(problems)
    if normalise:
        classes = _rescaled(classes)
        problems = check_classes(classes, source, form=form)
        if problems:
            raise TargetsError(problems)
    return Targets(classes=tuple(classes), form=form, source=source, label=label)


def flat_classes(weights: Sequence[tuple[str, float, str]], *, cash_weight: float | None = None) -> list[AssetClass]:
    """The flat form (ticker, weight, name) as one class per ticker, plus a cash class if given."""
    classes = [AssetClass(name=ticker, weight=weight,
                          instruments=(InstrumentTarget(ticker=ticker, weight=1.0, name=name),))
               for ticker, weight, name in weights]
    if cash_weight is not None:
        classes.append(AssetClass(name="cash", weight=cash_weight, is_cash=True))
    return classes


def targets_from_weights(
    weights: dict[str, float], *, source: str = "<memory>", known_tickers: KnownTickers = None,
    normalise: bool = False,
) -> Targets:
    """Flat targets from ``{ticker: fraction}``; the key ``"cash"`` (any case) is the cash class."""
    cash = next((w for t, w in weights.items() if t.lower() == "cash"), None)
    rows = [(t, w, "") for t, w in weights.items() if t.lower() != "cash"]
    return build_targets(flat_classes(rows, cash_weight=cash), source=source, form="flat",
                         known_tickers=known_tickers, normalise=normalise)
