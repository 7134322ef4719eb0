"""examples/observability.py runs: the health endpoint answers, the workflow enqueued inside
an app span joins its trace, and the stand-in collector receives the spans as a tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_observability_example_runs(dbos_system_database_url: str) -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "observability.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "health: {'status': 'healthy'}" in out
    assert "result: reserved book, charged 12" in out
    assert "ended: {'place_order': {'SUCCESS': 1}}" in out
    assert "collector received 4 spans:" in out
    tree = out.split("spans:\n", 1)[1].splitlines()
    assert tree == [
        "  POST /orders",
        "    place_order",
        "      reserve_stock",
        "      charge_card",
    ]
