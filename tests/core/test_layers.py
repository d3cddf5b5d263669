"""The tree shows the layers: the product never imports the sandbox, and its root keeps only what every
layer uses (docs/architecture.md draws the rest)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = [
    *sorted((REPO / "klaviyo_analytics").rglob("*.py")),
    *sorted((REPO / "api").rglob("*.py")),
    REPO / "server.py",
    REPO / "gunicorn.conf.py",
]
# Cross-cutting modules only; everything else lives in a layer's package.
ROOT_MODULES = {"__init__", "__main__", "errors", "config", "paths", "logs", "clock", "secret_files"}


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import``/``from … import`` names, and every dotted string literal (a lazy import)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier() is False:
            found.add(node.value)
    return found


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_product_module_imports_the_sandbox(path: Path) -> None:
    names = imported_modules(path)
    assert not [n for n in names if n == "klaviyo_sandbox" or n.startswith("klaviyo_sandbox.")], path


def test_the_scan_sees_an_import_of_the_sandbox(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from klaviyo_sandbox.app import SandboxApp\n")
    assert "klaviyo_sandbox.app" in imported_modules(module)


def test_the_package_root_keeps_only_cross_cutting_modules() -> None:
    loose = {p.stem for p in (REPO / "klaviyo_analytics").glob("*.py")}
    assert loose <= ROOT_MODULES and len(loose) <= 8, sorted(loose - ROOT_MODULES)
    assert not REPO.joinpath("klaviyo_analytics", "sandbox").exists()


def is_module(dotted: str) -> bool:
    base = REPO.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def private_imports(path: Path) -> list[str]:
    """``from m import _x`` and ``m._x`` on an imported module ``m``: reaching into another module's privates."""
    tree = ast.parse(path.read_text(), str(path))
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{node.module}.{alias.name}")
                elif is_module(f"{node.module}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(alias.asname for alias in node.names if alias.asname and is_module(alias.name))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


SANDBOX = sorted((REPO / "klaviyo_sandbox").rglob("*.py"))


@pytest.mark.parametrize("path", PRODUCT + SANDBOX, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    assert private_imports(path) == []


def test_the_scan_sees_a_private_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from klaviyo_analytics.actions.proposing import _hidden\n"
        "from klaviyo_analytics.actions import proposing\n"
        "proposing._private()\n"
    )
    assert private_imports(module) == ["klaviyo_analytics.actions.proposing._hidden", "proposing._private"]


def test_a_tools_entry_schemas_and_service_share_one_area_name() -> None:
    """entries/<area>.py declares the tool, schemas/<area>.py holds its models, service/<area>.py its handler."""
    import importlib

    from klaviyo_analytics.tools.entries import AREAS

    for area in AREAS:
        for spec in importlib.import_module(f"klaviyo_analytics.tools.entries.{area}").TOOLS:
            assert spec.handler.__module__ == f"klaviyo_analytics.service.{area}", spec.name
            homes = {f"klaviyo_analytics.schemas.{area}", "klaviyo_analytics.schemas.common"}
            assert {spec.params.__module__, spec.result.__module__} <= homes, spec.name
            assert callable(spec.handler) and not isinstance(spec.handler, str), spec.name


def test_the_architecture_page_follows_each_tool_through_at_most_eight_files_that_exist() -> None:
    import re

    page = (REPO / "docs" / "architecture.md").read_text()
    tables = re.findall(r"^## A (?:read|write) tool.*?\n\n(.*?)\n\n", page, re.M | re.S)
    assert len(tables) == 2
    for table in tables:
        files = re.findall(r"^\| \d+ \| `([^`]+)`", table, re.M)
        assert 0 < len(files) <= 8
        assert [f for f in files if not (REPO / f).is_file()] == []
