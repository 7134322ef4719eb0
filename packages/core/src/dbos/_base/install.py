"""The one way this project tells users to install something: the exact pip command, each
requirement in single quotes (``pip install 'dbos-postgres'``, ``pip install
'dbos-client[ui]'``), and one sentence shape for "this needs a package that is missing"."""

from __future__ import annotations


def install_hint(*requirements: str) -> str:
    """The pip command that installs `requirements`: ``pip install 'dbos-core[otel]'``.

    Quoted so that a shell does not expand the brackets of an extra.
    """
    if not requirements:
        raise ValueError("install_hint needs at least one requirement")
    return "pip install " + " ".join(f"'{requirement}'" for requirement in requirements)


def needs_install(feature: str, missing: str, *requirements: str) -> str:
    """The message for `feature` when `missing` cannot be imported: ``the dashboard needs
    starlette, which is not installed: pip install 'dbos-client[ui]'``."""
    return f"{feature} needs {missing}, which is not installed: {install_hint(*requirements)}"
