"""Model portfolio (MP) of asset classes, each with a Sub-MP of instruments.

Weights are fractions (0.4 = 40%). A class's instrument weights are *within* the class and sum
to 1; the class weights sum to 1. The flat form (ticker → weight) is stored as one class per
ticker so drift and netting see a single shape. Cash is an explicit class with no instruments.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

SUM_TOLERANCE = 1e-6


class TargetsError(ValueError):
    """Invalid target portfolio; ``problems`` lists every problem found, each naming file/class/ticker."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid targets")


class InstrumentTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ticker: str
    weight: float  # within its class
    name: str = ""


class AssetClass(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    weight: float  # of the whole portfolio
    instruments: tuple[InstrumentTarget, ...] = ()
    is_cash: bool = False


class Targets(BaseModel):
    """A validated target portfolio. Build it with ``tools.targets.load_*`` or ``build_targets``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: tuple[AssetClass, ...]
    form: Literal["mp", "flat"] = "mp"
    source: str = Field(default="<memory>", description="file or table the targets came from")
    label: str = ""
    units: Literal["percent", "fraction", ""] = Field(
        default="", description="how the file wrote its weights (the model always holds fractions)")
    notes: tuple[str, ...] = Field(default=(), description="what the loader assumed, for the person to see")

    @model_validator(mode="before")
    @classmethod
    def _drop_dumped_version(cls, data: object) -> object:
        # ``version`` is computed from the content; a dump carries it, re-validation recomputes it.
        if isinstance(data, dict) and "version" in data:
            data = {k: v for k, v in data.items() if k != "version"}
        return data

    @model_validator(mode="after")
    def _invariants(self) -> Targets:
        from tools.targets.validate import check_classes  # validate imports this module

        problems = check_classes(self.classes, self.source)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- views ------------------------------------------------------------------------------

    @computed_field  # type: ignore[prop-decorator]
    @property
    def version(self) -> str:
        """Content hash of the economic content (classes, tickers, weights); names, the source, the
        units the file used and the loader's notes do not count."""
        canonical = sorted(
            [c.name, c.is_cash, round(c.weight, 12),
             sorted([i.ticker, round(i.weight, 12)] for i in c.instruments)]
            for c in self.classes
        )
        digest = hashlib.sha256(json.dumps([self.form, canonical], separators=(",", ":")).encode())
        return digest.hexdigest()[:16]

    def flat(self) -> dict[str, float]:
        """``ticker → portfolio weight`` (class weight × weight within class), cash excluded."""
        return {i.ticker: c.weight * i.weight for c in self.classes for i in c.instruments}

    @property
    def cash_weight(self) -> float:
        return sum(c.weight for c in self.classes if c.is_cash)

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(i.ticker for c in self.classes for i in c.instruments)

    def class_of(self, ticker: str) -> AssetClass | None:
        for asset_class in self.classes:
            if any(i.ticker == ticker for i in asset_class.instruments):
                return asset_class
        return None

    def names(self) -> dict[str, str]:
        return {i.ticker: i.name for c in self.classes for i in c.instruments if i.name}

    def to_payload(self) -> dict:
        """JSON-plain form (fractions) used by the decisions table; ``load_payload`` reads it back."""
        return {
            "form": self.form,
            "label": self.label,
            "units": "fraction",
            "classes": [
                {"name": c.name, "weight": c.weight, "cash": c.is_cash,
                 "instruments": [{"ticker": i.ticker, "weight": i.weight, "name": i.name}
                                 for i in c.instruments]}
                for c in self.classes
            ],
        }
