"""The README's quick start runs, and its two set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_quick_start_runs() -> None:
    blocks = _blocks("python")
    assert blocks, "the README has a python quick start"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_exactly_two_setup_commands() -> None:
    commands = _blocks("sh")
    assert len(commands) == 2
    main_job, tests = (c.strip() for c in commands)
    assert "examples/full_case_lifecycle.py" in main_job
    assert tests.endswith("nox -s tests")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "nox -s tests" in ci or "-s tests" in ci


def test_building_a_portal_is_executed_and_shows_the_four_pieces() -> None:
    section = README.split("## Building a portal", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    for piece in ("http_status", "load_form", "available_actions", "openapi_components"):
        assert piece in code
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
