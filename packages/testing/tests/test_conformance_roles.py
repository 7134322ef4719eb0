"""The roles conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.roles import *  # noqa: F403
