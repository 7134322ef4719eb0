"""dbos_testing: a pytest plugin for dbos (test databases, crash simulation, fault injection,
conformance suite).

Installed with ``pip install 'dbos-testing'``; pytest loads it automatically.
"""

from __future__ import annotations

from ._crash import CrashPlan, SimulatedCrash
from ._faults import FaultInjector, drop_connections
from ._intervals import most_at_once
from ._kill import KilledRun, kill_at_step
from ._spans import SpanCatcher, span_catcher
from ._storage import storage_for_url

__all__ = [
    "CrashPlan",
    "FaultInjector",
    "KilledRun",
    "SimulatedCrash",
    "SpanCatcher",
    "drop_connections",
    "kill_at_step",
    "most_at_once",
    "span_catcher",
    "storage_for_url",
]
