"""Start the dashboard: build the app over a client and serve it with uvicorn."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from dbos import DBOSException

from .._client import DBOSClient
from ._app import create_app
from ._guard import Guard
from ._reading import Reader


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host`:`port` (0: a free port the system picks).

    Raises:
        DBOSException: the address cannot be bound (taken, not this machine's, unknown name);
            the message names the address and the reason.
    """
    # As uvicorn picks it: IPv6 for an address with a colon, else IPv4 (a name such as
    # localhost then binds its IPv4 address, whatever order the resolver gives).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise DBOSException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


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
    password: the header shows the URL without it. The address is bound before anything is
    said, so the URL said is the one served (with the port the system picked for port 0).

    Raises:
        DBOSException: the address cannot be bound (see `listen`).
    """
    guard = Guard.for_binding(host, token, read_only)
    app = create_app(Reader(client), guard, client.storage.url_for_display)
    listening = listen(host, port)
    port = listening.getsockname()[1]
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
    with listening:
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listening])
