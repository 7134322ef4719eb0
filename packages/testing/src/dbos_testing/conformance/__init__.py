"""Conformance suites every storage backend must pass."""

from __future__ import annotations
