"""Atomic file writes: the one way results reach disk. A write goes to a temporary file
in the target's folder, is flushed and fsynced, and replaces the target with
``os.replace``; a killed or failing write leaves the old file (or none) and no
temporary behind. Text and JSON only: results are CSV/JSON, never pickle.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (creating its folder); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path, obj, *, indent: int = 2, sort_keys: bool = False) -> Path:
    """``obj`` as JSON (a trailing newline), atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys) + "\n")


def atomic_write_csv(path, df, **to_csv) -> Path:
    """A DataFrame as CSV (``index=False`` unless given), atomically."""
    to_csv.setdefault("index", False)
    return atomic_write_text(path, df.to_csv(**to_csv))
