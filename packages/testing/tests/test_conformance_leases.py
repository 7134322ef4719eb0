"""The liveness conformance suite (leases, owners, takeovers), on every selected backend."""

from __future__ import annotations

from dbos_testing.conformance.leases import *  # noqa: F403
