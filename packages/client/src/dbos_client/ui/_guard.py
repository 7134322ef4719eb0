"""Who may act: the dashboard's token, read-only mode and request-origin rules.

Reading pages needs nothing. Actions (cancel, resume, fork, delete) are refused in read-only
mode, and need the token whenever there is one: always when the server is bound to a
non-loopback address (a token is generated if none was given), and on loopback only when
one was given. A browser holds the token in an HttpOnly, SameSite=Strict cookie set by
``/login``; scripts may send it in the ``X-DBOS-UI-Token`` header. Tokens are compared in
constant time. Every action must also come from the dashboard's own pages (an Origin header,
when the browser sends one, naming the host the request was sent to), and on loopback the
Host header must be a loopback name, so that another web site, or a DNS name rebound to
127.0.0.1, cannot drive the dashboard from a visitor's browser.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

COOKIE = "dbos_ui_token"
HEADER = "x-dbos-ui-token"
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """Whether binding to `host` serves this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A random token for a dashboard bound beyond loopback (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Guard:
    """The dashboard's access rules: `token` None means actions need none (loopback only)."""

    token: str | None
    read_only: bool
    loopback: bool

    @classmethod
    def for_binding(cls, host: str, token: str | None, read_only: bool) -> Guard:
        """The rules for a server bound to `host`: beyond loopback a token is required, and
        one is generated when none is given (`token` shows it, to print at start)."""
        loopback = is_loopback(host)
        if token is not None and not token.strip():
            raise ValueError("--token must not be empty")
        if token is None and not loopback and not read_only:
            token = new_token()
        return cls(token=token, read_only=read_only, loopback=loopback)

    def token_matches(self, given: str | None) -> bool:
        """Constant-time comparison with the configured token (True when there is none)."""
        if self.token is None:
            return True
        if not given:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    def host_allowed(self, request: Request) -> bool:
        """On loopback, only requests addressed to a loopback name (DNS rebinding)."""
        if not self.loopback:
            return True
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        return name.lower() in _LOOPBACK_NAMES

    def action_refusal(self, request: Request) -> str | None:
        """Why an action request is refused (None: allowed)."""
        if self.read_only:
            return "this dashboard is read-only: actions are turned off"
        origin = request.headers.get("origin")
        if origin is not None and origin != "null":
            if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
                return "the request came from another site"
        elif origin == "null":
            return "the request came from another site"
        given = request.headers.get(HEADER) or request.cookies.get(COOKIE)
        if not self.token_matches(given):
            return "a valid token is required for actions: open the /login page"
        return None

    def can_act(self, request: Request) -> bool:
        """Whether the pages should offer actions to this browser."""
        if self.read_only:
            return False
        return self.token_matches(request.cookies.get(COOKIE))
