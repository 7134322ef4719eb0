"""The masker itself: every password form libpq accepts, SQLite URLs untouched, and exception
chains cleaned in place (no database needed)."""

from __future__ import annotations

import traceback

import pytest

from dbos._base.secrets import mask_password, password_secrets, scrub_exception
from dbos._config import resolve


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("postgresql://u:pw1@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db?password=pw2&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
        ("postgresql://u@h/db?sslpassword=pw3", "postgresql://u@h/db?sslpassword=***"),
        ("postgresql://u:pw4@h1:5432,h2:5433/db", "postgresql://u:***@h1:5432,h2:5433/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///app.sqlite", "sqlite:///app.sqlite"),
        ("sqlite:////abs/dir/app.sqlite?timeout=5", "sqlite:////abs/dir/app.sqlite?timeout=5"),
        ("host=h dbname=db", "host=h dbname=db"),
        # an unencoded '@': libpq splits at the first, Python at the last; all of it hidden
        ("postgresql://u:pw5@Tail@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@pw6:x@h/db", "postgresql://u:***@h/db"),
        # refused by urlsplit: masked as text
        ("postgresql://u:pw7@[::1:5432/db", "postgresql://u:***@[::1:5432/db"),
        ("postgresql://u@[::1:5432/db", "postgresql://u@[::1:5432/db"),
        # the scheme forgotten or mistyped (a user's trial printed these passwords in full)
        ("u:pw8@db.example.com:5432/app", "u:***@db.example.com:5432/app"),
        ("postgresql:/u:pw9@h/db", "postgresql:***@h/db"),
        ("postgresql//u:pw10@h/db", "postgresql//u:***@h/db"),
        ("u:pw11@h/db?sslmode=require", "u:***@h/db?sslmode=require"),
        ("u@h/db", "u@h/db"),
        ("postgresql:///u:pw12@h/db", "postgresql:///u:***@h/db"),
        ("sqlite:////dir/a@b.sqlite", "sqlite:////dir/a@b.sqlite"),
    ],
)  # fmt: skip
def test_mask_password_forms(dsn: str, masked: str) -> None:
    assert mask_password(dsn) == masked


@pytest.mark.parametrize(
    ("dsn", "secret"),
    [
        ("host=h password=kv-pw dbname=db", "kv-pw"),
        ("host=h password='a quoted pw' dbname=db", "a quoted pw"),
        ("host=h password = spaced-pw", "spaced-pw"),
        ("host=h password='unterminated pw", "unterminated pw"),
    ],
)
def test_keyword_value_passwords_are_found_and_masked(dsn: str, secret: str) -> None:
    assert secret in password_secrets(dsn)
    assert secret not in mask_password(dsn)


@pytest.mark.parametrize(
    ("dsn", "secrets"),
    [
        ("postgresql://u:pw5@Tail@h:5432/db", {"pw5", "Tail", "pw5@Tail"}),
        ("postgresql://u:pw7@[::1:5432/db", {"pw7"}),
        ("u:pw8@db.example.com:5432/app", {"pw8"}),
        ("postgresql:/u:pw9@h/db", {"pw9"}),
        ("postgresql:///u:pw12@h/db", {"pw12"}),
    ],
)
def test_every_userinfo_candidate_is_a_secret(dsn: str, secrets: set[str]) -> None:
    assert secrets <= password_secrets(dsn)


def test_exception_chains_are_scrubbed_in_place() -> None:
    secret = "chain-" + "pw"  # built, so that the traceback's source lines do not hold it
    dsn = f"postgresql://u@h/db?password={secret}"
    try:
        try:
            raise ValueError(f'missing "=" after "{secret}" in connection info string')
        except ValueError as inner:
            raise RuntimeError(f"wrapper: {secret}") from inner
    except RuntimeError as outer:
        error: BaseException = outer
    scrub_exception(error, dsn)
    text = "".join(traceback.format_exception(error))
    assert secret not in text
    assert "***" in text and "ValueError" in text  # the cause is kept, only cleaned


def test_settings_repr_masks_the_url() -> None:
    settings = resolve({"name": "a", "system_database_url": "postgresql://u@h/db?password=repr-pw"})
    assert "repr-pw" not in repr(settings)
    assert "password=***" in repr(settings)
