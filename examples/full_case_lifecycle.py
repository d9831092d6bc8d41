"""The full case lifecycle on the embedded SQLite default, with a readable timeline.

Registration and activation, a draft with tooth chart and treatment request,
scans, submission, plan v1, a modification, plan v2, approval, production,
shipping in two phases, then a refinement, a retainer and a remake.

    python examples/full_case_lifecycle.py [path/to/cases.db]

The steps themselves are in ``aligner_core.cli.demo`` (also ``aligner-core demo``).
"""

from __future__ import annotations

import os
import sys
import tempfile

import aligner_core
from aligner_core.cli.demo import run_full_lifecycle


def main() -> int:
    if len(sys.argv) > 1:
        path = sys.argv[1]
    else:
        folder = os.environ.get("ALIGNER_CORE_EXAMPLE_DIR") or tempfile.mkdtemp(prefix="aligner-")
        path = os.path.join(folder, "full-lifecycle.db")
        if os.path.exists(path):
            os.remove(path)
    path = os.path.abspath(path)
    print(f"SQLite database: {path}")
    with aligner_core.connect(f"sqlite:///{path}") as core:
        run_full_lifecycle(core)
    print(f"done; the cases are in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
