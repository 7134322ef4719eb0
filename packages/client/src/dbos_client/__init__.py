"""dbos_client: management of durable workflows from outside the app (in progress)."""

from __future__ import annotations

__all__: list[str] = []
