"""The noxfile's test matrix runs its pytest runs side by side, each into a log file, and
still reports every run's closing line and every failure."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Two runs that can only both pass if they run at the same time: each leaves a marker and
# waits for the other's. One after the other, the first would give up and fail.
RENDEZVOUS = """
import pathlib, sys, time
here, other = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
here.touch()
deadline = time.monotonic() + 60
while not other.exists():
    if time.monotonic() > deadline:
        print("alone: the other run never started")
        sys.exit(1)
    time.sleep(0.01)
print(f"==== 1 passed ({here.name} met {other.name}) ====")
"""


@pytest.fixture(scope="module")
def noxfile() -> ModuleType:
    pytest.importorskip("nox")
    spec = importlib.util.spec_from_file_location("dbos_noxfile", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dbos_noxfile"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_runs_go_side_by_side_and_each_reports_its_closing_line(
    noxfile: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "rendezvous.py"
    script.write_text(RENDEZVOUS)
    a, b = tmp_path / "a", tmp_path / "b"
    runs = [
        noxfile.Run("A", [sys.executable, str(script), str(a), str(b)], {}, tmp_path / "a.log"),
        noxfile.Run("B", [sys.executable, str(script), str(b), str(a)], {}, tmp_path / "b.log"),
        noxfile.Run("C", [sys.executable, "-c", "print('boom'); exit(3)"], {}, tmp_path / "c.log"),
    ]
    said: list[str] = []
    failed = noxfile.run_side_by_side(runs, 2, dict(os.environ), said.append)
    assert failed == ["C"]
    out = capsys.readouterr().out
    assert "==== 1 passed (a met b) ====" in out
    assert "==== 1 passed (b met a) ====" in out
    assert "boom" in out  # a failed run's log is printed
    assert (tmp_path / "a.log").read_text().startswith("==== 1 passed")
    assert any(line.startswith("=== C: FAILED (exit code 3)") for line in said)
    assert sum("started" in line for line in said) == 3


def test_the_default_is_more_than_one_run_at_a_time(
    noxfile: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBOS_TEST_JOBS", raising=False)
    assert noxfile._jobs(None) >= 2
    monkeypatch.setenv("DBOS_TEST_JOBS", "1")
    assert noxfile._jobs(None) == 1
