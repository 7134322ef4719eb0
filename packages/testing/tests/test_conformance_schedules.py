"""The stored-schedule conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.schedules import *  # noqa: F403
