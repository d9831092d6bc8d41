"""``aligner-core init``: a lab's network and its first admin, in a new or existing storage."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

__all__ = ["add_arguments", "run_init"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="storage URL, e.g. sqlite:///lab.db")
    parser.add_argument("--name", required=True, help="the lab's name")
    parser.add_argument("--reference-code", required=True, help="what practices type to join")
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-username", required=True)
    parser.add_argument("--admin-first-name", default="Lab")
    parser.add_argument("--admin-last-name", default="Admin")
    parser.add_argument("--country", default="not given", help="the admin's shipping address")
    parser.add_argument("--city", default="not given")
    parser.add_argument("--postal-code", default="not given")
    parser.add_argument("--street", default="not given")


def run_init(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Create the network and its admin (active); print the reference code and the admin's id.

    Every bad option is named at once (a ``ValidationError``); a taken reference code,
    username or e-mail is refused and nothing is written.
    """
    from aligner_core.bootstrap import connect
    from aligner_core.domain.accounts import Registration
    from aligner_core.serialization import make_converter

    admin = make_converter().structure_checked(
        {
            "clinic_name": args.name,
            "first_name": args.admin_first_name,
            "last_name": args.admin_last_name,
            "email": args.admin_email,
            "username": args.admin_username,
            "shipping_address": {
                "country": args.country,
                "city": args.city,
                "postal_code": args.postal_code,
                "street": args.street,
            },
        },
        Registration,
    )
    with connect(args.url) as core:
        network, account = core.create_network(args.name, args.reference_code, admin)
    print(f"network:        {network.name}", file=out)
    print(f"reference code: {network.reference_code}", file=out)
    print(f"admin:          {account.username} ({account.email})", file=out)
    print(f"admin id:       {account.account_id}", file=out)
    return 0
