"""The workflow-attributes conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.attributes import *  # noqa: F403
