"""The application-version conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.versions import *  # noqa: F403
