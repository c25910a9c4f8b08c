"""Following a run while it executes: the board of order slices (``board``), read from the run's
transcript as it is written (``follow``), shown live in a terminal (``screen``) or as one line per
event for headless runs and machines (``lines``)."""
