"""Arrows point inward: the core imports no adapter and no shell; an adapter imports the
core and the config, never the service layer or the daemon that wire it."""

from __future__ import annotations

import ast
from pathlib import Path

KIOSK = Path(__file__).parents[2] / "kiosk"
# the service layer and the daemon: they call adapters, adapters never call them
SHELL = {"kiosk.app", "kiosk.parts", "kiosk.service", "kiosk.session", "kiosk.served",
         "kiosk.early_screen", "kiosk.wakeup", "kiosk.cli", "kiosk.doctor"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_adapter_imports_the_service_layer_or_the_daemon():
    reaching_back = {
        path.name: sorted(imported(path) & SHELL) for path in (KIOSK / "adapters").glob("*.py")
    }
    assert {name: found for name, found in reaching_back.items() if found} == {}


def test_the_core_imports_nothing_of_the_kiosk_outside_the_core():
    outward = {
        path.name: sorted(
            n for n in imported(path) if n.startswith("kiosk.") and not n.startswith("kiosk.core")
        )
        for path in (KIOSK / "core").glob("*.py")
    }
    assert {name: found for name, found in outward.items() if found} == {}


def test_no_test_imports_conftest_as_a_module():
    """pytest loads conftest.py itself; shared helpers live in tests/support."""
    tests = Path(__file__).parents[1]
    importing = sorted(
        str(path.relative_to(tests))
        for path in tests.rglob("*.py")
        if any(name == "tests.conftest" or name.startswith("tests.conftest.")
               for name in imported(path))
    )
    assert importing == []
