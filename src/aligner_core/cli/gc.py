"""``aligner-core gc``: remove what interrupted uploads left behind.

::

    aligner-core gc --url URL [--grace-hours H] [--blob-root DIR] [--spool-dir DIR]

Spool files older than the grace period and blobs no case refers to are removed
(``core.collect_garbage``); a line says how many files and bytes went and what was
kept. A database that does not exist is never made here. Exit status 0, 2 on an error.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TextIO

__all__ = ["add_arguments", "run_gc"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gc`` options, on the parser ``aligner-core`` made for it."""
    parser.add_argument("--url", required=True, help="storage URL, e.g. sqlite:///lab.db")
    parser.add_argument(
        "--grace-hours", type=float, default=None,
        help="keep files younger than this (default: the connection's gc_grace)",
    )  # fmt: skip
    parser.add_argument("--blob-root", help="the blob store's directory (as given to connect)")
    parser.add_argument("--spool-dir", help="the upload spool directory (as given to connect)")
    parser.set_defaults(run=run_gc)


def run_gc(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Collect garbage once for the database at ``args.url`` and print what went."""
    from aligner_core.bootstrap import connect
    from aligner_core.cli.outbox import _check_exists
    from aligner_core.errors import ValidationError

    out = out or sys.stdout
    _check_exists(args.url)
    if args.grace_hours is not None and not args.grace_hours >= 0:
        raise ValidationError.of("at_least", "$.grace_hours", min=0)
    options: dict[str, object] = {"gc_on_open": False}
    if args.blob_root:
        options["blob_root"] = args.blob_root
    if args.spool_dir:
        options["spool_dir"] = args.spool_dir
    grace = None if args.grace_hours is None else timedelta(hours=args.grace_hours)
    with connect(args.url, **options) as core:
        report = core.collect_garbage(grace)
    print(f"gc: {report}", file=out)
    return 0
