"""The Python blocks of docs/notifications.md run."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


def test_docs_notifications_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "docs/notifications.md has a python example"
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_notifications"})
