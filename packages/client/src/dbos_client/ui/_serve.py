"""Start the dashboard: build the app over a client and serve it with uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn

from .._client import DBOSClient
from ._app import create_app
from ._guard import Guard
from ._reading import Reader


def serve(
    client: DBOSClient,
    host: str,
    port: int,
    token: str | None,
    read_only: bool,
    say: Callable[[str], None] = print,
) -> None:
    """Serve the dashboard over `client` on `host`:`port` until interrupted. Says where it
    listens and, when actions need a token, the token (generated when none was given, since
    a dashboard bound beyond loopback never acts without one). Never says the database
    password: the header shows the URL without it."""
    guard = Guard.for_binding(host, token, read_only)
    app = create_app(Reader(client), guard, client.storage.url_for_display)
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    say(f"DBOS dashboard for {client.storage.url_for_display} at {base}/")
    if read_only:
        say("read-only: actions are turned off")
    elif guard.token is not None:
        if token is None:
            say(f"actions need this generated token; log in at {base}/login?token={guard.token}")
        else:
            say(f"actions need the token given with --token; log in at {base}/login")
    uvicorn.run(app, host=host, port=port, log_level="warning")
