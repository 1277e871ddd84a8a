"""A width x HP sweep as data (SPEC §2, §7): reading a CSV, the structural checks that
every analysis needs, and the padded arrays the estimators work on.

A sweep is a table with columns ``width, hp, loss[, seed]``: one row per training run,
``hp`` the log of the scale-free HP nu, ``loss`` NaN/inf for a diverged run. Every
problem raises :class:`InputError` with a one-line message naming the file and line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fasttransfer.theory.errors import InputError

REQUIRED_COLUMNS: tuple[str, ...] = ("width", "hp", "loss")
MIN_WIDTHS = 3
MIN_HP = 5
_NAN_TOKENS = frozenset({"", "nan", "+nan", "-nan", "na", "n/a", "none", "null"})


def fmt_value(x: float) -> str:
    """A number as messages show it (``%g``)."""
    return f"{x:g}"


# --------------------------------------------------------------------------- reading
def read_sweep(path, *, log_hp: bool = False) -> pd.DataFrame:
    """Read and validate a sweep CSV (columns ``width,hp,loss[,seed]``; extra columns
    ignored). Returns a DataFrame with columns width (float), hp (float; natural log of
    the file's hp when ``log_hp``), loss (float; NaN/inf = diverged run, kept and
    counted later), seed (int; 0 when the file has no seed column), sorted by width,
    seed, hp. Every problem raises :class:`InputError` with a one-line message."""
    path = Path(path)
    header, body, line_no = _csv_rows(path, _read_text(path))
    table = pd.DataFrame(body, columns=header, dtype=str)
    has_seed = "seed" in header
    out = _numeric_columns(path, table, line_no, REQUIRED_COLUMNS + (("seed",) if has_seed else ()))
    width, hp = out["width"], out["hp"]
    if (width <= 0).any():
        i = int(np.flatnonzero(width <= 0)[0])
        raise InputError(f"{path}: column 'width' must be > 0 (line {line_no[i]}: {fmt_value(width[i])})")
    if log_hp:
        if (hp <= 0).any():
            i = int(np.flatnonzero(hp <= 0)[0])
            raise InputError(
                f"log_hp: column 'hp' must be > 0 to take its log (line {line_no[i]}: {fmt_value(hp[i])})",
                param="log_hp")
        hp = np.log(hp)
    if has_seed:
        seed_f = out["seed"]
        if (seed_f != np.round(seed_f)).any():
            i = int(np.flatnonzero(seed_f != np.round(seed_f))[0])
            raise InputError(f"{path}: column 'seed' must hold integers (line {line_no[i]}: {fmt_value(seed_f[i])})")
        seed = seed_f.astype(np.int64)
    else:
        seed = np.zeros(width.size, dtype=np.int64)
    df = pd.DataFrame({"width": width, "hp": hp, "loss": out["loss"], "seed": seed, "_line": line_no})
    _reject_duplicate_runs(path, df, has_seed)
    return validate_sweep(df.drop(columns="_line"), source=str(path))


def _read_text(path: Path) -> str:
    if not path.exists():
        raise InputError(f"SWEEP.csv: no such file: {path}")
    if path.is_dir():
        raise InputError(f"SWEEP.csv: {path} is a directory, not a CSV file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (expected a CSV file)") from None
    if not text.strip():
        raise InputError(f"{path}: empty file (expected a header width,hp,loss[,seed])")
    return text


def _csv_rows(path: Path, text: str) -> tuple[list[str], list[list[str]], np.ndarray]:
    """The header (checked: no duplicates, the required columns present), the non-blank
    rows (checked: as many fields as the header) and their file line numbers."""
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(f"{path}: duplicate column {name!r} in the header")
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; need width,hp,loss[,seed], "
            f"found {','.join(header) or '(none)'}")
    body: list[list[str]] = []
    lines: list[int] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not f.strip() for f in row):
            continue  # blank line
        if len(row) != len(header):
            kind = "extra" if len(row) > len(header) else "missing"
            raise InputError(
                f"{path}: line {lineno} has {len(row)} fields but the header has "
                f"{len(header)} ({kind} column)")
        body.append(row)
        lines.append(lineno)
    if not body:
        raise InputError(f"{path}: empty file (a header but no rows)")
    return header, body, np.asarray(lines)


def _numeric_columns(path: Path, table: pd.DataFrame, line_no: np.ndarray,
                     columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The columns as float64; a loss may be a NaN token (a diverged run), every other
    value must be a finite number."""
    out: dict[str, np.ndarray] = {}
    for col in columns:
        tokens = table[col].str.strip()
        values = pd.to_numeric(tokens, errors="coerce").to_numpy(dtype=np.float64)
        if col == "loss":
            bad = np.isnan(values) & ~tokens.str.lower().isin(_NAN_TOKENS).to_numpy()
        else:
            bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "non-numeric" if col == "loss" else "non-numeric or non-finite"
            raise InputError(
                f"{path}: {what} value {tokens.iloc[i]!r} in column {col!r} "
                f"(line {line_no[i]}; {int(bad.sum())} such value(s))")
        out[col] = values
    return out


