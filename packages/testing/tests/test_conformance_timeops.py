"""The time-moving conformance suite (rewind, set_workflow_delay), on every selected
backend."""

from __future__ import annotations

from dbos_testing.conformance.timeops import *  # noqa: F403
