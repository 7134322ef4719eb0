"""dbos_postgres."""

from __future__ import annotations
