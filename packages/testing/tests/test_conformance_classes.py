"""The class-workflow conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.classes import *  # noqa: F403
