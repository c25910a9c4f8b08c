"""`rebal` that SIGKILLs itself at a named point of the execution (tests only).

    python tests/support/crashing_cli.py --crash-at after_send#2 run --auto-approve -c rebal.toml

installs ``support.faultpoints.kill_at(POINT)`` and runs ``agent.commands.cli.main()`` with the
rest of the arguments. Rebal's own code has no crash hook: this is the only way to get one.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "--crash-at":
        sys.exit("usage: crashing_cli.py --crash-at POINT[#n] <rebal arguments...>")
    point, rest = argv[1], argv[2:]
    # Run as a script, sys.path[0] is tests/support; `support.*` is imported from tests/ (as pytest
    # does, pythonpath = ["tests"]) and Rebal from the project root.
    for path in (str(TESTS.parent), str(TESTS)):
        if path not in sys.path:
            sys.path.insert(0, path)

    import pytest

    from agent.commands import cli
    from support import faultpoints

    faultpoints.kill_at(pytest.MonkeyPatch(), point)  # an unknown point: ValueError, not a run that never dies
    sys.argv = ["rebal", *rest]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
