"""Layering: shared/ is the code the services share, so it sits below them and never imports
from services/ (the services talk through Kafka and HTTP, and shared/ knows none of them)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(source: str) -> set[str]:
    """Every absolute module an import statement names, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    for node in ast.walk(ast.parse(source)):  # importlib.import_module("services.x")
        if (isinstance(node, ast.Call) and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"):
            names.add(node.args[0].value)
    return names


def imports_services(source: str) -> set[str]:
    return {n for n in imported_modules(source) if n == "services" or n.startswith("services.")}


def test_shared_imports_nothing_from_services():
    files = sorted((ROOT / "shared").rglob("*.py"))
    assert len(files) > 10
    offenders = {str(f.relative_to(ROOT)): sorted(imports_services(f.read_text("utf-8")))
                 for f in files if imports_services(f.read_text("utf-8"))}
    assert offenders == {}


def test_the_check_sees_every_form_of_import():
    assert imports_services("import services.intake.store")
    assert imports_services("from services.tracker.store import init_db")
    assert imports_services("def f():\n    from services import intake\n")
    assert imports_services("import importlib\nimportlib.import_module('services.intake')")
    assert not imports_services("from shared.kafka import ensure_topics\nimport servicesx")
    assert not imports_services("from .services import x")
