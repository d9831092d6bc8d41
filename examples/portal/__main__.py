"""Start the reference portal: ``python -m examples.portal [--url URL] [--host H] [--port P]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from .app import create_app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.portal", description=__doc__)
    parser.add_argument("--url", default="sqlite:///portal.db", help="storage URL (connect)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--public-url", help="the address in e-mails and share links")
    args = parser.parse_args(argv)
    public = args.public_url or f"http://{args.host}:{args.port}/"
    uvicorn.run(create_app(args.url, portal_url=public), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
