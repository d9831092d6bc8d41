"""What the service is built with: the ports and the settings, wired once by ``connect``."""

from __future__ import annotations

import attrs

from aligner_core.domain.deadlines import Stage
from aligner_core.domain.prescriptions import Design
from aligner_core.links import Links
from aligner_core.ports import BlobStore, Clock, FileScanner, IdGenerator, Intake, Storage
from aligner_core.service.sharing import LinkKeys

__all__ = ["Deps", "Links"]


@attrs.frozen
class Deps:
    """The ports and settings every command and query reads (built by ``connect``)."""

    storage: Storage
    clock: Clock
    ids: IdGenerator
    blobs: BlobStore
    scanner: FileScanner
    intake: Intake
    link_keys: LinkKeys
    links: Links = attrs.field(factory=Links)
    default_reference_code: str | None = None
    turnaround_table: dict[tuple[Stage, Design], int] | None = None
    message_id_domain: str = "aligner-core.invalid"
