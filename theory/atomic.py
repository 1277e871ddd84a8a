"""Moved to :mod:`fasttransfer.theory.store` (removed once every caller imports it there)."""

from fasttransfer.theory.store import atomic_write_csv, atomic_write_json, atomic_write_text  # noqa: F401
