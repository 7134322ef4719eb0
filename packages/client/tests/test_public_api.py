"""The public names of dbos_client."""

from __future__ import annotations

import dbos_client


def test_public_names_are_pinned() -> None:
    # Adding or removing a public name is an API change: update this list on purpose.
    assert dbos_client.__all__ == [
        "DBOSClient",
        "DebouncerClient",
        "EnqueueCall",
        "EnqueueOptions",
        "SendMessage",
        "StepInfo",
        "UnreadableValue",
    ]
    for name in dbos_client.__all__:
        assert hasattr(dbos_client, name), name


def test_ui_names_are_pinned() -> None:
    import pytest

    pytest.importorskip("starlette", reason="the dbos-client[ui] extra is not installed")
    import dbos_client.ui

    assert dbos_client.ui.__all__ == ["Guard", "Reader", "create_app", "serve"]
