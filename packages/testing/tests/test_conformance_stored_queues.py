"""The stored-queue conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.stored_queues import *  # noqa: F403
