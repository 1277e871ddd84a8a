"""The one results store: atomic writes, and entries keyed on configuration AND code.

Layout (shared by ``simulate``, ``verify`` and ``figures``)::

    ROOT/<study>/<preset>[/<key>...]/manifest.json   what the entry holds, and why
    ROOT/<study>/<preset>[/<key>...]/*.csv|*.json    the results (tidy CSV / JSON)

``manifest.json`` records the study, the preset, the configuration (JSON), the code
version (:func:`code_version`: a hash of the source of the modules the numbers depend
on), the status (``running`` while a run fills the entry, ``complete`` after), and the
provenance (command, date, host, package versions, device kind and count, git commit,
wall time).

One mismatch policy: an entry made with another configuration or another code version
is never reused and never silently overwritten; opening it raises :class:`StaleResult`,
whose message names the way out (``recompute=True`` / ``--recompute``). A ``running``
entry of the same configuration and code is resumed (a killed run loses only the
unfinished cell of a study that writes cells).

Writes are atomic: a write goes to a temporary file in the target's folder, is flushed
and fsynced, and replaces the target with ``os.replace``; a killed or failing write
leaves the old file (or none) and no temporary behind. Text and JSON only: results are
CSV/JSON, never pickle.

The committed results bank (:data:`BANK`, the repository's ``results_bank/``) is a ROOT
like any other, holding entries too large for a CPU (paper presets made on a GPU).
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fasttransfer.errors import InputError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# The repository's committed results bank (a source checkout; a wheel has none).
BANK = Path(__file__).resolve().parent.parent / "results_bank"
_PACKAGES = ("numpy", "scipy", "pandas", "sympy", "mpmath", "jax", "jaxlib", "optax", "matplotlib")


# ----------------------------------------------------------------------- atomic writes
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
        # mkstemp creates 0600; results are ordinary files (0644 under the usual umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
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


# ------------------------------------------------------------------------ code version
def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def code_version(modules: Iterable[str]) -> str:
    """A 16-hex-digit hash of the code of ``modules`` (dotted names, e.g.
    ``"fasttransfer.simulations.relu_net"``): of each module's syntax tree without
    docstrings, comments or layout, so editing prose leaves it unchanged and editing
    code changes it. The modules are found, not imported."""
    h = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise InputError(f"modules: no Python source for {name!r}", param="modules")
        tree = _strip_docstrings(ast.parse(Path(spec.origin).read_text(encoding="utf-8")))
        h.update(name.encode() + b"\n" + ast.dump(tree).encode() + b"\n")
    return h.hexdigest()[:16]


# -------------------------------------------------------------------------- provenance
def _git_commit() -> dict:
    """The commit named by FASTTRANSFER_CODE_VERSION (a copy sent to another machine may
    carry another HEAD than the code it runs), else this checkout's, else unknown."""
    named = os.environ.get("FASTTRANSFER_CODE_VERSION")
    if named:
        return {"commit": named, "dirty": None, "source": "FASTTRANSFER_CODE_VERSION"}
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None, "source": "no git checkout"}


def _devices() -> dict:
    # Described from JAX when this process has already imported it (every run that uses
    # JAX has); theory code never imports JAX itself.
    jax = sys.modules.get("jax")
    if jax is not None:
        try:
            devs = jax.local_devices()
            kinds = sorted({f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in devs})
            return {"kind": ", ".join(kinds), "count": len(devs)}
        except Exception:  # a JAX without a usable backend: fall back to the host
            pass
    return {"kind": f"cpu:{platform.machine()}", "count": 1}


def _x64() -> bool | None:
    # JAX's x64 mode changes a run's numbers (default dtypes, optax's promotions: ~0.5%
    # median on the MNIST-1D sweeps), so a result says which mode made it; None when the
    # process never imported JAX.
    jax = sys.modules.get("jax")
    return None if jax is None else bool(jax.config.jax_enable_x64)


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def provenance(command: str | None = None) -> dict:
    """When, where and with what a result is made: command, date (UTC), host, package
    versions, device kind and count, JAX's x64 mode (None without JAX), git commit."""
    return {
        "command": command if command is not None else " ".join(sys.argv),
        "date_utc": _now(),
        "host": platform.node(),
        "versions": _versions(),
        "device": _devices(),
        "jax_x64": _x64(),
        "git": _git_commit(),
    }


