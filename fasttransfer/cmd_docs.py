"""``fasttransfer docs``: the documentation site's generated pages (the claims table of a
``verify`` run, per-check tables, the results bank's contents) from a claims.json and
the bank; the rendering lives in :mod:`fasttransfer.docs_pages`, this module parses
flags and prints. ``mkdocs build`` runs the same through ``docs/hooks/generate.py``."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from fasttransfer.docs_pages import generate, stored_claims

    claims = args.claims if args.claims is not None else stored_claims(args.bank)
    written = generate(claims, args.bank, args.out)
    print(f"{len(written)} page(s) written to {args.out}" if written else f"{args.out}: up to date")
    for path in written:
        print(f"  {path}")
    return 0
