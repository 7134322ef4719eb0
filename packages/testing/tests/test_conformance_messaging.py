"""The messaging conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.messaging import *  # noqa: F403