# ------------------------------------------------------------------------------ errors
class StaleResult(InputError):
    """A stored entry made with another configuration or code version."""

    def __init__(self, message: str):
        super().__init__(message, param="recompute")


class MissingResult(InputError):
    """No finished entry where one was asked for."""


# ----------------------------------------------------------------------------- entries
def _normal(config: dict) -> dict:
    return json.loads(json.dumps(config, sort_keys=True))  # tuples -> lists, as stored


@dataclass(frozen=True)
class Entry:
    """One store entry: a folder and its manifest (a dict, as stored)."""

    dir: Path
    manifest: dict

    def path(self, name: str) -> Path:
        return self.dir / name

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == "complete"

    @property
    def config(self) -> dict:
        return self.manifest["config"]

    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.dir / name, text)

    def write_json(self, name: str, obj) -> Path:
        return atomic_write_json(self.dir / name, obj, sort_keys=True)

    def write_csv(self, name: str, df, **to_csv) -> Path:
        to_csv.setdefault("float_format", "%.17g")
        to_csv.setdefault("na_rep", "nan")
        return atomic_write_csv(self.dir / name, df, **to_csv)

    def read_json(self, name: str):
        try:
            return json.loads((self.dir / name).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise MissingResult(f"{self.dir / name}: cannot be read ({err})") from None

    def read_csv(self, name: str):
        import pandas as pd

        try:
            return pd.read_csv(self.dir / name)
        except (OSError, ValueError) as err:
            raise MissingResult(f"{self.dir / name}: cannot be read ({err})") from None

    def describe(self) -> str:
        """One line: where, when, on what, with which code (for "reused ..." messages
        and the report)."""
        made = self.manifest.get("provenance", {})
        dev = made.get("device", {})
        date = (made.get("finished_utc") or made.get("date_utc") or "?")[:16].replace("T", " ")
        where = self.dir
        if where.is_absolute() and where.is_relative_to(BANK.parent):
            where = where.relative_to(BANK.parent)  # results_bank/...: the same on every clone
        return (
            f"{where} (made {date} UTC on {dev.get('kind', '?')} x{dev.get('count', '?')}, "
            f"code {self.manifest.get('code_version', '?')})"
        )


def entry_dir(root, study: str, preset: str, *key: str) -> Path:
    """ROOT/<study>/<preset>[/<key>...]."""
    return Path(root, study, preset, *key)


def _read_manifest(path: Path) -> dict | None:
    file = path / MANIFEST
    if not file.exists():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{file}: not a results manifest ({err})") from None
    if not isinstance(manifest, dict) or not {"config", "code_version"} <= set(manifest):
        raise InputError(f"{file}: not a results manifest (no config or code_version)")
    return manifest


def _current_code(manifest: dict) -> str | None:
    try:
        return code_version(manifest.get("code_modules", []))
    except InputError:  # a module the entry depends on no longer exists
        return None


def _mismatch(manifest: dict, config: dict | None, code: str | None) -> str | None:
    """What differs between a stored entry and the asked-for configuration and code."""
    parts = []
    if config is not None:
        old, new = manifest["config"], _normal(config)
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if keys:
            shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:4])
            parts.append(f"configuration ({shown}{', ...' if len(keys) > 4 else ''})")
    if code != manifest["code_version"]:
        parts.append(f"code version ({manifest['code_version']} -> {code or 'modules gone'})")
    return " and ".join(parts) or None


def stale_reason(path, config: dict, modules: Iterable[str]) -> str | None:
    """What differs between the entry stored at ``path`` and ``config`` with the current
    code of ``modules`` (None: it holds them; "no entry" when there is none)."""
    manifest = _read_manifest(Path(path))
    if manifest is None:
        return "no entry"
    return _mismatch(manifest, config, code_version(list(modules)))


def _stale(path: Path, what: str) -> StaleResult:
    return StaleResult(
        f"{path} holds results of another {what}; recompute it "
        "(recompute=True; --recompute on the command line) or use another "
        "output folder"
    )


