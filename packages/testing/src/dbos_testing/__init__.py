"""dbos_testing: a pytest plugin for dbos (test databases, conformance suite).

Installed with ``pip install dbos-testing``; pytest loads it automatically.
"""

from __future__ import annotations

from ._storage import storage_for_url

__all__ = ["storage_for_url"]
