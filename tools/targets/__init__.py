"""Model portfolio targets: MP of asset classes with Sub-MPs, or a flat ticker → weight form."""

from tools.targets.load import (
    TargetDecision,
    decision_history,
    full_path,
    latest_decision,
    load_csv,
    load_latest_decision,
    load_payload,
    load_targets,
    load_toml,
    parse_csv,
    parse_toml,
    record_decision,
)
from tools.targets.models import AssetClass, InstrumentTarget, Targets, TargetsError
from tools.targets.validate import build_targets, check_classes, targets_from_weights

__all__ = [
    "AssetClass",
    "InstrumentTarget",
    "TargetDecision",
    "Targets",
    "TargetsError",
    "build_targets",
    "check_classes",
    "decision_history",
    "full_path",
    "latest_decision",
    "load_csv",
    "load_latest_decision",
    "load_payload",
    "load_targets",
    "load_toml",
    "parse_csv",
    "parse_toml",
    "record_decision",
    "targets_from_weights",
]
