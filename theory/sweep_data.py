"""A width x HP sweep as data (docs/paper-setups.md#rate-estimation): reading a CSV, the
structural checks that every analysis needs, and the padded arrays the estimators work on.

A sweep is a table with columns ``width, hp, loss[, seed][, init_loss]``: one row per
training run, ``hp`` the log of the scale-free HP nu, ``loss`` NaN/inf for a diverged
run, ``init_loss`` (optional) the run's loss at initialisation. Every problem raises
:class:`InputError` with a one-line message naming the file and line.

Divergence (:class:`DivergenceRule`, one rule for every analysis): a run has diverged
when its loss is NaN/inf, or above its width's threshold -- the width's loss at
initialisation when the sweep records it (training that ends worse than it began), else
``factor`` times the width's best loss (the lowest cell median; default 2: a
cross-entropy run that ends at 6-7 where the best run of its width reaches 3.3 has
diverged), or an absolute threshold ``above``. The factor applies at a width only where
its median cell lies below the threshold, i.e. where the loss is bounded away from 0
relative to its variation over the grid: on a bowl that rises from near 0 (a regression
loss) a multiple of the best would cut into the bowl itself, so there only NaN/inf, an
``init_loss`` column or ``above`` decide. A cell (width, hp) whose fraction of diverged
seeds exceeds ``max_fraction`` (default 0: any) is excluded: the mean over the
survivors of a cell where some seeds diverge is biased low, and an HP that sometimes
diverges is not an optimum to recommend.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fasttransfer.errors import InputError

REQUIRED_COLUMNS: tuple[str, ...] = ("width", "hp", "loss")
OPTIONAL_COLUMNS: tuple[str, ...] = ("seed", "init_loss")
MIN_WIDTHS = 3
MIN_HP = 5
_NAN_TOKENS = frozenset({"", "nan", "+nan", "-nan", "na", "n/a", "none", "null"})


def fmt_value(x: float) -> str:
    """A number as messages show it (``%g``)."""
    return f"{x:g}"


# --------------------------------------------------------------------------- reading
def log_of_hp(hp, lines=None) -> np.ndarray:
    """ln hp (``--log-hp``: a sweep given in the HP itself), refusing hp <= 0 with the
    first offending value (and its file line when ``lines`` gives them)."""
    hp = np.asarray(hp, dtype=float)
    bad = np.flatnonzero(hp <= 0)
    if len(bad):
        i = int(bad[0])
        at = f"line {lines[i]}: " if lines is not None else ""
        raise InputError(
            f"log_hp: column 'hp' must be > 0 to take its log ({at}{fmt_value(hp[i])})",
            param="log_hp",
        )
    return np.log(hp)


def read_sweep(path, *, log_hp: bool = False, check_widths: bool = True) -> pd.DataFrame:
    """Read and validate a sweep CSV (columns ``width,hp,loss[,seed][,init_loss]``; extra
    columns ignored). Returns a DataFrame with columns width (float), hp (float; natural
    log of the file's hp when ``log_hp``), loss (float; NaN/inf = diverged run, kept and
    counted later), seed (int; 0 when the file has no seed column)[, init_loss], sorted
    by width, seed, hp. Every problem raises :class:`InputError` with a one-line message;
    ``check_widths=False`` leaves the per-width checks of :func:`validate_sweep` to the
    analysis (which may drop such widths)."""
    path = Path(path)
    header, body, line_no = _csv_rows(path, _read_text(path))
    table = pd.DataFrame(body, columns=header, dtype=str)
    has_seed = "seed" in header
    out = _numeric_columns(
        path, table, line_no, REQUIRED_COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if c in header)
    )
    width, hp = out["width"], out["hp"]
    if (width <= 0).any():
        i = int(np.flatnonzero(width <= 0)[0])
        raise InputError(
            f"{path}: column 'width' must be > 0 (line {line_no[i]}: {fmt_value(width[i])})"
        )
    if log_hp:
        hp = log_of_hp(hp, line_no)
    if has_seed:
        seed_f = out["seed"]
        if (seed_f != np.round(seed_f)).any():
            i = int(np.flatnonzero(seed_f != np.round(seed_f))[0])
            raise InputError(
                f"{path}: column 'seed' must hold integers (line {line_no[i]}: {fmt_value(seed_f[i])})"
            )
        seed = seed_f.astype(np.int64)
    else:
        seed = np.zeros(width.size, dtype=np.int64)
    df = pd.DataFrame(
        {"width": width, "hp": hp, "loss": out["loss"], "seed": seed, "_line": line_no}
    )
    if "init_loss" in out:
        df["init_loss"] = out["init_loss"]
    _reject_duplicate_runs(path, df, has_seed)
    return validate_sweep(df.drop(columns="_line"), source=str(path), check_widths=check_widths)


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
            f"found {','.join(header) or '(none)'}"
        )
    body: list[list[str]] = []
    lines: list[int] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not f.strip() for f in row):
            continue  # blank line
        if len(row) != len(header):
            kind = "extra" if len(row) > len(header) else "missing"
            raise InputError(
                f"{path}: line {lineno} has {len(row)} fields but the header has "
                f"{len(header)} ({kind} column)"
            )
        body.append(row)
        lines.append(lineno)
    if not body:
        raise InputError(f"{path}: empty file (a header but no rows)")
    return header, body, np.asarray(lines)


def _numeric_columns(
    path: Path, table: pd.DataFrame, line_no: np.ndarray, columns: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The columns as float64; a loss may be a NaN token (a diverged run), every other
    value must be a finite number."""
    out: dict[str, np.ndarray] = {}
    for col in columns:
        tokens = table[col].str.strip()
        values = pd.to_numeric(tokens, errors="coerce").to_numpy(dtype=np.float64)
        if col in ("loss", "init_loss"):
            bad = np.isnan(values) & ~tokens.str.lower().isin(_NAN_TOKENS).to_numpy()
        else:
            bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "non-numeric" if col in ("loss", "init_loss") else "non-numeric or non-finite"
            raise InputError(
                f"{path}: {what} value {tokens.iloc[i]!r} in column {col!r} "
                f"(line {line_no[i]}; {int(bad.sum())} such value(s))"
            )
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
            f"{', '.join(str(v) for v in same._line.tolist()[:3])}{hint}"
        )


