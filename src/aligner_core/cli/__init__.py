"""The ``aligner-core`` console command: set-up, e-mail dispatch, the demo and file checks.

::

    aligner-core init --url URL --name NAME --reference-code CODE --admin-email E --admin-username U
    aligner-core dispatch --url URL --smtp-host H [--once | --forever] [--interval S] ...
    aligner-core demo [--db PATH]      run a full case lifecycle on SQLite (or memory://)
    aligner-core scan FILE... [--json] check files the way an upload is checked
    aligner-core outbox list|show|retry|requeue --url URL   look into and repair the outbox
    aligner-core gc --url URL [--grace-hours H]           remove what interrupted uploads left
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from aligner_core.bootstrap import connect
    from aligner_core.cli.demo import run_full_lifecycle

    if args.db == "memory":
        url = "memory://"
        print("storage: in memory")
    else:
        path = args.db or os.path.join(tempfile.mkdtemp(prefix="aligner-core-demo-"), "cases.db")
        path = os.path.abspath(path)
        url = f"sqlite:///{path}"
        print(f"storage: SQLite database {path}")
    with connect(url) as core:
        run_full_lifecycle(core)
    return 0


def _scan(args: argparse.Namespace) -> int:
    from aligner_core.cli.scan import run_scan

    return run_scan(list(args.files), as_json=args.json)


def _init(args: argparse.Namespace) -> int:
    from aligner_core.cli.init import run_init

    return run_init(args)


def _dispatch(args: argparse.Namespace) -> int:
    from aligner_core.cli.dispatch import run_dispatch

    return run_dispatch(args)


def main(argv: Sequence[str] | None = None) -> int:
    from aligner_core.cli import dispatch, init

    parser = argparse.ArgumentParser(prog="aligner-core", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("init", help="create a lab's network and its first admin")
    init.add_arguments(setup)
    setup.set_defaults(run=_init)
    send = commands.add_parser("dispatch", help="send the outbox's e-mails over SMTP")
    dispatch.add_arguments(send)
    send.set_defaults(run=_dispatch)
    demo = commands.add_parser("demo", help="run a full case lifecycle and print its timeline")
    demo.add_argument("--db", help="SQLite file to use (default: a new temporary file); 'memory'")
    demo.set_defaults(run=_demo)
    scan = commands.add_parser("scan", help="check files (STL, images, PDF, archives)")
    scan.add_argument("files", nargs="+")
    scan.add_argument("--json", action="store_true", help="print the reports as JSON")
    scan.set_defaults(run=_scan)
    from aligner_core.cli import outbox  # list, show, retry, requeue: see its docstring

    outbox.add_arguments(commands.add_parser("outbox", help="look into and repair the outbox"))
    from aligner_core.cli import gc  # spool files and unreferenced blobs

    gc.add_arguments(commands.add_parser("gc", help="remove what interrupted uploads left"))
    args = parser.parse_args(argv)
    from aligner_core.errors import AlignerError

    try:
        return int(args.run(args))
    except AlignerError as e:
        print(f"aligner-core: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
