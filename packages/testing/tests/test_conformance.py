"""The storage conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.storage import *  # noqa: F403