# ------------------------------------------------------------------------ validation
def validate_sweep(
    df: pd.DataFrame, *, source: str = "sweep", check_widths: bool = True
) -> pd.DataFrame:
    """The structural checks shared by files and in-memory DataFrames: >= 3 widths and,
    with ``check_widths`` (the analysis repeats them after its divergence rule, where
    ``skip_bad_widths`` may drop a width instead), >= 5 HP values per width and not
    every run of a width diverged. Returns the sweep sorted by width, seed, hp with the
    columns width, hp, loss, seed[, init_loss]."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    out = pd.DataFrame(
        {
            "width": np.asarray(df["width"], dtype=np.float64),
            "hp": np.asarray(df["hp"], dtype=np.float64),
            "loss": np.asarray(df["loss"], dtype=np.float64),
            "seed": (
                np.asarray(df["seed"], dtype=np.int64)
                if "seed" in df.columns
                else np.zeros(len(df), dtype=np.int64)
            ),
        }
    )
    if "init_loss" in df.columns:
        out["init_loss"] = np.asarray(df["init_loss"], dtype=np.float64)
    df = out
    widths = np.unique(df.width)
    if widths.size < MIN_WIDTHS:
        raise InputError(
            f"{source}: fewer than {MIN_WIDTHS} widths (found {widths.size}: "
            f"{', '.join(fmt_value(w) for w in widths) or 'none'}); rates need at least {MIN_WIDTHS}"
        )
    if check_widths:
        finite = np.isfinite(df.loss.to_numpy())
        for w in widths:
            sel = df.width.to_numpy() == w
            hp = df.hp.to_numpy()[sel]
            problem = width_problem(w, np.unique(hp).size, np.unique(hp[finite[sel]]).size)
            if problem:
                raise InputError(f"{source}: {problem}")
    return df.sort_values(["width", "seed", "hp"], kind="stable").reset_index(drop=True)


def width_problem(width: float, n_hp: int, n_usable_hp: int) -> str | None:
    """Why one width cannot give a fitted optimum, or None: every run diverged, fewer
    than MIN_HP HP values, or fewer than MIN_HP of them with a run that counts (finite,
    not diverged)."""
    w = fmt_value(float(width))
    if n_usable_hp == 0:
        return f"every run at width {w} diverged (NaN/inf loss or above the divergence threshold)"
    if n_hp < MIN_HP:
        return f"width {w} has {n_hp} HP values; need at least {MIN_HP} for the quadratic fit"
    if n_usable_hp < MIN_HP:
        return (
            f"width {w} has only {n_usable_hp} HP values with a finite loss (not diverged); "
            f"need at least {MIN_HP}"
        )
    return None


# ------------------------------------------------------------------------ divergence
@dataclass(frozen=True)
class DivergenceRule:
    """When a run has diverged and when a cell is left out (module docstring).

    factor: a run above ``factor x`` its width's best loss (lowest cell median, when that
    is > 0 and the median cell lies below the threshold) has diverged; None: no such
    threshold. above: an absolute loss threshold
    (None: none). The ``init_loss`` column, when the sweep has one, replaces the factor
    rule: a run above its width's median loss at initialisation has diverged.
    max_fraction: a cell whose fraction of diverged seeds exceeds it is excluded."""

    factor: float | None = 2.0
    above: float | None = None
    max_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.factor is not None and not self.factor > 1.0:
            raise InputError(
                f"diverged_factor must be > 1 (got {self.factor})", param="diverged_factor"
            )
        if not 0.0 <= self.max_fraction < 1.0:
            raise InputError(
                f"max_diverged_fraction must be in [0, 1) (got {self.max_fraction})",
                param="max_diverged_fraction",
            )

    def describe(self, has_init: bool = False) -> str:
        parts = ["NaN/inf"]
        if has_init:
            parts.append("above the width's loss at initialisation")
        elif self.factor is not None:
            parts.append(f"above {self.factor:g} x the width's best loss")
        if self.above is not None:
            parts.append(f"above {self.above:g}")
        cell = (
            "any diverged seed excludes its cell"
            if self.max_fraction == 0
            else f"a cell with more than {self.max_fraction:.0%} of its seeds diverged is excluded"
        )
        return "diverged = " + " or ".join(parts) + "; " + cell


def _thresholds(df: pd.DataFrame, rule: DivergenceRule) -> np.ndarray:
    """The per-run loss threshold (len(df),) of ``rule`` (inf: none)."""
    width, loss = df.width.to_numpy(), df.loss.to_numpy()
    thr = np.full(len(df), np.inf)
    if rule.above is not None:
        thr[:] = rule.above
    for w in np.unique(width):
        sel = width == w
        if "init_loss" in df.columns and np.isfinite(df.init_loss.to_numpy()[sel]).any():
            t = float(np.nanmedian(df.init_loss.to_numpy()[sel]))
        elif rule.factor is not None:
            fin = sel & np.isfinite(loss)
            if not fin.any():
                continue
            cells = pd.Series(loss[fin]).groupby(df.hp.to_numpy()[fin]).median()
            best, typical = float(cells.min()), float(cells.median())
            # a multiple of the best only where the typical cell lies below it
            t = rule.factor * best if 0 < best and typical <= rule.factor * best else np.inf
        else:
            continue
        thr[sel] = np.minimum(thr[sel], t)
    return thr


def diverged_runs(df: pd.DataFrame, rule: DivergenceRule = DivergenceRule()) -> np.ndarray:
    """(len(df),) bool: the runs ``rule`` calls diverged."""
    loss = df.loss.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(loss) | (loss > _thresholds(df, rule))


# ------------------------------------------------------------------ dense sweep arrays
@dataclass(frozen=True)
class DenseSweep:
    """A sweep as padded arrays. widths (W,); hp (W, H) ascending, NaN-padded;
    n_hp (W,); loss (W, H, S) with NaN for every run that does not count (diverged,
    in an excluded cell, or missing); finite (W, H, S): the runs that count; present
    (W, S): seed slot s exists at width w; n_seeds (W,); shared_seeds: every width has
    the same seed labels (then seeds are resampled jointly); diverged: the number of
    diverged runs; per width: runs (W,), diverged_runs (W,), excluded_cells (W,) (cells
    left out by the rule's max_fraction); rule: the rule in words; raw_loss (W, H, S): the
    losses as given (NaN/inf kept, NaN where no run); per cell (W, H): cell_runs,
    cell_diverged, cell_excluded (survivors left out by max_fraction)."""

    widths: np.ndarray
    hp: np.ndarray
    n_hp: np.ndarray
    loss: np.ndarray
    finite: np.ndarray
    present: np.ndarray
    n_seeds: np.ndarray
    shared_seeds: bool
    diverged: int
    runs: np.ndarray
    diverged_runs: np.ndarray
    excluded_cells: np.ndarray
    rule: str
    raw_loss: np.ndarray
    cell_runs: np.ndarray
    cell_diverged: np.ndarray
    cell_excluded: np.ndarray

    def diverged_cells(self) -> list[dict]:
        """Per-cell counts of every (width, hp) cell with a diverged run: width, hp, runs,
        diverged, excluded (the whole cell left out by the rule's max_fraction)."""
        return [
            {
                "width": float(self.widths[j]),
                "hp": float(self.hp[j, i]),
                "runs": int(self.cell_runs[j, i]),
                "diverged": int(self.cell_diverged[j, i]),
                "excluded": bool(
                    self.cell_excluded[j, i] or self.cell_diverged[j, i] == self.cell_runs[j, i]
                ),
            }
            for j, i in zip(*np.nonzero(self.cell_diverged), strict=False)
        ]

    def take(self, keep) -> DenseSweep:
        """The same sweep restricted to the widths ``keep`` (indices or a bool mask)."""
        keep = (
            np.flatnonzero(np.asarray(keep)) if np.asarray(keep).dtype == bool else np.asarray(keep)
        )
        ids = [int(i) for i in keep]
        pick = lambda a: a[ids]
        present = self.present[ids]
        return DenseSweep(
            widths=pick(self.widths),
            hp=pick(self.hp),
            n_hp=pick(self.n_hp),
            loss=pick(self.loss),
            finite=pick(self.finite),
            present=present,
            n_seeds=present.sum(1),
            shared_seeds=self.shared_seeds,
            diverged=int(pick(self.diverged_runs).sum()),
            runs=pick(self.runs),
            diverged_runs=pick(self.diverged_runs),
            excluded_cells=pick(self.excluded_cells),
            rule=self.rule,
            raw_loss=pick(self.raw_loss),
            cell_runs=pick(self.cell_runs),
            cell_diverged=pick(self.cell_diverged),
            cell_excluded=pick(self.cell_excluded),
        )


def densify(df: pd.DataFrame, rule: DivergenceRule = DivergenceRule()) -> DenseSweep:
    """A validated sweep (:func:`validate_sweep`) as :class:`DenseSweep` arrays, the
    divergence ``rule`` applied."""
    widths = np.unique(df.width.to_numpy())
    W = widths.size
    div_run = diverged_runs(df, rule)
    per_w = [np.flatnonzero(df.width.to_numpy() == w) for w in widths]
    hps = [np.unique(df.hp.to_numpy()[i]) for i in per_w]
    seeds = [np.unique(df.seed.to_numpy()[i]) for i in per_w]
    H = max(h.size for h in hps)
    S = max(s.size for s in seeds)
    hp = np.full((W, H), np.nan)
    loss = np.full((W, H, S), np.nan)
    div = np.zeros((W, H, S), dtype=bool)
    has = np.zeros((W, H, S), dtype=bool)
    present = np.zeros((W, S), dtype=bool)
    for j, (i, h, s) in enumerate(zip(per_w, hps, seeds, strict=False)):
        hp[j, : h.size] = h
        present[j, : s.size] = True
        ih = np.searchsorted(h, df.hp.to_numpy()[i])
        iseed = np.searchsorted(s, df.seed.to_numpy()[i])
        loss[j, ih, iseed] = df.loss.to_numpy()[i]
        div[j, ih, iseed] = div_run[i]
        has[j, ih, iseed] = True
    n_cell = has.sum(-1)
    frac = np.where(n_cell > 0, div.sum(-1) / np.maximum(n_cell, 1), 0.0)
    excluded = (frac > rule.max_fraction) & (n_cell > 0) & (div.sum(-1) < n_cell)
    finite = has & ~div & ~excluded[..., None]
    raw = loss
    loss = np.where(finite, loss, np.nan)
    shared = all(s.size == seeds[0].size and np.array_equal(s, seeds[0]) for s in seeds)
    return DenseSweep(
        widths=widths,
        hp=hp,
        n_hp=np.array([h.size for h in hps]),
        loss=loss,
        finite=finite,
        present=present,
        n_seeds=present.sum(1),
        shared_seeds=shared,
        diverged=int(div_run.sum()),
        runs=has.sum((1, 2)),
        diverged_runs=div.sum((1, 2)),
        excluded_cells=excluded.sum(1),
        rule=rule.describe("init_loss" in df.columns),
        raw_loss=raw,
        cell_runs=n_cell,
        cell_diverged=div.sum(-1),
        cell_excluded=excluded,
    )
