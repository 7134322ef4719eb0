"""The plugin system (pluggy, project name ``dbos``), public for plugins and tools.

`plugin_manager()` is the process-wide manager: register an object whose methods carry
`hookimpl` to observe or steer the engine (the hooks and their arguments are in
``dbos._hookspecs``: storage discovery, workflow start and end, steps, checkpoints, storage
calls). `Hooks` calls them with keyword arguments; core skips a hook no plugin implements.
`backend_for_url(url, options)` finds the backend for a URL, as `DBOS.launch()`, `DBOSClient` and
the ``dbos`` command do: the installed plugins alone decide which URLs work.
`BackendForTests` and `DatabasesForTests` are what a backend returns from
``dbos_test_backends`` to give test suites (``dbos-testing``) its test databases.
`install_hint(requirement)` is the one way to tell users what to install
(``pip install 'dbos-postgres'``), for plugins and tools as for this project's packages.
"""

from __future__ import annotations

from .._base.install import install_hint
from ._hooks import Hooks, backend_for_url, broken_plugins, plugin_manager
from ._hookspecs import hookimpl
from ._testdb import BackendForTests, DatabasesForTests

__all__ = [
    "BackendForTests",
    "DatabasesForTests",
    "Hooks",
    "broken_plugins",
    "hookimpl",
    "install_hint",
    "backend_for_url",
    "plugin_manager",
]
