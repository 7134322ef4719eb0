"""The bulk and idempotent send conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.bulk_messages import *  # noqa: F403
