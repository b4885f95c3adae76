"""Architecture guard: walks every module's imports and fails on a forbidden layer crossing."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "telegram", "aiohttp", "httpx")
RULES = {
    # package: top-level modules it must never import
    "handlers": PLATFORM_SDKS + ("sqlalchemy", "alembic", "apscheduler", "pydantic", "bot", "scheduler"),
    "store": PLATFORM_SDKS + ("bot", "handlers", "scheduler", "apscheduler"),
    "scheduler": PLATFORM_SDKS + ("bot",),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def violations() -> list[str]:
    bad = []
    for package, forbidden in RULES.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imports_of(path):
                if name.split(".")[0] in forbidden:
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_layers_import_only_what_they_may():
    assert violations() == []


def session_uses(path: Path) -> list[int]:
    """Lines where code reaches for a SQLAlchemy session through an attribute (an indirect crossing)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "session"]


def test_handlers_do_not_reach_into_the_database_session():
    found = {str(p.relative_to(ROOT)): session_uses(p) for p in sorted((ROOT / "handlers").rglob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_guard_catches_a_crossing(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import sqlalchemy.orm\nfrom slack_sdk import WebClient\nfrom . import sibling\n")
    assert imports_of(sample) == {"sqlalchemy.orm", "slack_sdk"}
