"""`dbos.storage.load_queries` / `load_fragments`: text that several statements share is written
once in a backend's SQL file (``-- fragment: NAME``) and spliced in where a statement says
``{@NAME}``; mistakes in the file are reported by name when the file is loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dbos.storage import load_fragments, load_queries


@pytest.fixture()
def sql_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "fragment_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fragment_pkg", raising=False)
    return package


def test_fragments_are_spliced_into_queries_and_into_each_other(sql_package: Path) -> None:
    (sql_package / "q.sql").write_text(
        "-- fragment: row\nINSERT INTO t (a) VALUES (:a)\n\n"
        "-- fragment: row_with_ack\n{@row}\nRETURNING a\n\n"
        "-- name: plain\n{@row}\n\n"
        "-- name: acked\nWITH x AS (SELECT 1)\n{@row_with_ack}\n"
    )
    queries = load_queries("fragment_pkg", "q.sql")
    assert queries == {
        "plain": "INSERT INTO t (a) VALUES (:a)",
        "acked": "WITH x AS (SELECT 1)\nINSERT INTO t (a) VALUES (:a)\nRETURNING a",
    }
    assert load_fragments("fragment_pkg", "q.sql")["row_with_ack"] == (
        "INSERT INTO t (a) VALUES (:a)\nRETURNING a"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: q\nSELECT {@missing}\n", "'q' uses {@missing}, which no fragment defines"),
        ("-- fragment: a\n{@a}\n-- name: q\n{@a}\n", "fragment 'a' includes itself"),
        ("-- name: q\nSELECT 1\n-- fragment: q\nSELECT 2\n", "'q' is defined twice"),
    ],
)
def test_mistakes_in_the_file_are_named(sql_package: Path, text: str, message: str) -> None:
    (sql_package / "q.sql").write_text(text)
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("(", r"\(")):
        load_queries("fragment_pkg", "q.sql")


@pytest.mark.parametrize("package", ["dbos_sqlite", "dbos_postgres"])
def test_the_backends_files_use_only_fragments_they_define(package: str) -> None:
    pytest.importorskip(package)
    queries = load_queries(package, "sql/queries.sql")
    assert "{@" not in "".join(queries.values())
    assert "count_stranded_workflows" in queries
