"""Keeping database passwords out of messages, logs and tracebacks (ours; DBOS masks URLs too).

A Postgres connection string can carry a password in every form libpq accepts: the URL's
userinfo (``postgresql://u:pw@h/db``), a URL query parameter (``?password=pw``) and a
key/value string (``host=h password='p w'``); ``sslpassword`` is a secret as well. URLs are
taken apart with the standard library; key/value strings with psycopg's own conninfo parser
(`psycopg.conninfo.conninfo_to_dict`), imported lazily because core has no database driver:
only the Postgres backend (which brings psycopg) accepts such strings anyway.

Two tools: `mask_password` turns a connection string into one fit for display, and
`scrub_text` / `scrub_exception` remove the secrets of a connection string from any text, for
the driver messages (and chained causes) that echo it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

#: Connection parameters whose values are secret (libpq's names).
SECRET_KEYS = frozenset({"password", "sslpassword"})
#: What a secret is replaced with.
MASK = "***"
_HIDDEN = "<connection string hidden>"
# Only for strings psycopg cannot parse (or without psycopg): a best effort to still find the
# values, so that a malformed string's secret is scrubbed from a driver's message about it.
_LOOSE_SECRET = re.compile(r"\b(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE)


_URL_START = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")


def _is_url(dsn: str) -> bool:
    return _URL_START.match(dsn) is not None


def _conninfo_dict(dsn: str) -> dict[str, Any] | None:
    """psycopg's parse of `dsn`, or None (psycopg missing, or `dsn` malformed)."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # core without the Postgres backend: no key/value strings in use
        return None
    try:
        return dict(conninfo_to_dict(dsn))
    except Exception:  # psycopg.ProgrammingError for malformed strings; never fail to mask
        return None


def _userinfo_secrets(netloc: str) -> set[str]:
    """Every password a URL's authority may carry. With an unencoded ``@`` in the password
    parsers disagree (libpq splits at the first ``@``, Python at the last), so every
    candidate counts: the text after the first ``:`` up to each ``@``, and each piece
    between two ``@`` (what libpq would take for the host)."""
    found: set[str] = set()
    userinfo, at, _ = netloc.rpartition("@")
    if not at:
        return found
    pieces = userinfo.split("@")
    found.update(piece for piece in pieces[1:] if piece)
    for end in range(len(pieces)):
        candidate = "@".join(pieces[: end + 1])
        if ":" in candidate:
            found.add(candidate.split(":", 1)[1])
    return found


def _url_secrets(dsn: str) -> set[str]:
    found: set[str] = set()
    parts = urlsplit(dsn)
    found |= _userinfo_secrets(parts.netloc)
    if not parts.netloc:  # postgresql:///user:pw@host/db (see _mask_url)
        found |= _loose_userinfo_secrets(parts.path[1:])
    for segment in parts.query.split("&"):
        key, eq, value = segment.partition("=")
        if eq and unquote(key).strip().lower() in SECRET_KEYS:
            found.add(value)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.strip().lower() in SECRET_KEYS:
            found.add(value)
    return found


def password_secrets(dsn: str) -> frozenset[str]:
    """Every password `dsn` carries, as written and decoded (percent-encoding, quoting).

    Args:
        dsn: A database URL or a libpq key/value connection string; anything else gives
            nothing.

    Returns:
        The non-empty secret strings, for `scrub_text`.
    """
    if not isinstance(dsn, str) or not dsn:
        return frozenset()
    found: set[str] = set()
    try:
        if _is_url(dsn):
            found |= _url_secrets(dsn)
    except ValueError:  # refused by urlsplit (``[::1:5432``): its authority taken as text
        loose = _LOOSE_AUTHORITY.match(dsn)
        if loose is not None:
            found |= _userinfo_secrets(loose.group(2) + "@")
    parsed = _conninfo_dict(dsn)
    if parsed is not None:
        found |= {str(parsed[key]) for key in SECRET_KEYS if parsed.get(key)}
    elif not _is_url(dsn):
        found |= _loose_userinfo_secrets(dsn)
        for match in _LOOSE_SECRET.finditer(dsn):
            raw = match.group(1)
            found.add(raw)
            if raw.startswith("'"):
                found.add(raw.strip("'").replace("\\'", "'").replace("\\\\", "\\"))
    decoded = {unquote(secret) for secret in found}
    return frozenset(secret for secret in found | decoded if secret)


def _mask_url(dsn: str) -> str:
    parts = urlsplit(dsn)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and (":" in userinfo or "@" in userinfo):
        # Kept as text rather than through .hostname/.port, which refuse libpq's multi-host
        # form (h1:5432,h2:5432). The user name ends at the first ':' or '@' (an unencoded
        # '@' in the password: everything up to the last '@' may be secret).
        netloc = f"{re.split('[:@]', userinfo, maxsplit=1)[0]}:{MASK}@{hosts}"
    segments = []
    for segment in parts.query.split("&") if parts.query else []:
        key, eq, _ = segment.partition("=")
        secret = eq and unquote(key).strip().lower() in SECRET_KEYS
        segments.append(f"{key}={MASK}" if secret else segment)
    query = "&".join(segments)
    path = parts.path
    if not netloc and "@" in path:
        # One slash too many (postgresql:///user:pw@host/db): the userinfo became the path.
        path = "/" + _mask_loose_userinfo(path[1:])
    if netloc == parts.netloc and query == parts.query and path == parts.path:
        return dsn
    # Rebuilt by hand: urlunsplit drops the empty authority of sqlite:///path.
    rebuilt = f"{parts.scheme}://{netloc}{path}"
    rebuilt += f"?{query}" if query else ""
    return rebuilt + (f"#{parts.fragment}" if parts.fragment else "")


