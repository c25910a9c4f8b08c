"""A run carries its inputs: the configuration it started with, kept in its checkpointed state.

``rebal runs resume RUN_ID`` continues a run with *that* configuration, wherever it is typed: the
working directory's ``rebal.toml`` (or ``-c``) only locates the checkpoint store. Paths in the
stored configuration are absolute, so they mean the same files from any directory. A ``-c`` that
names another file, or the same file changed since, is refused; so is a targets file whose
content changed since the run started (that would be another rebalance).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agent.config import DEFAULT_CONFIG, RebalConfig


class ConfigMismatch(ValueError):
    """A run cannot continue with this configuration; the message says why and what to do."""


def config_source(path: Path | None) -> Path | None:
    """The file a configuration was loaded from (``load_config``'s rule), absolute; None for the defaults."""
    if path is None:
        path = DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None
    return None if path is None else _absolute(path, Path.cwd())


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def absolute_config(config: RebalConfig, base: Path | None = None) -> RebalConfig:
    """``config`` with every relative path (targets, home, transcripts, ...) made absolute against
    ``base`` (default: the working directory, which is what relative paths mean while running)."""
    base = base or Path.cwd()
    updates: dict[str, BaseModel] = {}
    for name in type(config).model_fields:
        section = getattr(config, name)
        if not isinstance(section, BaseModel):
            continue
        paths = {field: _absolute(value, base) for field in type(section).model_fields
                 if isinstance(value := getattr(section, field), Path)}
        if any(paths[field] != getattr(section, field) for field in paths):
            updates[name] = section.model_copy(update=paths)
    return config.model_copy(update=updates) if updates else config


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def targets_file(config: RebalConfig) -> Path | None:
    """The targets file a run reads (``fetch_targets``' order: a strategy, then a decisions table, then the file)."""
    section = config.targets
    return section.file if section.strategy_file is None and section.decisions_db is None else None


def config_dump(config: RebalConfig) -> dict[str, Any]:
    """The config as JSON-plain values that load back into the same config. Clock times are
    written "HH:MM" as a config file has them (the sections' validators read that form)."""
    dump = config.model_dump(mode="json")
    for name in type(config).model_fields:
        section = getattr(config, name)
        if not isinstance(section, BaseModel):
            continue
        for field in type(section).model_fields:
            value = getattr(section, field)
            if isinstance(value, dt.time) and not (value.second or value.microsecond):
                dump[name][field] = value.strftime("%H:%M")
    return dump


def run_inputs(config: RebalConfig, source: Path | None) -> dict[str, Any]:
    """What a run records about its inputs (JSON-plain, for the checkpointed state): the config with
    absolute paths, the file it came from and that file's digest, the targets file and its version."""
    from tools.targets import load_targets

    config = absolute_config(config)
    file = targets_file(config)
    try:
        version = load_targets(file).version if file is not None else None
    except Exception:  # unreadable targets stop the run in fetch_targets, with the reason
        version = None
    return {"config": config_dump(config), "config_path": str(source) if source else None,
            "config_sha256": _digest(source) if source is not None and source.is_file() else None,
            "targets_file": str(file) if file is not None else None, "targets_version": version}


def stored_inputs(runs_db: Path, run_id: str) -> dict[str, Any] | None:
    """The inputs run ``run_id`` recorded when it started (None: a run from before they were
    recorded). Raises KeyError when the checkpoint store has no such run."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    if not runs_db.exists():
        raise KeyError(run_id)
    conn = sqlite3.connect(str(runs_db), check_same_thread=False)
    try:
        found = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": run_id, "checkpoint_ns": ""}})
    finally:
        conn.close()
    if found is None:
        raise KeyError(run_id)
    return found.checkpoint["channel_values"].get("inputs")


def stored_config(run_id: str, inputs: dict[str, Any]) -> RebalConfig:
    try:
        return RebalConfig.model_validate(inputs["config"])
    except ValidationError as error:
        raise ConfigMismatch(f"run {run_id} was started with a configuration this version of Rebal cannot read "
                             f"({error.error_count()} problem(s)); start a new run") from None


def check_resume(run_id: str, inputs: dict[str, Any] | None, config: RebalConfig) -> None:
    """Refuse to continue run ``run_id`` with ``config`` unless it is the configuration the run
    started with, and its targets file still holds the targets the run started with."""
    if inputs is None:
        return  # recorded before runs carried their inputs: nothing to compare
    if stored_config(run_id, inputs) != absolute_config(config):
        raise ConfigMismatch(f"run {run_id} started with another configuration "
                             f"({inputs.get('config_path') or 'not from a file'}); resume it with that one "
                             f"(`rebal runs resume {run_id}` without -c uses it)")
    file = inputs.get("targets_file")
    if file and inputs.get("targets_version"):
        from tools.targets import load_targets

        try:
            version = load_targets(Path(file)).version
        except Exception as error:
            raise ConfigMismatch(f"run {run_id}'s targets file {file} cannot be read any more ({error}); "
                                 "start a new run") from None
        if version != inputs["targets_version"]:
            raise ConfigMismatch(f"the targets file {file} changed since run {run_id} started (version "
                                 f"{inputs['targets_version'][:12]} → {version[:12]}); start a new run for the new "
                                 "targets (`rebal run`)")


def resume_config(config: RebalConfig, run_id: str, given: Path | None) -> tuple[RebalConfig, Path | None, str]:
    """The configuration run ``run_id`` continues with, the file it came from, and a line saying so.

    ``config`` (the working directory's, or ``given`` with ``-c``) only locates the checkpoint
    store. Without ``-c`` the run's own configuration is used; a ``-c`` naming another file, or the
    same file with other content, raises ``ConfigMismatch``. KeyError: no such run.
    """
    inputs = stored_inputs(config.runs_db, run_id)
    source = config_source(given)
    if inputs is None:
        return config, source, (f"run {run_id} recorded no configuration (it predates that); resuming with "
                                f"{source or 'the default configuration'}")
    stored = stored_config(run_id, inputs)
    started_with = inputs.get("config_path")
    if given is not None:
        if started_with is None:
            raise ConfigMismatch(f"run {run_id} was not started from a configuration file; resume it without -c "
                                 "(it continues with the configuration stored with it)")
        if str(source) != started_with:
            raise ConfigMismatch(f"run {run_id} started with {started_with}, not {source}; resume it without -c "
                                 "(it continues with the configuration it started with) or with that file")
        if source is None or not source.is_file() or _digest(source) != inputs.get("config_sha256"):
            raise ConfigMismatch(f"{source} changed since run {run_id} started; resume it without -c (it continues "
                                 "with the configuration it started with) or start a new run")
    check_resume(run_id, inputs, stored)
    where = started_with or "the configuration stored with the run (it was not started from a file)"
    return stored, Path(started_with) if started_with else None, \
        f"resuming with the configuration the run started with: {where}"
