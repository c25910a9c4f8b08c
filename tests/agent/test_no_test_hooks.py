"""No test hook in the code that trades: nothing in agent/, tools/ or paper/ kills its own process or
reads a crash switch. Crash tests hook their points from outside (``tests/support/faultpoints.py``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "tools", "paper")
FORBIDDEN = ("REBAL_CRASH", "crash_point", "os.kill(", "signal.SIGKILL")


def _sources(root: Path = ROOT) -> list[Path]:
    return sorted(p for package in PACKAGES for p in (root / package).rglob("*.py"))


def _hooks(root: Path = ROOT) -> list[str]:
    return [f"{path.relative_to(root)}:{number}: {line.strip()}"
            for path in _sources(root)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if any(word in line for word in FORBIDDEN)]


def test_the_scan_sees_the_production_code():
    files = _sources()
    assert len(files) > 50, f"only {len(files)} files under {', '.join(PACKAGES)}: the scan looks in the wrong place"
    for package in PACKAGES:
        assert any(p.is_relative_to(ROOT / package) for p in files), f"no .py file under {package}/"
    assert ROOT / "agent" / "executor" / "broker_orders.py" in files


def test_no_crash_hook_or_self_kill_in_production_code():
    found = _hooks()
    assert not found, "test hooks in production code:\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_hook(tmp_path):
    lines = ['AT = os.environ.get("REBAL_CRASH_AT")', 'crash_point("after_send")', "os.kill(os.getpid(), 9)",
             "signal.raise_signal(signal.SIGKILL)"]
    for number, line in enumerate(lines):
        package = tmp_path / PACKAGES[number % len(PACKAGES)] / "deep"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"m{number}.py").write_text(f"import os\nimport signal\n\n{line}\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "ok.py").write_text('crash_point("outside the packages")\n', encoding="utf-8")
    assert len(_hooks(tmp_path)) == len(lines)
