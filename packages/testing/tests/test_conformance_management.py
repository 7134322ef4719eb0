"""The management conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.management import *  # noqa: F403
