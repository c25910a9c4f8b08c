"""The executor: exactly-once order placement with a journal, sells before buys, reconciliation."""
