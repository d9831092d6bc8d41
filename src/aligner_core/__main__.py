"""``python -m aligner_core``: the same as the ``aligner-core`` command."""

import sys

from aligner_core.cli import main

sys.exit(main())
