"""The pluggy markers of the ``dbos`` project: `hookspec` for core's hook specifications
(`dbos.plugins`), `hookimpl` for plugins and backends. In the base room so that the backend
kit (`dbos.storage`) can offer `hookimpl` without importing the plugin manager."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "dbos"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
