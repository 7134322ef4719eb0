"""Two functions under one name (issue 12, item 13): DBOS's duplicate-registration warning,
and the app goes on; only two functions from different modules in different files clash."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from dbos import DBOS, DBOSConflictingRegistrationError
from dbos._engine import registry

WARNING = "Duplicate registration of function '{0}'. A function named '{0}' has already"


def _import(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _workflow_module(path: Path, name: str, result: str) -> Path:
    path.write_text(
        textwrap.dedent(
            f"""
            from dbos import DBOS

            @DBOS.workflow(name={name!r})
            def work() -> str:
                return {result!r}
            """
        )
    )
    return path


def test_two_functions_of_one_module_under_one_name_warn_and_the_last_wins(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @DBOS.workflow(name="taken-name")
    def one() -> int:
        return 1

    caplog.set_level(logging.WARNING, logger="dbos")

    @DBOS.workflow(name="taken-name")
    def two() -> int:
        return 2

    assert WARNING.format("taken-name") in caplog.text
    found = registry.workflow("taken-name")
    assert found is not None and found.function is inspect.unwrap(two)


def test_two_steps_under_one_name_warn_with_the_step_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @DBOS.step(name="step-name")
    def one() -> int:
        return 1

    caplog.set_level(logging.WARNING, logger="dbos")

    @DBOS.step(name="step-name")
    def two() -> int:
        return 2

    assert WARNING.format("step-name") in caplog.text


def test_one_definition_executed_again_is_no_duplicate(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    for _ in range(2):

        @DBOS.workflow(name="defined-in-a-loop")
        def again() -> None:
            pass

    assert "Duplicate registration" not in caplog.text


def test_a_module_imported_under_two_names_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _workflow_module(tmp_path / "twice.py", "twice-imported", "ok")
    caplog.set_level(logging.WARNING, logger="dbos")
    _import(path, "twice_as_main")
    assert "Duplicate registration" not in caplog.text
    second = _import(path, "twice")
    assert WARNING.format("twice-imported") in caplog.text
    found = registry.workflow("twice-imported")
    assert found is not None and found.function is inspect.unwrap(second.work)


def test_functions_of_two_modules_in_two_files_under_one_name_are_refused(
    tmp_path: Path,
) -> None:
    _import(_workflow_module(tmp_path / "first.py", "clash", "first"), "clash_first")
    second = _workflow_module(tmp_path / "second.py", "clash", "second")
    with pytest.raises(DBOSConflictingRegistrationError, match=r"clash.*first.*second"):
        _import(second, "clash_second")


def test_an_app_that_imports_its_own_main_module_runs(tmp_path: Path) -> None:
    """The case DBOS warns about instead of failing: ``python app.py`` where the app also
    imports ``app`` (as a worker module or a test helper would), so its workflows register
    once as ``__main__`` and once as ``app``."""
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            f"""
            import sys
            from dbos import DBOS

            @DBOS.workflow()
            def greet(name: str) -> str:
                return "hello " + name

            if __name__ == "__main__":
                sys.path.insert(0, {str(tmp_path)!r})
                import app  # the same file again, under its own name

                DBOS(config={{"name": "twice", "system_database_url": sys.argv[1]}})
                DBOS.launch()
                print(greet("main"), app.greet("module"))
                DBOS.destroy()
            """
        )
    )
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    run = subprocess.run(
        [sys.executable, str(app), url],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hello main hello module"
    assert WARNING.format("greet") in run.stderr
