"""aligner_core: the clear-aligner case workflow between dental practices and an aligner lab.

Build a wired core with :func:`connect`; change state only through its commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aligner_core.domain.teeth import Notation, Tooth, ToothChart, ToothState
from aligner_core.errors import AlignerError

if TYPE_CHECKING:
    from aligner_core.bootstrap import connect as connect

__all__ = [
    "AlignerError",
    "Notation",
    "Tooth",
    "ToothChart",
    "ToothState",
    "__version__",
    "connect",
]

__version__ = "0.1.0.dev0"


def __getattr__(name: str) -> object:
    # connect lives in bootstrap, which imports the adapters' registry; import it lazily
    # so `import aligner_core` stays cheap and does no work at import time.
    if name == "connect":
        from aligner_core.bootstrap import connect

        return connect
    raise AttributeError(name)
