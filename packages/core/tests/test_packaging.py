"""The workspace's distributions: exact pins between them, no cycle, a license in each, and
what a plain install of core says and does (its version, a missing backend, DBOS Inc.'s
`dbos` installed beside it)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import dbos

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ROOT / "packages"
CORE_SRC = PACKAGES / "core" / "src"

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml needs tomllib or tomli")


def _pyprojects() -> dict[str, dict[str, Any]]:
    """Every workspace distribution's `[project]` table, by distribution name."""
    projects: dict[str, dict[str, Any]] = {}
    for path in sorted(PACKAGES.glob("*/pyproject.toml")):
        project = tomllib.loads(path.read_text())["project"]
        projects[canonicalize_name(project["name"])] = {**project, "_dir": path.parent}
    return projects


def _requirements(project: dict[str, Any]) -> list[Requirement]:
    texts = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        texts.extend(extra)
    return [Requirement(text) for text in texts]


def test_the_workspace_has_the_expected_distributions() -> None:
    assert sorted(_pyprojects()) == [
        "dbos-client",
        "dbos-core",
        "dbos-postgres",
        "dbos-py",
        "dbos-sqlite",
        "dbos-testing",
    ]


def test_workspace_packages_pin_each_other_exactly() -> None:
    projects = _pyprojects()
    loose = []
    for name, project in projects.items():
        for requirement in _requirements(project):
            other = canonicalize_name(requirement.name)
            if other in projects:
                wanted = f"=={projects[other]['version']}"
                if str(requirement.specifier) != wanted:
                    loose.append(f"{name} requires {requirement} (want {other}{wanted})")
    assert loose == []


