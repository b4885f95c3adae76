"""The README's two fresh-machine commands stay true: CI runs the same test command."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    quick = lines[lines.index("## Quick start"):]
    return [ln for ln in quick[: quick.index("## What you can type") if "## What you can type" in quick else None]
            if ln.startswith("python3 -m venv")]


def test_readme_has_a_demo_and_a_test_command_and_ci_runs_the_test_one():
    demo, tests = commands()
    assert demo.endswith("afterdesk demo")
    assert tests.endswith("pytest -q")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci
