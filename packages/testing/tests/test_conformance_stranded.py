"""The stranded-work conformance suite (stranded listing, counts, moves), on every selected
backend."""

from __future__ import annotations

from dbos_testing.conformance.stranded import *  # noqa: F403
