"""The one place that talks to the HiGHS solver (``highspy``, HiGHS's own Python binding).

Both formulations (``milp.py``, ``windows.py``) hand it a model as arrays: costs, column bounds
and kinds, and the constraint rows as (row, column, value) triplets with row bounds. highspy
rather than ``scipy.optimize.milp`` (the same solver underneath): importing scipy.optimize costs
about 0.75 s per process, most of ``rebal run``'s start-up budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs

# Column kinds, as HiGHS numbers them.
CONTINUOUS, INTEGER, SEMI_INTEGER = 0, 1, 3


@dataclass(frozen=True)
class Rows:
    """Sparse constraint rows ``lower ≤ A·x ≤ upper`` from (row, column, value) triplets."""

    row: np.ndarray
    column: np.ndarray
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class Solved:
    x: np.ndarray | None  # None when HiGHS has no feasible point
    status: str
    optimal: bool


def solve(cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray, kind: np.ndarray, rows: Rows, *,
          time_limit: float, mip_rel_gap: float) -> Solved:
    """Minimise ``cost·x`` over the rows and column bounds; ``kind`` holds one of the kinds above per column."""
    # The bare binding, not ``highspy.Highs``: that wrapper's constructor already calls into HiGHS,
    # which prints its banner to the terminal before ``output_flag`` can be switched off.
    highs = _Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    highs.setOptionValue("presolve", "on")

    model = highspy.HighsLp()
    model.num_col_ = len(cost)
    model.num_row_ = len(rows.lower)
    model.col_cost_ = np.asarray(cost, dtype=float)
    model.col_lower_ = np.asarray(col_lower, dtype=float)
    model.col_upper_ = np.asarray(col_upper, dtype=float)
    model.row_lower_ = np.asarray(rows.lower, dtype=float)
    model.row_upper_ = np.asarray(rows.upper, dtype=float)
    keep = rows.value != 0
    row, column, value = rows.row[keep], rows.column[keep], rows.value[keep]
    order = np.lexsort((column, row))
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.num_col_ = len(cost)
    model.a_matrix_.num_row_ = len(rows.lower)
    model.a_matrix_.start_ = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=len(rows.lower)))])
    model.a_matrix_.index_ = np.asarray(column, dtype=np.int32)[order]
    model.a_matrix_.value_ = np.asarray(value, dtype=float)[order]
    model.integrality_ = [highspy.HighsVarType(int(k)) for k in kind]
    highs.passModel(model)
    highs.run()

    model_status = highs.getModelStatus()
    status = f"HiGHS: {highs.modelStatusToString(model_status)}"
    if highs.getInfo().primal_solution_status != highspy.kSolutionStatusFeasible:
        return Solved(x=None, status=status, optimal=False)
    x = np.asarray(highs.getSolution().col_value, dtype=float)
    return Solved(x=x, status=status, optimal=model_status == highspy.HighsModelStatus.kOptimal)