_LOOSE_AUTHORITY = re.compile(r"^(\s*[A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")


def _mask_loose_url(dsn: str) -> str:
    """A URL the standard library refuses (``[::1:5432``), masked as text: everything up to
    the authority's last '@' after the user name, and the query, are hidden."""
    match = _LOOSE_AUTHORITY.match(dsn)
    if match is None:
        return "<unparseable URL>" if "password" in dsn.lower() else dsn
    rest = dsn[match.end() :]
    if "?" in rest and "password" in rest.lower():
        rest = rest.split("?", 1)[0] + "?" + MASK
    if not re.search("[:@]", match.group(2)):  # a user name alone
        return f"{match.group(1)}{match.group(2)}@{rest}"
    user = re.split("[:@]", match.group(2), maxsplit=1)[0]
    return f"{match.group(1)}{user}:{MASK}@{rest}"


#: A URL whose scheme is missing or mistyped (``bob:pw@host/db``, ``postgresql:/bob:pw@h``,
#: ``postgresql//bob:pw@h``): a user name, a ':', then text up to the last '@'. Everything
#: from the first ':' to that '@' is taken as secret (more than the password, at times: this
#: is for display only).
_LOOSE_USERINFO = re.compile(r"^([^:@=\s]*):(.*)@")


def _loose_userinfo_secrets(text: str) -> set[str]:
    """What `_mask_loose_userinfo` hides in `text`, and the part after its last ':' (the
    password alone, for driver messages that echo only it); nothing when it hides nothing."""
    match = _LOOSE_USERINFO.match(text)
    if match is None:
        return set()
    return {match.group(2), match.group(2).rsplit(":", 1)[-1]}


def _mask_loose_userinfo(dsn: str) -> str:
    match = _LOOSE_USERINFO.match(dsn)
    if match is None:
        return dsn
    return f"{match.group(1)}:{MASK}@{dsn[match.end() :]}"


def mask_password(dsn: str) -> str:
    """`dsn` with every password replaced by ``***``, fit for logs, errors and output.

    Args:
        dsn: A database URL (``postgresql://``, ``sqlite:///``...) or a libpq key/value
            string (``host=h password=pw``). Strings without a password come back unchanged
            (SQLite URLs included). A URL with its scheme missing or mistyped
            (``bob:pw@host/db``) is masked from the first ':' to its last '@'.

    Returns:
        The masked string; ``<connection string hidden>`` for a key/value string that cannot
        be parsed (psycopg missing, or malformed) and contains ``password``. A URL the
        standard library refuses is masked as text (``<unparseable URL>`` when that is not
        possible).
    """
    dsn = str(dsn)  # a caller may pass a Path or None from an unchecked config
    if _is_url(dsn):
        try:
            return _mask_url(dsn)
        except ValueError:
            return _mask_loose_url(dsn)
    if "=" not in dsn:
        return _mask_loose_userinfo(dsn)
    parsed = _conninfo_dict(dsn)
    if parsed is None:
        return _HIDDEN if "password" in dsn.lower() else _mask_loose_userinfo(dsn)
    if not any(parsed.get(key) for key in SECRET_KEYS):
        return dsn
    from psycopg.conninfo import make_conninfo  # present: _conninfo_dict parsed it

    for key in SECRET_KEYS:
        if parsed.get(key):
            parsed[key] = MASK
    return str(make_conninfo("", **parsed))


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with each of `secrets` replaced by ``***`` (longest first, so that a secret
    containing another is replaced whole)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def _leaks(error: BaseException, secrets: frozenset[str]) -> bool:
    try:
        texts = [str(error), repr(error), *map(str, getattr(error, "__notes__", []))]
    except Exception:  # an exception whose __str__ fails cannot be checked: treat as leaking
        return True
    return any(secret in text for secret in secrets for text in texts)


def _scrub_one(error: BaseException, secrets: frozenset[str]) -> None:
    def clean(value: Any) -> Any:
        return scrub_text(value, secrets) if isinstance(value, str) else value

    try:
        error.args = tuple(clean(arg) for arg in error.args)
        for name, value in list(vars(error).items()):
            if isinstance(value, str) and not name.startswith("__"):
                setattr(error, name, clean(value))
        notes = getattr(error, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [clean(note) for note in notes]
    except (AttributeError, TypeError):  # read-only attributes: the chain is cut below
        pass


def scrub_exception(error: BaseException, dsn_or_secrets: str | Iterable[str]) -> BaseException:
    """Remove a connection string's passwords from `error` and every exception chained to it
    (``__cause__``, ``__context__``), in place, so that neither its message nor a printed
    traceback shows them. An exception whose text cannot be cleaned (its ``__str__`` builds
    the text from elsewhere) is unlinked from the chain. `error` itself is always cleaned as
    far as its arguments allow.

    Args:
        error: The exception about to be raised or reported.
        dsn_or_secrets: The connection string it may echo, or its secrets
            (`password_secrets`).

    Returns:
        `error`, for ``raise scrub_exception(exc, url)``.
    """
    secrets = (
        password_secrets(dsn_or_secrets)
        if isinstance(dsn_or_secrets, str)
        else frozenset(s for s in dsn_or_secrets if s)
    )
    if not secrets:
        return error
    chain = _chain(error)
    for current in chain:
        if _leaks(current, secrets):
            _scrub_one(current, secrets)
    for current in chain:
        for attribute in ("__cause__", "__context__"):
            linked = getattr(current, attribute)
            if linked is not None and _leaks(linked, secrets):
                setattr(current, attribute, None)
                if attribute == "__context__":
                    current.__suppress_context__ = True
    return error


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found
