"""ledger imports only the standard library and cryptography; audit_tool only the pure packages."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "civicforum"
ALLOWED = {
    "ledger": ({"cryptography"}, ("civicforum.ledger",)),
    "audit_tool": (set(), ("civicforum.ledger", "civicforum.tabulation", "civicforum.audit_tool")),
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_pure_imports(package: str) -> None:
    third_party, ours = ALLOWED[package]
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for name in imported(path):
            top = name.split(".")[0]
            ok = top == "__future__" or top in sys.stdlib_module_names or top in third_party
            ok = ok or name.startswith(ours)
            assert ok, f"{path.name} imports {name}"
