"""Reading a person's text file (a config, a targets file): UTF-8 with or without a BOM, and a
message naming the whole path and what to do when it cannot be read."""

from __future__ import annotations

from pathlib import Path


class TextFileError(ValueError):
    """The file cannot be read as text; the message names its full path and what to do."""


def read_text_file(path: Path | str, what: str = "file") -> str:
    """The file's text. UTF-8 (a BOM, as spreadsheets write, is dropped); a file in CP949 (as
    Korean Excel and Notepad save) or another encoding is refused with a "save as UTF-8" hint."""
    path = Path(path)
    where = str(path.expanduser().resolve())
    try:
        raw = path.expanduser().read_bytes()
    except FileNotFoundError:
        raise TextFileError(f"{where}: no such {what}") from None
    except IsADirectoryError:
        raise TextFileError(f"{where}: is a folder, not a {what}") from None
    except OSError as error:
        raise TextFileError(f"{where}: cannot read this {what} ({error.strerror or error})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TextFileError(f"{where}: this {what} is saved as UTF-16; save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp949")
    except UnicodeDecodeError:
        raise TextFileError(f"{where}: this {what} is not UTF-8 text; save it as UTF-8") from None
    raise TextFileError(f"{where}: this {what} looks like CP949 (as Korean Excel saves it), not UTF-8; "
                        "save it as UTF-8 (in Excel: CSV UTF-8)")
