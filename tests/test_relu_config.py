"""simulations.relu_config: validation of a sweep's configuration and the presets
(the paper's settings, and the reduced regimes that keep them)."""

import numpy as np
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import relu_config


@pytest.mark.parametrize(
    "bad",
    [
        dict(param="ntk"),
        dict(lr_min=1.0, lr_max=0.1),
        dict(widths=(8, 8)),
        dict(task="xor"),
        dict(loss="hinge"),
        dict(task="kindex", k=65),
        dict(out_lr_factor=0.0),
        dict(matmul_precision="bfloat16"),
        dict(base_width=0),
        dict(readout_init="uniform"),
        dict(first_layer_init="xavier"),
        dict(train_size=16),
        dict(weight_decay=-0.1),
        dict(weight_decay=float("nan")),
    ],
)
def test_config_validation(bad):
    with pytest.raises(InputError):
        relu_config.ReluSweepConfig(**bad)


def test_paper_presets_are_the_papers_setting():
    """The paper's ReLU counterexample d = 64, BCE, outside-ball label, batch 256, T = 2^14,
    14 widths 181..16384 at sqrt(2) spacing, quarter-octave LR grid; k-index model k = 15,
    d = 64, squared loss, T = 2^14, batch 256, 15 widths 128..16384."""
    p = relu_config.ReluSweepConfig.from_preset("paper")
    assert (p.task, p.loss, p.d, p.batch, p.steps) == ("ball", "bce", 64, 256, 2**14)
    assert p.widths == (
        181,
        256,
        362,
        512,
        724,
        1024,
        1448,
        2048,
        2896,
        4096,
        5793,
        8192,
        11585,
        16384,
    )
    assert p.seeds >= 4 and p.param == "mup" and p.preset == "paper"
    np.testing.assert_allclose(np.diff(np.log2(p.lrs())), 0.25, rtol=1e-12)
    k = relu_config.ReluSweepConfig.from_preset("paper", study="kindex")
    assert (k.task, k.loss, k.d, k.k, k.batch, k.steps) == ("kindex", "squared", 64, 15, 256, 2**14)
    assert k.widths == relu_config.sqrt2_widths(7, 14) and len(k.widths) == 15
    assert k.widths[0] == 128 and k.widths[-1] == 16384 and k.out_lr_factor == 1
    assert k.lr_max / k.lr_min >= 100  # both modes: 0.1-0.15 and ~1.5e-3 in the paper
    lw = relu_config.ReluSweepConfig.from_preset("paper", study="kindex-layerwise")
    assert lw.out_lr_factor == pytest.approx(1 / 50) and lw.replace(out_lr_factor=1.0) == k


@pytest.mark.parametrize("study", relu_config.STUDIES)
def test_reduced_presets_keep_the_regime(study):
    """cpu and quick keep d, loss, label, batch and the grid spacing of paper, with fewer
    steps and widths."""
    p, c, q = (
        relu_config.ReluSweepConfig.from_preset(n, study=study) for n in ("paper", "cpu", "quick")
    )
    for r in (c, q):
        assert (r.task, r.loss, r.d, r.batch, r.k, r.out_lr_factor) == (
            p.task,
            p.loss,
            p.d,
            p.batch,
            p.k,
            p.out_lr_factor,
        )
        np.testing.assert_allclose(
            np.diff(np.log(r.lrs())), np.diff(np.log(p.lrs()))[0], rtol=1e-12
        )
        assert r.steps < p.steps and len(r.widths) < len(p.widths)
    s = relu_config.ReluSweepConfig.from_preset("quick", "sp")
    assert (s.param == "sp" and s.lr_min < q.lr_min) or study != "relu"
    assert relu_config.ReluSweepConfig.from_json_dict(q.to_json_dict()) == q
    assert c.study == study and c.study_label() == f"{study}/cpu/mup"


@pytest.mark.parametrize("study", relu_config.STUDIES)
@pytest.mark.parametrize("name", relu_config.PRESETS)
def test_presets_are_in_the_papers_parametrisation(study, name):
    """The paper's "default muP implementation with the same learning rate for the first-
    and second-layer parameters" (its Figure 2): no base-width constant, one LR (the
    layer-wise study divides the second layer's by 50), and the paper's reading of every
    other unstated choice; stored under the plain "mup" key."""
    cfg = relu_config.ReluSweepConfig.from_preset(name, study=study)
    assert cfg.base_width is None and cfg.variant() == "" and cfg.store_key() == "mup"
    assert {k: getattr(cfg, k) for k in relu_config.PAPER_CHOICES} == relu_config.PAPER_CHOICES
    assert cfg.out_lr_factor == (pytest.approx(1 / 50) if study == "kindex-layerwise" else 1.0)
    assert "one Adam LR for both layers" in cfg.describe()


def test_paper_grids_cover_the_papers_range():
    """Figure 5a's grid 4e-4 .. 1.7e-2 at about a quarter octave; Figure 2's 2.7e-4 .. 0.9
    (tied) and 1.3e-3 .. 5.8 (LR / 50) at about half an octave (read off the figures)."""
    r = relu_config.ReluSweepConfig.from_preset("paper")
    assert r.lr_min <= 4e-4 and r.lr_max >= 1.7e-2
    np.testing.assert_allclose(np.diff(np.log2(r.lrs())), 0.25, rtol=1e-12)
    for study in ("kindex", "kindex-layerwise"):
        k = relu_config.ReluSweepConfig.from_preset("paper", study=study)
        assert k.lr_min <= 2.7e-4 and k.lr_max >= 5.8
        np.testing.assert_allclose(np.diff(np.log2(k.lrs())), 0.5, rtol=1e-12)


@pytest.mark.parametrize("study", relu_config.STUDIES)
def test_pilot_is_the_paper_preset_at_its_smallest_widths(study):
    paper, pilot = (
        relu_config.ReluSweepConfig.from_preset("paper", study=study),
        relu_config.ReluSweepConfig.from_preset("pilot", study=study),
    )
    assert set(pilot.widths) <= set(paper.widths[:3])  # among the paper's three smallest
    assert len(pilot.widths) >= 2 and max(pilot.widths) >= 2 * min(pilot.widths) - 1
    assert pilot.seeds >= 3
    same = {k: v for k, v in pilot.result_key().items()}
    assert same == paper.result_key()  # every number-changing field is the paper preset's


def test_variants_are_named_by_the_choices_they_change():
    cfg = relu_config.ReluSweepConfig.from_preset("paper").replace(base_width=128)
    assert cfg.store_key() == "mup__base_width-128"
    assert cfg.study_label() == "relu/paper/mup__base_width-128"
    two = cfg.replace(readout_init="zero", weight_decay=0.01)
    assert two.variant() == "base_width-128__readout_init-zero__weight_decay-0.01"
    assert relu_config.ReluSweepConfig.from_preset("quick", "sp").store_key() == "sp"
    for study in relu_config.STUDIES:
        base = relu_config.ReluSweepConfig.from_preset("pilot", study=study)
        for name, v in relu_config.sensitivity_configs(study).items():
            assert v.variant() == name  # exactly one choice changed, named by it
            assert v.widths == (min(base.widths),) and v.seeds == relu_config.SENSITIVITY_SEEDS
            changed = {k for k, x in v.result_key().items() if x != base.result_key()[k]}
            assert changed == set(relu_config.SENSITIVITY[name]) | {"seeds"}
    assert "loss-half_squared" not in relu_config.sensitivity_configs("relu")
