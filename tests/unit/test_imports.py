"""``connect("memory://")`` stays light: nothing heavy is imported until it is needed."""

from __future__ import annotations

import subprocess
import sys


def test_memory_core_imports_no_numpy_no_drivers_no_images() -> None:
    code = "import aligner_core; aligner_core.connect('memory://')"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    heavy = {"numpy", "stl", "PIL", "pikepdf", "psycopg", "sqlite3", "fsspec", "email_validator"}
    assert not heavy & {name.split(".")[0] for name in imported}
