"""Backtests on the live engine: price panels, the fill model, the daily loop, metrics, reports, tuning."""
