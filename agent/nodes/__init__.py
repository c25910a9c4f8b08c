"""The graph's nodes, one per file, named for what they do (see agent/graph.py for the wiring)."""