def open_entry(
    root,
    study: str,
    preset: str,
    *key: str,
    config: dict,
    modules: Iterable[str],
    recompute: bool = False,
    command: str | None = None,
) -> Entry:
    """The entry a run writes into: created with a ``running`` manifest, or the existing
    one when it holds the same configuration and code (resumed or reused: check
    :attr:`Entry.complete`). ``modules``: the dotted names of the modules whose code the
    numbers depend on (their :func:`code_version` is the entry's, and they are stored so
    that any reader can tell a stale entry without importing them). Another
    configuration or code version raises :class:`StaleResult`, unless ``recompute``
    (the old entry is deleted first)."""
    path = entry_dir(root, study, preset, *key)
    modules = list(modules)
    code = code_version(modules)
    manifest = _read_manifest(path)
    if manifest is not None and not recompute:
        what = _mismatch(manifest, config, code)
        if what:
            raise _stale(path, what)
        return Entry(path, manifest)
    if path.exists() and (recompute and manifest is not None):
        shutil.rmtree(path)
    elif path.exists() and any(path.iterdir()) and manifest is None:
        raise InputError(
            f"{path} exists and is not a results entry (no {MANIFEST}); use another output folder"
        )
    manifest = {
        "study": study,
        "preset": preset,
        "key": list(key),
        "config": _normal(config),
        "code_version": code,
        "code_modules": modules,
        "status": "running",
        "provenance": provenance(command),
    }
    atomic_write_json(path / MANIFEST, manifest, sort_keys=True)
    return Entry(path, manifest)


def finish(entry: Entry, *, wall_s: float | None = None, **extra) -> Entry:
    """Mark ``entry`` complete: finishing date, device and JAX's x64 mode (read again: a
    run imports JAX after opening its entry), accumulated wall time (seconds, over resumed
    runs) and any ``extra`` JSON fields under ``manifest["result"]``."""
    manifest = json.loads(json.dumps(entry.manifest))
    prov = manifest.setdefault("provenance", {})
    prov["finished_utc"] = _now()
    prov["device"] = _devices()
    prov["jax_x64"] = _x64()
    if wall_s is not None:
        prov["wall_s"] = round(float(prov.get("wall_s", 0.0)) + float(wall_s), 3)
    if extra:
        manifest.setdefault("result", {}).update(_normal(extra))
    manifest["status"] = "complete"
    atomic_write_json(entry.dir / MANIFEST, manifest, sort_keys=True)
    return Entry(entry.dir, manifest)


def read_entry(root, study: str, preset: str, *key: str, config: dict | None = None) -> Entry:
    """A complete entry, for reading (figures, re-analysis). None found, or one that is
    unfinished, raises :class:`MissingResult`; one whose code has changed since (the
    stored modules' :func:`code_version` now differs), or, given ``config``, one of
    another configuration, raises :class:`StaleResult`."""
    path = entry_dir(root, study, preset, *key)
    manifest = _read_manifest(path)
    if manifest is None or manifest.get("status") != "complete":
        state = "no results" if manifest is None else "an unfinished run"
        raise MissingResult(f"{path}: {state} for {study} at the {preset} preset")
    what = _mismatch(manifest, config, _current_code(manifest))
    if what:
        raise _stale(path, what)
    return Entry(path, manifest)


def find_entry(roots, study: str, preset: str, *key: str, config: dict | None = None) -> Entry:
    """The first of ``roots`` (e.g. an output folder, then :data:`BANK`) holding a
    complete, current entry; the first root's error (missing or stale) when none does."""
    first = None
    for root in roots:
        try:
            return read_entry(root, study, preset, *key, config=config)
        except MissingResult as err:
            first = first or err
        except StaleResult as err:
            if first is None or isinstance(first, MissingResult):
                first = err
    raise first if first is not None else MissingResult(f"no roots given for {study}")


def reuse_or_run(
    root,
    study: str,
    preset: str,
    *key: str,
    config: dict,
    modules: Iterable[str],
    run: Callable[[Entry], dict | None],
    recompute: bool = False,
    command: str | None = None,
) -> Entry:
    """The complete entry of ``config``: reused when one is stored (logged at INFO,
    with where, when and on what it was made), else ``run(entry)`` writes its
    files into the open entry (returning JSON fields for the manifest's ``result``, or
    None) and the entry is finished with its wall time. Stale entries follow
    :func:`open_entry`."""
    entry = open_entry(
        root,
        study,
        preset,
        *key,
        config=config,
        modules=modules,
        recompute=recompute,
        command=command,
    )
    if entry.complete:
        logger.info("reused %s", entry.describe())
        return entry
    start = time.perf_counter()
    extra = run(entry) or {}
    return finish(entry, wall_s=time.perf_counter() - start, **extra)
