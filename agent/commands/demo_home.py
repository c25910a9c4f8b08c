"""The demo's working folder: cleared before each demo, and only of what an earlier demo made there.

``rebal demo --home DIR`` runs in a folder it created. It leaves a marker listing the entries it
made; the next demo removes exactly those. A folder without the marker that holds anything is
refused: the demo never deletes what it did not make (``--home ~`` or ``~/.rebal`` stay intact).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tools.private import private_dir, write_private_text

DEMO_MARKER = ".rebal-demo"  # in a demo home: the entries the demo made there (JSON list of names)


def clear_demo_home(home: Path) -> str | None:
    """Empty ``home`` of what an earlier demo made there, so the demo starts fresh; None when done,
    else why not. Only a folder the demo created (it holds the marker) is touched, and in it only
    the entries the marker lists: anything else, and any other folder, is never deleted."""
    if not home.exists():
        return None
    if not home.is_dir():
        return f"{home} is a file, not a demo folder"
    marker = home / DEMO_MARKER
    if not marker.is_file():
        if any(home.iterdir()):
            return (f"{home} was not made by `rebal demo` (no {DEMO_MARKER} in it): the demo will not touch it. "
                    "Give --home a new or empty folder")
        return None
    try:
        made = [name for name in json.loads(marker.read_text(encoding="utf-8")) if isinstance(name, str)]
    except (OSError, ValueError):
        return f"{marker} cannot be read: remove the folder yourself or give --home a new folder"
    for name in made:
        entry = home / name
        if name in ("", ".", "..") or entry.parent != home or not (entry.exists() or entry.is_symlink()):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return None


def mark_demo_home(home: Path, before: set[str]) -> None:
    """Record the entries this demo made in ``home`` (those not there before it ran); the folder
    itself is created 0700 when missing."""
    private_dir(home)
    earlier: list[str] = []
    marker = home / DEMO_MARKER
    if marker.is_file():
        try:
            earlier = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            earlier = []
    made = sorted({*earlier, *(p.name for p in home.iterdir() if p.name not in before)} - {DEMO_MARKER})
    write_private_text(marker, json.dumps(made))
