"""Dependencies point one way (DESIGN.md): each package imports only what its row allows.

``models`` imports nothing of ours; ``loadgen``, ``analysis``, ``portal`` and ``planning``
may import ``models`` and the scenario schema (``dvcschema``); only ``dvcload`` (the
command line) imports everything. Every ``.py`` file of each package is parsed with
:mod:`ast`: imports at the top, inside functions, under ``TYPE_CHECKING``, and
``importlib.import_module("...")`` / ``__import__("...")`` with a literal name.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCHEMA = {"dvcschema"}
ALLOWED: dict[str, set[str]] = {  # besides the package itself
    "models": set(),
    "dvcschema": set(),
    "loadgen": {"models", *SCHEMA},
    "analysis": {"models", *SCHEMA},
    "portal": {"models", *SCHEMA},
    "planning": {"models", *SCHEMA},
    "dvcload": {"models", "dvcschema", "loadgen", "analysis", "portal", "planning"},
}
OURS = set(ALLOWED)
# Imports that break the table today, each to be removed once fixed (the last test fails
# when one no longer exists, so that this list only shrinks).


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every absolute import in ``path``, wherever it is."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            arg = node.args[0]
            assert isinstance(arg, ast.Constant)
            yield node.lineno, str(arg.value)


def _dynamic_import(node: ast.Call) -> bool:
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return (
        name in ("import_module", "__import__")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def crossings(package: str) -> Iterator[tuple[str, int, str]]:
    """``(file, line, module)`` for every import of another package of ours."""
    for path in sorted((REPO / package).rglob("*.py")):
        for line, module in imported(path):
            top = module.split(".")[0]
            if top in OURS and top != package:
                yield path.relative_to(REPO).as_posix(), line, module


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_its_row_allows(package: str) -> None:
    forbidden = [
        f"{file}:{line}: {package} imports {module!r}; {package} may import"
        f" {', '.join(sorted(ALLOWED[package])) or 'nothing of ours'}"
        for file, line, module in crossings(package)
        if module.split(".")[0] not in ALLOWED[package]
    ]
    assert not forbidden, "\n".join(forbidden)


def test_the_table_has_a_row_for_every_package_that_is_installed() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    include = setuptools["setuptools"]["packages"]["find"]["include"]
    assert {name.rstrip("*") for name in include} == OURS


def test_the_parser_sees_imports_inside_functions_and_by_name(tmp_path: Path) -> None:
    path = tmp_path / "sample.py"
    path.write_text(
        "import os\nfrom . import sibling\n"
        "def f():\n    from dvcload.cli import main\n    import importlib\n"
        "    return importlib.import_module('analysis.gate'), __import__('loadgen')\n",
        encoding="utf-8",
    )
    assert sorted(imported(path)) == [
        (1, "os"),
        (4, "dvcload.cli"),
        (5, "importlib"),
        (6, "analysis.gate"),
        (6, "loadgen"),
    ]


# -- one spelling per concept -------------------------------------------------------------
def string_constants(path: Path) -> Iterator[tuple[int, str]]:
    """Every string constant of a module but its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    bodies = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, bodies)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if text and id(node) not in docstrings:
            yield node.lineno, node.value


def literals_outside(home: Path, spellings: set[str], exempt: set[tuple[str, str]]) -> list[str]:
    """``file:line: value`` for each literal in ``spellings`` outside ``home``: in our
    packages, ``locustfile.py`` and the benchmarks (tests may spell what they check)."""
    sources = [p for pkg in sorted(OURS) for p in (REPO / pkg).rglob("*.py")]
    sources += [REPO / "locustfile.py", *(REPO / "benchmarks").glob("*.py")]
    return [
        f"{path.relative_to(REPO)}:{line}: {value!r}"
        for path in sources
        if path != home
        for line, value in string_constants(path)
        if value in spellings and (str(path.relative_to(REPO)), value) not in exempt
    ]


def test_results_file_names_are_spelled_only_in_their_home() -> None:
    from dvcschema import results

    # The portal names its own temporary database; it is not a results folder's file.
    exempt = {("portal/storage.py", results.PORTAL_DATABASE)}
    names = {f.name for f in results.FILES}
    assert literals_outside(REPO / "dvcschema" / "results.py", names, exempt) == [], (
        "use the names of dvcschema.results"
    )


def test_routes_are_spelled_only_in_their_home() -> None:
    from dvcschema import routes

    spellings = {
        s for r in routes.REFERENCE_PORTAL for s in (r.key, r.name, r.template, r.path_name)
    }
    assert literals_outside(REPO / "dvcschema" / "routes.py", spellings, set()) == [], (
        "use dvcschema.routes"
    )


def test_the_load_generator_names_no_portals_routes() -> None:
    """Traffic is data (DESIGN.md): ``loadgen`` runs journeys, it knows no portal's paths,
    not even the reference portal's (those are in ``portal/journeys.py``)."""
    routes_used = [
        f"{file}:{line}"
        for file, line, module in crossings("loadgen")
        if module == "dvcschema.routes"
    ]
    allowed = ["loadgen/pyjourneys.py"]  # Route, the class that names a path template
    assert [r for r in routes_used if r.split(":")[0] not in allowed] == []
    for path in (REPO / "loadgen").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "REFERENCE_PORTAL" not in text and "from dvcschema import routes" not in text, path


def test_the_literal_guard_sees_a_literal_but_not_prose(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""summary.json in prose is fine."""\nPATH = "summary.json"\n')
    assert list(string_constants(module)) == [(2, "summary.json")]
