"""Every text the portal's templates translate has its German in the portal's catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "examples" / "portal"
#: ``_("...")`` and ``_('...')`` in a template, and the titles of a header row's list.
_TEXT = re.compile(r"""_\((["'])((?:(?!\1).)+)\1""")
_TITLES = re.compile(r"""for title in \[([^\]]*)\]""")


def test_every_template_text_is_in_the_german_catalog() -> None:
    german = json.loads((PORTAL / "locale" / "de.json").read_text(encoding="utf-8"))
    wanted: set[str] = set()
    for template in (PORTAL / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        wanted |= {m.group(2) for m in _TEXT.finditer(text)}
        for titles in _TITLES.findall(text):
            wanted |= set(re.findall(r'"([^"]+)"', titles))
    assert "Invoices" in wanted and "Net" in wanted  # the pattern finds what it should
    missing = sorted(t for t in wanted if not german.get(t))  # "Name" is German too
    assert missing == []
