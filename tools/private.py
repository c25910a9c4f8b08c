"""Everything Rebal and its paper exchange write is private: folders 0700, files 0600.

The command line sets the process umask to 077 at start-up (``restrict_umask``), so whatever any
library creates is private too; the helpers here also set the modes explicitly where Rebal creates
a file or folder, so code used as a library (tests, notebooks) writes private files as well.
SQLite gives a database's ``-wal``/``-shm``/``-journal`` companions the database file's own mode,
so a database created 0600 keeps them 0600.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_COMPANIONS = ("-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """New files 0600 and folders 0700 for the rest of this process."""
    os.umask(0o077)


def private_dir(path: Path | str, *, own: bool = False) -> Path:
    """``path`` as a folder, each folder created here 0700. ``own``: the folder is Rebal's (its home,
    its transcripts), so an existing one is made 0700 too; anyone else's is left as it is."""
    path = Path(path)
    missing = []
    cursor = path
    while not cursor.exists():
        missing.append(cursor)
        cursor = cursor.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile
            folder.mkdir(mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is masked by the umask
    if own and path.is_dir():
        os.chmod(path, FOLDER_MODE)
    return path


def private_file(path: Path | str) -> Path:
    """``path`` exists as a file of mode 0600 (created empty when missing); its folder is made as
    ``private_dir`` makes folders. Writing into it afterwards (truncating or appending) keeps the mode."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def private_db(path: Path | str) -> str:
    """A SQLite database path ready to open: the file 0600 before SQLite touches it, and companions
    left 0644 by an earlier version made 0600. ``:memory:`` is returned as it is."""
    if str(path) == ":memory:":
        return ":memory:"
    path = private_file(path)
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, FILE_MODE)
    return str(path)


def write_private_text(path: Path | str, text: str) -> Path:
    """Replace ``path``'s content with ``text`` atomically; the file is 0600 throughout."""
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, path)
    return path
