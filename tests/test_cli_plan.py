"""``fasttransfer plan``: held-out answers equal the closed forms; bad input exits 2."""

import json
import math

import numpy as np
import pytest

from fasttransfer.cli import main

HELD_OUT = [  # (alpha, beta, r, h, budget): none of them is a setting of the study
    (0.37, 0.91, 1.3, 2.0, 3.7e7),
    (0.8, 0.4, 2.5, 1.0, 1e9),  # the tie beta = alpha/2
    (1.2, 0.1, 0.7, 4.0, 5e5),
    (0.52, 0.75, 1.0, 1.0, 1e12),
    (2.0, 3.0, 3.0, 7.0, 42.0),
]


def _closed_forms(a, b, r, h):
    # written out here, independently of theory.grid_search, in the paper's form
    return 2 * a / (h * a + 2 * r), min(a / r, 2 * b / (h * b + r)), b > a / 2


def _paper_widths(a, b, r, h):
    # Theorem 2: direct n* ~ F^(2/(h alpha + 2r)); transfer n* ~ F^(1/(h beta + r)), M* ~ F^(1/r)
    return 2 / (h * a + 2 * r), 1 / (h * b + r), 1 / r


@pytest.mark.parametrize("case", HELD_OUT)
def test_plan_json_matches_closed_forms(case, tmp_path, capsys):
    a, b, r, h, C = case
    out = tmp_path / "plan.json"
    rc = main(
        [
            "plan",
            "--alpha",
            str(a),
            "--beta",
            str(b),
            "--r",
            str(r),
            "--h",
            str(h),
            "--budget",
            str(C),
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    data = json.loads(out.read_text())
    e_d, e_t, useful = _closed_forms(a, b, r, h)
    assert data["exponent_direct"] == pytest.approx(e_d, rel=1e-12)
    assert data["exponent_transfer"] == pytest.approx(e_t, rel=1e-12)
    assert data["useful"] is useful
    assert set(data["transfer"]) >= {"proxy_width", "trials", "target_width", "excess"}
    assert set(data["direct"]) >= {"width", "trials", "excess"}
    t, d = data["transfer"], data["direct"]
    assert all(isinstance(t[k], int) for k in ("proxy_width", "trials", "target_width"))
    assert t["trials"] * t["proxy_width"] ** r + t["target_width"] ** r <= C
    assert d["trials"] * d["width"] ** r <= C
    assert t["proxy_width"] <= t["target_width"]
    printed = capsys.readouterr().out
    assert f"m = {t['proxy_width']}" in printed and ("useful: yes" in printed) == useful
    w_d, w_p, w_t = _paper_widths(a, b, r, h)
    widths = data["width_exponents"]
    assert widths["direct_width"] == pytest.approx(w_d, rel=1e-12)
    assert widths["proxy_width"]["paper"] == pytest.approx(w_p, rel=1e-12)
    assert widths["target_width"]["paper"] == pytest.approx(w_t, rel=1e-12)
    # the exact minimiser never gives a width a faster rate than the paper's
    assert widths["proxy_width"]["argmin"] <= w_p + 1e-12
    assert widths["target_width"]["argmin"] <= w_t + 1e-12
    assert data["r"] == r and f"F^{w_d:.6g}" in printed


def test_plan_text_without_json(capsys):
    assert main(["plan", "--alpha", "0.5", "--beta", "0.5", "--budget", "1e6"]) == 0
    out = capsys.readouterr().out
    # default r = 2: E_T* ~ F^-min(0.25, 1/2.5), E_D* ~ F^-(1/4.5)
    assert "transfer:" in out and "direct:" in out and "F^-0.25 " in out and "r = 2" in out
    assert "compute-optimal widths" in out


def test_default_cost_exponent_is_two(tmp_path):
    default, explicit = tmp_path / "d.json", tmp_path / "e.json"
    args = ["plan", "--alpha", "0.52", "--beta", "0.75", "--budget", "1e10"]
    assert main([*args, "--json", str(default)]) == 0
    assert main([*args, "--r", "2", "--json", str(explicit)]) == 0
    d = json.loads(default.read_text())
    assert d == json.loads(explicit.read_text()) and d["r"] == 2.0
    assert d["exponent_transfer"] == pytest.approx(_closed_forms(0.52, 0.75, 2, 1)[1])


def test_rho_is_a_deprecated_alias_of_r(tmp_path, capsys):
    via_rho, via_r = tmp_path / "rho.json", tmp_path / "r.json"
    args = ["plan", "--alpha", "0.6", "--beta", "0.5", "--budget", "1e9"]
    assert main([*args, "--rho", "1.5", "--json", str(via_rho)]) == 0
    err = capsys.readouterr().err
    assert "--rho is deprecated" in err and "--r" in err
    assert main([*args, "--r", "1.5", "--json", str(via_r)]) == 0
    assert "deprecated" not in capsys.readouterr().err
    assert json.loads(via_rho.read_text()) == json.loads(via_r.read_text())
    # both, disagreeing: one-line error, exit 2
    assert main([*args, "--rho", "1", "--r", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--rho" in err


BAD = [
    (["--alpha", "0", "--beta", "1", "--budget", "100"], "--alpha"),
    (["--alpha", "-0.5", "--beta", "1", "--budget", "100"], "--alpha"),
    (["--alpha", "0.5", "--beta", "-0.1", "--budget", "100"], "--beta"),
    (["--alpha", "0.5", "--beta", "0.3", "--r", "0", "--budget", "100"], "--r"),
    (["--alpha", "0.5", "--beta", "0.3", "--r", "x", "--budget", "100"], "--r"),
    (["--alpha", "0.5", "--beta", "0.3", "--h", "0.9", "--budget", "100"], "--h"),
    (["--alpha", "0.5", "--beta", "0.3", "--budget", "1"], "--budget"),
    (["--alpha", "0.5", "--beta", "0.3", "--budget", "-5"], "--budget"),
    (["--alpha", "abc", "--beta", "0.3", "--budget", "100"], "--alpha"),
    (["--alpha", "0.5", "--beta", "nan", "--budget", "100"], "--beta"),
    (["--alpha", "0.5", "--beta", "0.3", "--budget", "1e"], "--budget"),
    (["--beta", "0.3", "--budget", "100"], "--alpha"),
]


@pytest.mark.parametrize("argv,name", BAD)
def test_bad_input_is_one_line_exit_2(argv, name, capsys):
    assert main(["plan", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name in err and "Traceback" not in err


def test_missing_budget_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--alpha", "0.5", "--beta", "0.3"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def _analysis(tmp_path, payload, name="an.json"):
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def test_from_analysis_reads_alpha_beta(tmp_path):
    src = _analysis(
        tmp_path,
        {
            "alpha": {"estimate": 0.6, "ci": [0.5, 0.7]},
            "beta": {"estimate": 0.45, "ci": [0.4, 0.5]},
            "beta_minus_half_alpha": {"estimate": 0.15, "ci": [0.1, 0.2]},
            "verdict": "fast",
            "per_width": [],
            "diverged": 0,
        },
    )
    out = tmp_path / "plan.json"
    assert main(["plan", "--from-analysis", str(src), "--budget", "1e8", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    e_d, e_t, useful = _closed_forms(0.6, 0.45, 2.0, 1.0)  # r defaults to 2
    assert data["exponent_direct"] == pytest.approx(e_d) and data[
        "exponent_transfer"
    ] == pytest.approx(e_t)
    assert data["useful"] is useful
    # an explicit flag overrides the file
    assert (
        main(
            [
                "plan",
                "--from-analysis",
                str(src),
                "--beta",
                "0.2",
                "--budget",
                "1e8",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["useful"] is False


@pytest.mark.parametrize(
    "payload,fragment",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"alpha": {"estimate": 0.5}}, "beta.estimate"),
        ({"alpha": {"estimate": "0.5"}, "beta": {"estimate": 0.3}}, "alpha.estimate"),
        ({"alpha": {"estimate": None}, "beta": {"estimate": 0.3}}, "alpha.estimate"),
        ('{"alpha": {"estimate": NaN}, "beta": {"estimate": 0.3}}', "not finite"),
        ({"alpha": {"estimate": 0.5}, "beta": {"estimate": -0.2}}, "--beta"),
        ({"alpha": 0.5, "beta": 0.3}, "alpha.estimate"),
    ],
)
def test_from_analysis_rejects_bad_files(payload, fragment, tmp_path, capsys):
    src = _analysis(tmp_path, payload)
    assert main(["plan", "--from-analysis", str(src), "--budget", "100"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err


def test_missing_analysis_file(tmp_path, capsys):
    assert main(["plan", "--from-analysis", str(tmp_path / "nope.json"), "--budget", "100"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_sweep_to_plan_in_two_commands(tmp_path):
    """``analyze --json`` then ``plan --from-analysis``: the user's two-command path."""
    from fasttransfer.theory.synthetic import PowerLawFamily

    fam = PowerLawFamily(alpha=0.5, beta=0.5)
    sweep = tmp_path / "sweep.csv"
    fam.sample_sweep(
        2.0 ** np.arange(6, 12), np.linspace(-3, 3, 31), seeds=2, noise=1e-6, rng=0
    ).to_csv(sweep, index=False)
    analysis, out = tmp_path / "an.json", tmp_path / "plan.json"
    assert main(["analyze", str(sweep), "--json", str(analysis), "--bootstrap", "20"]) == 0
    assert (
        main(["plan", "--from-analysis", str(analysis), "--budget", "1e8", "--json", str(out)]) == 0
    )
    an, data = json.loads(analysis.read_text()), json.loads(out.read_text())
    e_d, e_t, useful = _closed_forms(an["alpha"]["estimate"], an["beta"]["estimate"], 2.0, 1.0)
    assert data["exponent_transfer"] == pytest.approx(e_t) and data[
        "exponent_direct"
    ] == pytest.approx(e_d)
    assert data["useful"] is useful is True  # beta - alpha/2 = 0.25 on this family
    assert math.isfinite(data["transfer"]["excess"])
