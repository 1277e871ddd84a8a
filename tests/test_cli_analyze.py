"""``fasttransfer analyze``: its contract (docs/paper-setups.md#command-line), one-line
errors (exit 2) for every bad input, and real data without surprises."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from fasttransfer.cli import main
from fasttransfer.theory.synthetic import llama_family

WIDTHS = 128 * 2 ** np.arange(7)


def write_sweep(path, beta=0.75, *, seeds=6, rng=0, widths=WIDTHS, H=31, half=3.75):
    fam = llama_family(beta)
    grid = fam.nu_inf + np.linspace(-half, half, H)
    df = fam.sample_sweep(widths, grid, seeds=seeds, noise=1e-3, rng=rng)
    df.to_csv(path, index=False)
    return df


def run_cli(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors exit through SystemExit(2)
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_analyze_fast_sweep_json_and_plot(tmp_path, capsys):
    sweep = tmp_path / "sweep.csv"
    write_sweep(sweep, 0.75)
    js, png = tmp_path / "out.json", tmp_path / "out.png"
    rc, out, err = run_cli(
        ["analyze", str(sweep), "--json", str(js), "--plot", str(png), "--bootstrap", "200"], capsys
    )
    assert rc == 0, err
    for needle in (
        "alpha",
        "beta - alpha/2",
        "nu_star",
        "phi_star",
        "verdict: fast",
        "reference: extrapolate",
        "diverged runs (excluded): 0",
        "drift slope s",
        "c_meas",
        "c model",
        "reasons:",
    ):
        assert needle in out
    assert out.strip().splitlines()[-3] == "verdict: fast"  # then the json and plot lines
    d = json.loads(js.read_text())
    assert d["verdict"] == "fast" and d["reasons"]
    slope = d["hp_drift"]["slope"]
    assert slope["ci"][0] <= slope["estimate"] <= slope["ci"][1] < 0  # LR* falls with width
    assert all(row["nu_star_se"] > 0 for row in d["per_width"])
    assert abs(d["alpha"]["estimate"] - 0.52) < 0.03  # the acceptance criterion
    lo, hi = d["beta_minus_half_alpha"]["ci"]
    assert 0 < lo < hi and hi - lo < 0.2
    assert len(d["per_width"]) == 7 and d["diverged"] == 0
    assert png.stat().st_size > 10_000


def test_analyze_weak_sweep_largest_reference_and_log_hp(tmp_path, capsys):
    sweep = tmp_path / "sweep.csv"
    df = write_sweep(sweep, 0.26)
    rc, out, _ = run_cli(["analyze", str(sweep), "--bootstrap", "200"], capsys)
    assert rc == 0 and "verdict: weak" in out
    # the HP itself in the file, logged by --log-hp: same answer
    df.assign(hp=np.exp(df.hp)).to_csv(sweep, index=False)
    rc, out2, _ = run_cli(["analyze", str(sweep), "--bootstrap", "200", "--log-hp"], capsys)
    alpha_line = lambda text: next(x for x in text.splitlines() if x.startswith("  alpha"))
    assert rc == 0 and alpha_line(out2) == alpha_line(out)
    rc, out3, _ = run_cli(
        ["analyze", str(sweep), "--log-hp", "--reference", "largest", "--bootstrap", "50"], capsys
    )
    assert rc == 0 and "reference: largest" in out3


def test_diverged_runs_are_counted_not_fatal(tmp_path, capsys):
    sweep = tmp_path / "sweep.csv"
    df = write_sweep(sweep)
    df.loc[df.index[[0, 1, 2]], "loss"] = [np.nan, np.inf, -np.inf]
    df.to_csv(sweep, index=False)  # NaN is written as an empty cell
    rc, out, err = run_cli(["analyze", str(sweep), "--bootstrap", "50"], capsys)
    assert rc == 0, err
    assert "diverged runs (excluded): 3" in out


def _bad(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _rows(widths, hps, extra=""):
    # a loss bounded away from 0 (as cross-entropy): 2x its best is a divergence
    return "".join(f"{w},{h},{1 + (h - 0.5) ** 2 + 1 / w}{extra}\n" for w in widths for h in hps)


HP9 = [i / 8 for i in range(9)]


@pytest.mark.parametrize(
    "case, text, needle",
    [
        ("empty", "", "empty file"),
        ("header_only", "width,hp,loss\n", "empty file"),
        ("missing_column", "width,hp\n1,2\n", "missing column"),
        ("duplicate_column", "width,hp,loss,hp\n1,2,3,4\n", "duplicate column"),
        (
            "extra_field",
            "width,hp,loss\n" + _rows([64, 128, 256], HP9) + "64,0.1,1,9\n",
            "extra column",
        ),
        (
            "non_numeric",
            "width,hp,loss\n" + _rows([64, 128, 256], HP9) + "64,abc,1\n",
            "non-numeric",
        ),
        (
            "non_numeric_loss",
            "width,hp,loss\n" + _rows([64, 128, 256], HP9) + "64,0.1,oops\n",
            "non-numeric",
        ),
        ("two_widths", "width,hp,loss\n" + _rows([64, 128], HP9), "fewer than 3 widths"),
        ("four_hps", "width,hp,loss\n" + _rows([64, 128, 256], HP9[:4]), "at least 5"),
        (
            "all_diverged",
            "width,hp,loss\n" + _rows([64, 128], HP9) + "".join(f"256,{h},nan\n" for h in HP9),
            "every run at width 256 diverged",
        ),
        ("edge", "width,hp,loss\n" + _rows([64, 128, 256], [h + 1.0 for h in HP9]), "edge"),
        (
            "duplicate_run",
            "width,hp,loss\n" + _rows([64, 128, 256], HP9) + "64,0.0,1\n",
            "duplicate run",
        ),
        ("negative_width", "width,hp,loss\n" + _rows([-64, 128, 256], HP9), "width"),
        ("bad_seed", "width,hp,loss,seed\n" + _rows([64, 128, 256], HP9, ",0.5"), "seed"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, case, text, needle):
    path = _bad(tmp_path, f"{case}.csv", text)
    rc, out, err = run_cli(["analyze", str(path), "--bootstrap", "20"], capsys)
    assert rc == 2, (case, out, err)
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["analyze", "/nonexistent/sweep.csv"], "no such file"),
        (["analyze", "SWEEP", "--bootstrap", "-3"], "bootstrap"),
        (["analyze", "SWEEP", "--reference", "median"], "reference"),
        (["analyze", "SWEEP", "--window", "3"], "window"),
        (["analyze", "SWEEP", "--log-hp"], "--log-hp"),  # hp <= 0 cannot be logged
        (["analyze", "SWEEP", "--diverged-factor", "0.5"], "--diverged-factor"),
        (["analyze", "SWEEP", "--max-diverged-fraction", "1.5"], "--max-diverged-fraction"),
        (["analyze", "SWEEP", "--margin", "-1"], "--margin"),
        (["analyze", "SWEEP", "--margin", "abc"], "--margin"),
    ],
)
def test_bad_flags_are_one_line_exit_2(tmp_path, capsys, argv, needle):
    sweep = tmp_path / "s.csv"
    write_sweep(sweep, seeds=1, widths=[128, 256, 512], H=11)
    argv = [str(sweep) if a == "SWEEP" else a for a in argv]
    rc, _out, err = run_cli(argv, capsys)
    assert rc == 2 and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _bad_width_sweep(path):
    """Seven widths; 256 has only 4 HP values, 512's optimum is cut off (edge) and 2048's
    curve is noise on a flat line (no convex minimum)."""
    fam = llama_family(0.75)
    df = write_sweep(path)
    df = df[~((df.width == 256) & (df.hp > df.hp.min() + 0.9))]
    df = df[~((df.width == 512) & (df.hp > fam.nu_star(512) - 0.3))]
    rng = np.random.default_rng(0)
    flat = df.width == 2048
    df.loc[flat, "loss"] = 3.4 + 1e-3 * rng.standard_normal(int(flat.sum()))
    df.to_csv(path, index=False)


def test_skip_bad_widths_warns_once_per_width_and_carries_on(tmp_path, capsys):
    sweep = tmp_path / "bad.csv"
    _bad_width_sweep(sweep)
    rc, out, err = run_cli(["analyze", str(sweep), "--bootstrap", "50"], capsys)
    assert rc == 2 and "width 256" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run_cli(
        ["analyze", str(sweep), "--bootstrap", "50", "--skip-bad-widths"], capsys
    )
    assert rc == 0, err
    dropped = [x for x in out.splitlines() if x.startswith("warning: dropped")]
    assert len(dropped) == 3
    for w, why in ((256, "HP values"), (512, "edge"), (2048, "")):
        assert sum(f"width {w}" in x and why in x for x in dropped) == 1, dropped
    assert "widths: 4" in out and "Traceback" not in err


def test_bootstrap_zero_says_so_and_prints_no_nan(tmp_path, capsys):
    sweep = tmp_path / "s.csv"
    write_sweep(sweep)
    js = tmp_path / "out.json"
    rc, out, _err = run_cli(["analyze", str(sweep), "--bootstrap", "0", "--json", str(js)], capsys)
    assert rc == 0 and not re.search(r"\bnan\b", out) and "point estimates only" in out
    assert "verdict: inconclusive" in out and "(no interval)" in out
    d = json.loads(js.read_text())
    assert d["alpha"]["ci"] == [None, None] and d["bootstrap"]["resamples"] == 0


def test_no_warning_reaches_the_user_and_files_are_ordinary(tmp_path):
    """Quantised losses and diverged runs of every kind, one seed: stderr stays empty
    (no numpy/scipy warning), and --json/--plot files get the umask's permissions."""
    fam = llama_family(0.26)
    grid = fam.nu_inf + np.linspace(-3.75, 3.75, 31)
    df = fam.sample_sweep(WIDTHS[:5], grid, seeds=1, noise=3e-3, rng=4)
    df["loss"] = np.round(df.loss, 2)
    df.loc[df.index[[0, 31, 62]], "loss"] = [np.nan, np.inf, 9.0]  # 9 > 2 x best (3.65)
    sweep = tmp_path / "q.csv"
    df.to_csv(sweep, index=False)
    js, png = tmp_path / "q.json", tmp_path / "q.png"
    # a separate process: pytest's own warning capture would hide a leak in-process
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "default",
            "-m",
            "fasttransfer",
            "analyze",
            str(sweep),
            "--bootstrap",
            "100",
            "--json",
            str(js),
            "--plot",
            str(png),
            "--skip-bad-widths",
        ],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    rc, out, err = proc.returncode, proc.stdout, proc.stderr
    assert rc == 0 and err == "", err  # no numpy/scipy warning
    assert "diverged runs (excluded): 3" in out and "one seed" in out
    for f in (js, png):
        assert f.stat().st_mode & 0o777 == 0o644


def test_independent_cells_allow_a_one_seed_verdict(tmp_path, capsys):
    sweep = tmp_path / "one.csv"
    write_sweep(sweep, 0.75, seeds=1, rng=2)
    rc, out, _ = run_cli(["analyze", str(sweep), "--bootstrap", "200"], capsys)
    assert rc == 0 and "verdict: inconclusive" in out and "one seed" in out
    rc, out, _ = run_cli(
        ["analyze", str(sweep), "--bootstrap", "200", "--independent-cells"], capsys
    )
    assert rc == 0 and "one seed per width" not in out
