"""The fork options conformance suite, on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.fork_options import *  # noqa: F403
