"""The reference portal stays small: its Python is what the README says, under 400 lines."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_states_the_portals_line_count() -> None:
    sources = sorted((ROOT / "examples" / "portal").glob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in sources)  # what wc -l counts
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*(\d+) lines\*\* \(`wc -l examples/portal/\*\.py`\)", readme)
    assert stated is not None, "the README states the portal's line count"
    assert int(stated.group(1)) == lines < 400


def test_the_portal_imports_only_the_public_face() -> None:
    """Routes and wiring use aligner_core, its commands, ui, pictures, errors, serialization."""
    public = {
        "aligner_core",
        "aligner_core.commands",
        "aligner_core.ui",
        "aligner_core.pictures",
        "aligner_core.errors",
        "aligner_core.serialization",
        "aligner_core.schema",
        "aligner_core.i18n",
    }
    for source in (ROOT / "examples" / "portal").glob("*.py"):
        text = source.read_text(encoding="utf-8")
        used = set(re.findall(r"^\s*(?:from|import) (aligner_core[\w.]*)", text, re.MULTILINE))
        assert used <= public, (source.name, used - public)
