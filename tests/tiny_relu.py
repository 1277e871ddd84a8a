"""Tiny stand-ins for the ReLU studies' presets (seconds on a CPU), labelled preset
"tiny" so their store entries live at ROOT/<study>/tiny/<param>."""

from fasttransfer.simulations import relu_config, sweep

TINY = dict(
    widths=(16, 32, 64),
    n_lrs=11,
    lr_min=1e-2,
    lr_max=2.5,
    seeds=2,
    steps=60,
    batch=32,
    d=8,
    test_size=1024,
    preset="tiny",
    dtype="float64",
)


# one width's engine at toy size (the engine and sweep tests): 5 LRs x 2 seeds, 20 steps,
# one seed per block so that the two-device tests have a block per device
ENGINE = relu_config.ReluSweepConfig(
    widths=(8, 16, 32),
    n_lrs=5,
    lr_min=1e-3,
    lr_max=1.0,
    seeds=2,
    steps=20,
    batch=16,
    d=8,
    test_size=64,
    seed_block=1,
)


def counterexample():
    """{"mup", "sp"}: the ball task at tiny size."""
    return {
        "mup": relu_config.ReluSweepConfig(**TINY, param="mup"),
        "sp": relu_config.ReluSweepConfig(
            **{**TINY, "lr_min": 3e-5, "lr_max": 0.25, "n_lrs": 13}, param="sp"
        ),
    }


def late_shift():
    """{"kindex", "kindex-layerwise"}: the k-index model at tiny size."""
    base = relu_config.ReluSweepConfig.from_preset("quick", "mup", "kindex").replace(
        widths=(16, 32), steps=40, batch=32, test_size=512, n_lrs=7, preset="tiny", dtype="float64"
    )
    return {"kindex": base, "kindex-layerwise": base.replace(out_lr_factor=1 / 50)}


def run_all(root, configs) -> None:
    """Store every configuration's sweep under ``root`` (what `simulate relu` does)."""
    for cfg in configs.values():
        sweep.run_sweep(cfg, root, progress=False)
