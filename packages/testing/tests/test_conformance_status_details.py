"""The status-details conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.status_details import *  # noqa: F403
