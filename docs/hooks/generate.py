"""MkDocs hook (``hooks:`` in mkdocs.yml): regenerate ``docs/generated/`` before every
build, so that ``mkdocs build`` alone makes the Results page and the per-check claims
tables from ``results_bank/verify/claims.json`` and the results bank
(:mod:`fasttransfer.docs_pages`, the same as ``fasttransfer docs``). Files are written
only when their text changed, so ``mkdocs serve`` does not rebuild in a loop."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.generate")


def on_pre_build(config, **kwargs) -> None:
    from fasttransfer.docs_pages import generate, stored_claims
    from fasttransfer.errors import InputError

    root = Path(config.config_file_path).resolve().parent
    bank = root / "results_bank"
    try:
        written = generate(stored_claims(bank), bank, Path(config.docs_dir) / "generated")
    except InputError as err:
        from mkdocs.exceptions import PluginError  # MkDocs' one-line build error

        raise PluginError(f"docs/hooks/generate.py: {err}") from None
    for path in written:
        log.info("generated %s", path)
