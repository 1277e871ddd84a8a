"""A byte-level English text corpus that ships with Python itself (no download, no new
dependency): the language-reference topics of ``pydoc_data.topics`` and, optionally, the
docstrings of the standard library's modules.

Sources (``corpus`` names):

* ``"pydoc"``: the values of ``pydoc_data.topics.topics`` (the text ``help("with")``
  shows: the reference manual's sections as plain text), in sorted key order, joined by a
  blank line. 79 topics, 466,273 bytes under CPython 3.11.7.
* ``"pydoc+stdlib"``: the above, then the docstrings (module, class and function) of the
  standard library's ``.py`` files, read with :mod:`ast` from their source (never imported
  or executed), files in sorted relative-path order, docstrings in ``ast.walk`` order
  (breadth first), each cleaned by ``ast.get_docstring`` and kept once (exact duplicates
  dropped, so that boilerplate cannot sit on both sides of the split). Folders named
  ``test``, ``tests``, ``site-packages``, ``dist-packages``, ``__pycache__`` are skipped.
  2,267,120 bytes in all under CPython 3.11.7 (parsing takes about 10 s, once per
  process).

Both depend on the Python version: :func:`corpus_info` gives the size and SHA-256 that a
results file should carry as provenance.

Tokens are the UTF-8 bytes (vocabulary 256; no tokenizer). Split: the byte stream is cut
into blocks of ``BLOCK`` bytes, and every ``HELD_OUT_EVERY``-th block (indices 9, 19, ...)
is held out (10%); the train stream is the concatenation of the other blocks (a window
may straddle the seam between two train blocks: at most ``context`` of each block's 4096
windows do). Interleaved blocks put every part of the corpus on both sides, unlike a tail
split (sorted topics would hold out the last letters of the alphabet only).

Sampling: :func:`sample_windows` draws ``batch`` windows of ``length`` consecutive bytes
with uniform start positions (with replacement), pure JAX (jit/vmap-able);
:func:`eval_windows` gives a fixed, evenly spaced set of held-out windows (no key).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
import sysconfig
from pathlib import Path

import numpy as np

from fasttransfer.errors import InputError

__all__ = [
    "CORPORA",
    "corpus_bytes",
    "corpus_info",
    "eval_windows",
    "load",
    "sample_windows",
    "stdlib_docstrings",
]

CORPORA: tuple[str, ...] = ("pydoc", "pydoc+stdlib")
BLOCK = 4096
HELD_OUT_EVERY = 10
VOCAB = 256
_SKIP_DIRS = frozenset({"test", "tests", "site-packages", "dist-packages", "__pycache__"})
_DOC_NODES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _pydoc_text() -> str:
    try:
        from pydoc_data.topics import topics
    except ImportError as err:  # some distributions strip it (e.g. Debian's python3-minimal)
        raise InputError(
            "corpus needs the standard library's pydoc_data package (the help() topics), "
            "which this Python lacks: install the full CPython standard library (on "
            "Debian/Ubuntu: the libpython3.X-stdlib package)",
            param="corpus",
        ) from err
    return "\n\n".join(topics[key] for key in sorted(topics))


def stdlib_docstrings(root: Path | str | None = None) -> list[str]:
    """Docstrings of the ``.py`` files under ``root`` (default: this Python's standard
    library), read with ``ast.parse`` (nothing is imported or executed); deterministic
    order (sorted relative paths, then ``ast.walk`` order), exact duplicates kept once;
    files that do not parse under this Python are skipped."""
    root = Path(sysconfig.get_paths()["stdlib"] if root is None else root)
    files = sorted(
        (
            p
            for p in root.rglob("*.py")
            if not _SKIP_DIRS.intersection(p.relative_to(root).parts[:-1])
        ),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    seen: set[str] = set()
    out = []
    for path in files:
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError):  # e.g. deliberately broken test data
            continue
        for node in ast.walk(tree):
            if isinstance(node, _DOC_NODES):
                doc = ast.get_docstring(node, clean=True)
                if doc and doc not in seen:
                    seen.add(doc)
                    out.append(doc)
    return out


@functools.lru_cache(maxsize=2)
def corpus_bytes(corpus: str = "pydoc") -> np.ndarray:
    """The whole corpus as a read-only uint8 array (cached per process)."""
    if corpus not in CORPORA:
        raise InputError(f"corpus must be one of {CORPORA}, got {corpus!r}", param="corpus")
    parts = [_pydoc_text()]
    if corpus == "pydoc+stdlib":
        parts += stdlib_docstrings()
    data = np.frombuffer("\n\n".join(parts).encode("utf-8"), dtype=np.uint8)
    data.flags.writeable = False
    return data


@functools.lru_cache(maxsize=2)
def load(corpus: str = "pydoc") -> tuple[np.ndarray, np.ndarray]:
    """(train, held_out) uint8 arrays: blocks of ``BLOCK`` bytes, every
    ``HELD_OUT_EVERY``-th held out (module docstring)."""
    data = corpus_bytes(corpus)
    block = np.arange(data.size) // BLOCK
    held = block % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    train, test = data[~held], data[held]
    train.flags.writeable = False
    test.flags.writeable = False
    return train, test


def corpus_info(corpus: str = "pydoc") -> dict:
    """Provenance: name, bytes (total, train, held out), SHA-256 of the bytes, Python
    version (the corpus changes with it)."""
    data = corpus_bytes(corpus)
    train, test = load(corpus)
    return {
        "corpus": corpus,
        "bytes": int(data.size),
        "train_bytes": int(train.size),
        "held_out_bytes": int(test.size),
        "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
        "python": sys.version.split()[0],
    }


def sample_windows(key, data, batch: int, length: int):
    """``batch`` windows of ``length`` consecutive bytes of ``data`` (a 1-D integer
    array, e.g. the train stream as a jax array), uniform start positions drawn with
    ``key``; returns int32 (batch, length). Pure JAX (jit/vmap-able)."""
    import jax
    import jax.numpy as jnp

    n = data.shape[0]
    if length > n:
        raise InputError(f"length ({length}) exceeds the data ({n} bytes)", param="length")
    starts = jax.random.randint(key, (batch,), 0, n - length + 1, dtype=jnp.int32)
    idx = starts[:, None] + jnp.arange(length, dtype=jnp.int32)[None, :]
    return jnp.asarray(data)[idx].astype(jnp.int32)


def eval_windows(data: np.ndarray, n: int, length: int) -> np.ndarray:
    """A fixed set of ``n`` windows of ``length`` bytes with evenly spaced starts over
    ``data`` (first at 0, last at the end); int32 (n, length)."""
    data = np.asarray(data)
    if length > data.size:
        raise InputError(f"length ({length}) exceeds the data ({data.size} bytes)", param="length")
    if n < 1:
        raise InputError(f"n must be >= 1, got {n}", param="n_eval")
    starts = np.linspace(0, data.size - length, n).round().astype(np.int64)
    return data[starts[:, None] + np.arange(length)[None, :]].astype(np.int32)
