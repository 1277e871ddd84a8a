"""verify check ``coordcheck``: the muP coordinate check of the two-layer ReLU net.

Runs (or reuses, from results/coordcheck) :func:`simulations.coordcheck.run_coordcheck`
at the preset and applies the pure criterion of :mod:`simulations.coordcheck`: the
log-log slope of mean |x| against width per (param, module, t), with Student-t
intervals from the seed spread (Bonferroni over the cells). Three rows:

* muP: no pre-activation, activation or output scale grows with width (t = 0..5);
* SP: the output grows with width once training starts (t >= 1) -- also the negative
  control showing the criterion can detect growth;
* known answers at init (t = 0): muP output slope -1/2 (CLT), pre-activation slope 0.
  A violated known answer means the machinery is broken: verdict ``fail``.
"""

from __future__ import annotations

TITLE = "muP coordinate check (two-layer ReLU net): flat under muP, output grows under SP"

_NOTE = (
    "The paper shows no coordinate check; this is the standard check of "
    "microsoft/mup applied to a small two-layer ReLU net in the paper's parametrisation "
    "(Section 3.2's f = (1/n) sum_i a_i relu(w_i.x + b_i) on the ball task, but d = 8 "
    "and squared loss instead of the paper's d = 64 and BCE; Adam at nu = 0.03, batch "
    "256, l1 on a fixed probe batch)."
)


def run(ctx):
    from fasttransfer.checks import CheckResult
    from fasttransfer.simulations import coordcheck as cc

    cfg = cc.CoordCheckConfig.from_preset(ctx.base_preset)
    df = cc.stored_coordcheck(ctx.results_dir, cfg, ctx.base_preset, recompute=ctx.recompute)
    verdict = cc.criterion(cc.slopes(df))
    figs = ("figures/coordcheck.png",)  # drawn by verify from the store
    tab = verdict.table
    details = (
        f"Log-log slope of mean |x| against width (widths {min(cfg.widths)}.."
        f"{max(cfg.widths)}), mean ± s.e. over {cfg.seeds} seeds; ↑/↓ mark slopes "
        f"whose simultaneous interval (Student t quantile {verdict.quantile:.2f}, "
        f"family-wise {verdict.alpha:g}) excludes 0.\n\n" + cc.slopes_markdown(verdict)
    )
    identities = cc.init_identities(verdict)
    broken = [k for k, v in identities.items() if not v[3]]
    id_text = "; ".join(
        f"{k}: {v[0]:+.1f} in [{v[1]:+.3f}, {v[2]:+.3f}]" for k, v in identities.items()
    )

    rows = []
    mup = tab[tab["param"] == "mup"]
    top = mup.loc[mup["slope"].idxmax()]
    rows.append(
        CheckResult(
            check="coordcheck",
            claim="muP: no coordinate (pre-activation, activation, output) grows with width, "
            f"t = 0..{cfg.steps}",
            paper="flat in width (muP's defining property; no number in the paper)",
            measured=(
                f"largest slope {top['slope']:+.3f} ± {top['se']:.3f} ({top['module']}, "
                f"t={int(top['t'])}); {len(verdict.growing)} of {len(mup)} cells grow"
            ),
            verdict="fail" if broken else ("pass" if verdict.mup_ok else "differs"),
            details=details,
            figures=figs,
            note=_NOTE,
        )
    )
    sp = tab[(tab["param"] == "sp") & (tab["module"] == "output") & (tab["t"] >= 1)]
    low = sp.loc[sp["slope"].idxmin()]
    rows.append(
        CheckResult(
            check="coordcheck",
            claim="SP: the output grows with width once training starts (t >= 1)",
            paper="grows (an Adam step moves every a_i by O(nu): f moves by O(n nu))",
            measured=(
                f"output slopes t=1..{cfg.steps}: smallest {low['slope']:+.3f} ± "
                f"{low['se']:.3f} (t={int(low['t'])}), interval lower end "
                f"{low['lo']:+.3f}"
            ),
            verdict="fail" if broken else ("pass" if verdict.sp_output_grows else "differs"),
            figures=figs,
            note=_NOTE,
        )
    )
    rows.append(
        CheckResult(
            check="coordcheck",
            claim="known answers at init: muP output slope -1/2 (CLT), pre-activation slope 0",
            paper="-0.5 and 0 (exact in expectation)",
            measured=id_text,
            verdict="fail" if broken else "pass",
            details="A violated known answer means the simulation or the slope estimator is "
            "broken, not that muP differs.",
        )
    )
    return rows