def _reject_duplicate_runs(path: Path, df: pd.DataFrame, has_seed: bool) -> None:
    dup = df.duplicated(["width", "hp", "seed"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        same = df[dup & (df.width == first.width) & (df.hp == first.hp) & (df.seed == first.seed)]
        hint = "" if has_seed else " (add a 'seed' column for repeated runs)"
        raise InputError(
            f"{path}: duplicate run width={fmt_value(first.width)}, hp={fmt_value(first.hp)}"
            f"{f', seed={first.seed}' if has_seed else ''} on lines "
            f"{', '.join(str(v) for v in same._line.tolist()[:3])}{hint}")


# ------------------------------------------------------------------------ validation
def validate_sweep(df: pd.DataFrame, *, source: str = "sweep") -> pd.DataFrame:
    """The structural checks shared by files and in-memory DataFrames: >= 3 widths,
    >= 5 HP values per width, not every run of a width diverged. Returns the sweep
    sorted by width, seed, hp with the columns width, hp, loss, seed."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    df = pd.DataFrame({
        "width": np.asarray(df["width"], dtype=np.float64),
        "hp": np.asarray(df["hp"], dtype=np.float64),
        "loss": np.asarray(df["loss"], dtype=np.float64),
        "seed": (np.asarray(df["seed"], dtype=np.int64) if "seed" in df.columns
                 else np.zeros(len(df), dtype=np.int64)),
    })
    widths = np.unique(df.width)
    if widths.size < MIN_WIDTHS:
        raise InputError(
            f"{source}: fewer than {MIN_WIDTHS} widths (found {widths.size}: "
            f"{', '.join(fmt_value(w) for w in widths) or 'none'}); rates need at least {MIN_WIDTHS}")
    finite = np.isfinite(df.loss.to_numpy())
    for w in widths:
        sel = df.width.to_numpy() == w
        if not finite[sel].any():
            raise InputError(f"{source}: every run at width {fmt_value(w)} diverged (NaN/inf loss)")
        n_hp = np.unique(df.hp.to_numpy()[sel]).size
        if n_hp < MIN_HP:
            raise InputError(
                f"{source}: width {fmt_value(w)} has {n_hp} HP values; need at least {MIN_HP} "
                "for the quadratic fit")
        n_ok = np.unique(df.hp.to_numpy()[sel & finite]).size
        if n_ok < MIN_HP:
            raise InputError(
                f"{source}: width {fmt_value(w)} has only {n_ok} HP values with a finite loss; "
                f"need at least {MIN_HP}")
    return df.sort_values(["width", "seed", "hp"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------ dense sweep arrays
@dataclass(frozen=True)
class DenseSweep:
    """A sweep as padded arrays. widths (W,); hp (W, H) ascending, NaN-padded;
    n_hp (W,); loss (W, H, S) with NaN for diverged *and* missing runs; finite (W, H, S);
    present (W, S): seed slot s exists at width w; n_seeds (W,); shared_seeds: every
    width has the same seed labels (then seeds are resampled jointly); diverged: the
    number of runs with a non-finite loss."""

    widths: np.ndarray
    hp: np.ndarray
    n_hp: np.ndarray
    loss: np.ndarray
    finite: np.ndarray
    present: np.ndarray
    n_seeds: np.ndarray
    shared_seeds: bool
    diverged: int


def densify(df: pd.DataFrame) -> DenseSweep:
    """A validated sweep (:func:`validate_sweep`) as :class:`DenseSweep` arrays."""
    widths = np.unique(df.width.to_numpy())
    W = widths.size
    per_w = [df[df.width.to_numpy() == w] for w in widths]
    hps = [np.unique(g.hp.to_numpy()) for g in per_w]
    seeds = [np.unique(g.seed.to_numpy()) for g in per_w]
    H = max(h.size for h in hps)
    S = max(s.size for s in seeds)
    hp = np.full((W, H), np.nan)
    loss = np.full((W, H, S), np.nan)
    present = np.zeros((W, S), dtype=bool)
    for i, (g, h, s) in enumerate(zip(per_w, hps, seeds)):
        hp[i, : h.size] = h
        present[i, : s.size] = True
        loss[i, np.searchsorted(h, g.hp.to_numpy()), np.searchsorted(s, g.seed.to_numpy())] = g.loss.to_numpy()
    finite = np.isfinite(loss)
    loss = np.where(finite, loss, np.nan)
    shared = all(s.size == seeds[0].size and np.array_equal(s, seeds[0]) for s in seeds)
    return DenseSweep(widths=widths, hp=hp, n_hp=np.array([h.size for h in hps]), loss=loss,
                      finite=finite, present=present, n_seeds=present.sum(1), shared_seeds=shared,
                      diverged=int((~np.isfinite(df.loss.to_numpy())).sum()))
