"""The sample-wise decomposition (the paper's Section 4.2.3) on the bias-free SGD MLP:
the Mean Component Index of every evaluation sample (histogram at one width, all seeds),
the easiest and hardest samples as 1-D signals with their per-component changes psi_ij,
and how consistently the easiest / hardest 5% are picked across seeds and widths."""

from __future__ import annotations

from pathlib import Path

NAME = "samplewise_mci"
PRESETS = ("quick", "pilot", "cpu", "paper")  # mapped to the study's own (study_preset)
CAPTION = (
    "Sample-wise decomposition of the SGD MLP on MNIST-1D: MCI histogram at one "
    "width (top left), overlap of the easiest and hardest 5% of samples between "
    "runs (top right; chance = 5%), and the easiest and hardest samples with their "
    "per-component changes psi_ij (bottom)."
)
PAPER_MEAN_MCI = 12.9  # the paper's Figure (CIFAR-10, n = 128, LR 0.016)


def load(results_dir: Path, preset: str) -> dict:
    """The stored study (mci, extremes, signals) and its overlap table."""
    from fasttransfer.paper_figures.stored import entry
    from fasttransfer.theory.mci import SETTING, STUDY, overlap_table, study_preset

    e = entry(results_dir, STUDY, study_preset(preset), SETTING)
    mci = e.read_csv("mci.csv")
    frac = float(e.config.get("frac", 0.05))
    return {
        "mci": mci,
        "extremes": e.read_csv("extremes.csv"),
        "signals": e.read_csv("signals.csv"),
        "overlap": overlap_table(mci, frac),
        "frac": frac,
        "lr": float(e.config["lr"]),
    }


def plot(data):
    import numpy as np

    from fasttransfer.paper_figures.style import colors, new_figure
    from fasttransfer.theory.mci import reference_width

    mci, ext, sig, ov = data["mci"], data["extremes"], data["signals"], data["overlap"]
    n_ref = reference_width(mci["width"].unique())
    fig, axes = new_figure(2, 2, width=7.6, height=2.8)
    hist, over, signal, comp = axes

    m = mci.loc[mci["width"] == n_ref, "mci"].dropna()
    hist.hist(m, bins=40, color=colors(1)[0], alpha=0.85)
    hist.axvline(m.mean(), color="k", lw=1.2, label=f"mean {m.mean():.1f} (ours)")
    hist.axvline(
        PAPER_MEAN_MCI, color="0.4", ls="--", lw=1, label=f"paper: {PAPER_MEAN_MCI} (CIFAR-10)"
    )
    hist.set_xlabel("Mean Component Index")
    hist.set_ylabel("samples")
    hist.set_title(f"MCI at n = {n_ref}, nu = {data['lr']:.3g}, {mci['seed'].nunique()} seeds")
    hist.legend()

    widths = sorted(int(w) for w in mci["width"].unique())
    same = ov[ov["same_width"]]
    word = {"easy": "easiest", "hard": "hardest"}
    for kind, c in zip(("easy", "hard"), colors(2), strict=False):
        y = [same.loc[same["width_a"] == w, kind].mean() for w in widths]
        over.plot(widths, y, "o-", color=c, label=f"{word[kind]} 5%: same width, across seeds")
        cross = ov[~ov["same_width"]]
        if len(cross):
            yc = [
                cross.loc[(cross["width_a"] == w) | (cross["width_b"] == w), kind].mean()
                for w in widths
            ]
            over.plot(widths, yc, "s:", color=c, ms=3, label=f"{word[kind]} 5%: across widths")
    over.axhline(data["frac"], color="0.4", ls="--", lw=0.8, label="chance")
    over.set_xscale("log", base=2)
    over.set_ylim(0, 1)
    over.set_xlabel("width n")
    over.set_ylabel("overlap")
    over.set_title("same samples picked by two runs?")
    over.legend(fontsize=6)

    first = ext[(ext["width"] == n_ref) & (ext["seed"] == ext["seed"].min()) & (ext["rank"] == 0)]
    for (kind, g), c in zip(first.groupby("kind", sort=True), colors(2), strict=False):
        i = int(g["sample"].iloc[0])
        row = sig[sig["sample"] == i].iloc[0]
        xs = row[[c_ for c_ in sig.columns if c_.startswith("x")]].to_numpy(float)
        signal.plot(
            np.arange(len(xs)),
            xs,
            color=c,
            label=f"{word[kind]}: sample {i}, label {int(row['label'])}",
        )
        g = g.sort_values("j")
        comp.plot(
            g["j"],
            np.abs(g["psi"]) / np.abs(g["psi"]).sum(),
            "o-",
            ms=2.5,
            color=c,
            label=f"{word[kind]} (sample {i})",
        )
    signal.set_xlabel("position")
    signal.set_ylabel("x")
    signal.set_title(f"easiest and hardest sample (n = {n_ref}, seed {int(ext['seed'].min())})")
    signal.legend(fontsize=6.5)
    comp.set_yscale("log")
    comp.set_xlabel("component j (by |lambda_j|)")
    comp.set_ylabel(r"$p_{ij} = |\psi_{ij}| / \sum_k |\psi_{ik}|$")
    comp.set_title("where each sample is learned")
    comp.legend(fontsize=6.5)
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import results_main

    return results_main(
        argv, name=NAME, caption=CAPTION, make=lambda results, preset: plot(load(results, preset))
    )


if __name__ == "__main__":
    raise SystemExit(main())
