"""House rules from STYLE.md that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "civicforum"
# tabulation reads RCTab's spreadsheets with Rust-backed readers (python-calamine always,
# fastexcel and pyarrow when the optional "fast" extra is installed): file readers, no Flask,
# no database, nothing that reaches the web application.
ALLOWED = {
    "tabulation": {"python_calamine", "fastexcel", "pyarrow"},
    "ledger": {"cryptography"},
    "audit_tool": set(),
}
PURE_SIBLINGS = {"audit_tool": ("civicforum.ledger", "civicforum.tabulation")}


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("pure", sorted(ALLOWED))
def test_pure_packages_stay_pure(pure: str) -> None:
    files = list((PACKAGE / pure).rglob("*.py"))
    if not files:
        pytest.skip(f"civicforum/{pure} has no modules yet")
    for path in files:
        for name in imported_modules(path):
            top = name.split(".")[0]
            ok = (
                name.startswith(f"civicforum.{pure}")
                or name.startswith(PURE_SIBLINGS.get(pure, ("\0",)))
                or top in sys.stdlib_module_names
                or top in ALLOWED[pure]
            )
            assert ok, f"{path.relative_to(PACKAGE.parent)} imports {name}"


# Commit points: write views (admin/<feature>.py modules are views), CLI commands and the
# demo seeder. Services never commit.
COMMIT_ALLOWED = re.compile(r"(views|cli|demo)\.py$|/views/|/cli/|^admin/")


def test_only_views_and_commands_commit() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if COMMIT_ALLOWED.search(rel) or rel.startswith(("tabulation/", "ledger/", "audit_tool/")):
            continue
        if ".commit()" in path.read_text(encoding="utf-8"):
            offenders.append(rel)
    assert offenders == []


def test_no_third_party_javascript_committed() -> None:
    import subprocess

    files = subprocess.run(
        ["git", "ls-files", "static"],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=True,
    ).stdout.split()
    vendored = [f for f in files if re.search(r"(htmx|axe|sortable|alpine|jquery)[^/]*\.js$", f)]
    assert vendored == []


def test_auditor_tool_runs_without_flask_or_sqlalchemy() -> None:
    import subprocess

    code = (
        "import sys, civicforum.audit_tool.cli, civicforum.tabulation.cli;"
        "import civicforum.ledger.export;"
        "bad = [m for m in ('flask', 'sqlalchemy', 'werkzeug') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def test_every_csv_the_app_writes_is_protected_against_formulas() -> None:
    # #14: option labels once reached results.csv as live spreadsheet formulas.
    helper = PACKAGE / "tabulation" / "csvcells.py"
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path != helper and re.search(r"csv\.(writer|DictWriter)\(", path.read_text("utf-8"))
    ]
    assert offenders == [], "write CSV with civicforum.tabulation.csvcells.csv_writer"