def test_workspace_dependencies_have_no_cycle() -> None:
    projects = _pyprojects()
    edges = {
        name: {
            canonicalize_name(r.name)
            for r in _requirements(project)
            if canonicalize_name(r.name) in projects
        }
        for name, project in projects.items()
    }

    def cycle_from(name: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        if name in path:
            return (*path[path.index(name) :], name)
        for other in sorted(edges[name]):
            found = cycle_from(other, (*path, name))
            if found is not None:
                return found
        return None

    cycles = [cycle for name in sorted(edges) if (cycle := cycle_from(name, ())) is not None]
    assert cycles == []
    assert edges["dbos-core"] == set()  # every arrow points at core, none out of it


def test_a_plain_install_brings_the_embedded_sqlite_backend() -> None:
    # The distribution the README's index command names.
    meta = _pyprojects()["dbos-py"]
    required = {canonicalize_name(Requirement(text).name) for text in meta["dependencies"]}
    assert required == {"dbos-core", "dbos-sqlite"}
    extras = meta["optional-dependencies"]
    assert set(extras) == {"postgres", "client", "ui", "testing", "all"}
    assert [str(Requirement(text)) for text in extras["postgres"]] == ["dbos-postgres==0.1.0"]


def test_the_postgres_backend_installs_psycopgs_binary_build_by_default() -> None:
    # Issue 17: the pure-Python implementation measured 15-20% slower; the binary build is
    # the default, and the `c` extra (or PSYCOPG_IMPL=python) serves a locally built libpq.
    meta = _pyprojects()["dbos-postgres"]
    psycopg = [Requirement(t) for t in meta["dependencies"] if t.startswith("psycopg[")]
    assert [(r.name, r.extras) for r in psycopg] == [("psycopg", {"binary"})]
    assert set(meta["optional-dependencies"]) == {"binary", "c"}


def test_every_distribution_ships_the_mit_license_and_classifiers() -> None:
    root_license = (ROOT / "LICENSE").read_text()
    assert root_license.startswith("MIT License\n\nCopyright (c) 2026 the dbos-py contributors\n")
    for name, project in _pyprojects().items():
        # Each package builds from its own folder, so it carries a copy of the root's file.
        assert (project["_dir"] / "LICENSE").read_text() == root_license, name
        assert project["license"] == "MIT", name
        assert project["license-files"] == ["LICENSE"], name
        classifiers = project["classifiers"]
        assert "Programming Language :: Python :: 3.10" in classifiers, name
        assert not [c for c in classifiers if c.startswith("License ::")], name  # SPDX instead


def test_version_comes_from_the_installed_metadata() -> None:
    from importlib.metadata import version

    assert dbos.__version__ == version("dbos-core")


def _sandbox(tmp_path: Path, *extra_entries: Path) -> dict[str, str]:
    """An environment for `python -S`: core's source and its dependencies (pluggy, croniter
    and croniter's dateutil, and six where that dateutil uses it) only, no installed
    distribution (so no backend plugin), plus `extra_entries` on the path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "dbos").symlink_to(CORE_SRC / "dbos")
    for name in ("pluggy", "croniter", "dateutil", "six"):
        spec = importlib.util.find_spec(name)
        if spec is None and name == "six":
            continue  # a dateutil that no longer needs it
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            (site / name).symlink_to(origin.parent)
        else:  # a single-file module (six.py, which also poses as a package for six.moves)
            (site / origin.name).symlink_to(origin)
    path = os.pathsep.join(str(p) for p in (site, *extra_entries))
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path}


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-S", "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_core_without_a_backend_names_the_distribution_to_install(tmp_path: Path) -> None:
    code = (
        "from dbos import DBOS, DBOSConfigError\n"
        "DBOS(config={'name': 'app'})\n"  # the default: a SQLite file
        "try:\n"
        "    DBOS.launch()\n"
        "except DBOSConfigError as exc:\n"
        "    print(exc)\n"
        "print(__import__('dbos').__version__)\n"
    )
    result = _run(code, _sandbox(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    message, version = result.stdout.splitlines()
    assert "no installed storage backend handles 'sqlite:///app.sqlite'" in message
    assert "install dbos-sqlite, the embedded default backend" in message
    assert version == "0+unknown"  # not installed: a fallback that is still a PEP 440 version
    assert not (tmp_path / "app.sqlite").exists()


def _fake_distribution(where: Path, name: str, version: str) -> Path:
    info = where / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return where


def test_dbos_incs_distribution_beside_this_one_is_reported_at_import(tmp_path: Path) -> None:
    other = _fake_distribution(tmp_path / "other-site", "dbos", "3.4.0")
    code = "import warnings; warnings.simplefilter('always'); import dbos"
    result = _run(code, _sandbox(tmp_path, other), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "DistributionConflictWarning" in result.stderr
    assert "DBOS Inc.'s 'dbos' distribution (version 3.4.0, in " in result.stderr
    assert str(other) in result.stderr
    assert "pip uninstall dbos dbos-core" in result.stderr


def test_no_warning_without_dbos_incs_distribution(tmp_path: Path) -> None:
    # Distributions whose names merely start with "dbos" are not DBOS Inc.'s.
    other = _fake_distribution(tmp_path / "other-site", "dbos_sqlite", "0.1.0")
    _fake_distribution(other, "dbos_core", "0.1.0")
    code = "import warnings; warnings.simplefilter('always'); import dbos; print(dbos.__version__)"
    result = _run(code, _sandbox(tmp_path, other), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "0.1.0"  # the version of the dbos_core metadata found


def _pip(venv: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dbos_incs_real_distribution_is_reported_at_import(tmp_path: Path) -> None:
    """DBOS Inc.'s dbos 3.4.0 from PyPI, then this implementation from the clone (the README's
    command) in one fresh virtual environment: `import dbos` loads ours and warns."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    fetched = _pip(venv, "download", "--no-deps", "-d", str(tmp_path / "dl"), "dbos==3.4.0")
    if fetched.returncode != 0:
        pytest.skip(f"PyPI is not reachable (pip cannot fetch dbos==3.4.0): {fetched.stderr}")
    installed = _pip(venv, "install", "dbos==3.4.0")
    assert installed.returncode == 0, installed.stderr
    ours = _pip(venv, "install", str(PACKAGES / "core"), str(PACKAGES / "sqlite"))
    assert ours.returncode == 0, ours.stderr
    code = "import dbos; print(dbos.__version__)"
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.0"
    assert "DistributionConflictWarning: DBOS Inc.'s 'dbos' distribution (version 3.4.0" in (
        result.stderr
    )


def _readme_clone_commands() -> list[str]:
    """The README's commands that install from a clone (`pip install ./packages/...`)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    return [
        line.split("#", 1)[0].strip()
        for line in lines
        if line.startswith("pip install ./packages/")
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_readmes_install_command_gives_the_sqlite_default(tmp_path: Path) -> None:
    """The README's first command, as written, in a fresh virtual environment from the
    repository root: a workflow then runs on the embedded SQLite default."""
    commands = _readme_clone_commands()
    assert commands[0] == "pip install ./packages/core ./packages/sqlite"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    fetched = _pip(venv, "download", "--no-deps", "-d", str(tmp_path / "dl"), "pluggy>=1.5")
    if fetched.returncode != 0:
        pytest.skip(f"no package index reachable (pip cannot fetch pluggy): {fetched.stderr}")
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", *commands[0].split()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    app = tmp_path / "app.py"
    app.write_text(
        "from dbos import DBOS\n"
        "@DBOS.step()\n"
        "def one() -> int:\n"
        "    return 1\n"
        "@DBOS.workflow()\n"
        "def flow() -> int:\n"
        "    return one() + 1\n"
        "DBOS(config={'name': 'fresh'})\n"
        "DBOS.launch()\n"
        "print(flow())\n"
        "DBOS.destroy()\n"
    )
    ran = subprocess.run(
        [str(venv / "bin" / "python"), str(app)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "2"
    assert (tmp_path / "fresh.sqlite").exists()
