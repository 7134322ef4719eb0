"""The status-origins conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.status_origins import *  # noqa: F403
