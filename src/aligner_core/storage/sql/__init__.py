"""The SQL storage core: repositories and unit of work written once over a ``Dialect``."""

from aligner_core.storage.sql.dialect import Cursor, Dialect, Session
from aligner_core.storage.sql.storage import SqlStorage

__all__ = ["Cursor", "Dialect", "Session", "SqlStorage"]
