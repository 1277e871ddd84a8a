"""simulations.relu_config: validation of a sweep's configuration and the presets
(the paper's settings, and the reduced regimes that keep them)."""

import numpy as np
import pytest

from fasttransfer.simulations import relu_config
from fasttransfer.theory.errors import InputError


@pytest.mark.parametrize("bad", [dict(param="ntk"), dict(lr_min=1.0, lr_max=0.1),
                                 dict(widths=(8, 8)), dict(task="xor"), dict(loss="hinge"),
                                 dict(task="kindex", k=65), dict(out_lr_factor=0.0),
                                 dict(matmul_precision="bfloat16"), dict(base_width=0)])
def test_config_validation(bad):
    with pytest.raises(InputError):
        relu_config.ReluSweepConfig(**bad)


def test_paper_presets_are_the_papers_setting():
    """PAPER.md: ReLU counterexample d = 64, BCE, outside-ball label, batch 256, T = 2^14,
    14 widths 181..16384 at sqrt(2) spacing, quarter-octave LR grid; k-index model k = 15,
    d = 64, squared loss, T = 2^14, batch 256, 15 widths 128..16384."""
    p = relu_config.preset("paper")
    assert (p.task, p.loss, p.d, p.batch, p.steps) == ("ball", "bce", 64, 256, 2**14)
    assert p.widths == (181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096, 5793,
                        8192, 11585, 16384)
    assert p.seeds >= 4 and p.param == "mup" and p.preset == "paper"
    np.testing.assert_allclose(np.diff(np.log2(p.lrs())), 0.25, rtol=1e-12)
    k = relu_config.preset("paper", study="kindex")
    assert (k.task, k.loss, k.d, k.k, k.batch, k.steps) == ("kindex", "squared", 64, 15, 256, 2**14)
    assert k.widths == relu_config.sqrt2_widths(7, 14) and len(k.widths) == 15
    assert k.widths[0] == 128 and k.widths[-1] == 16384 and k.out_lr_factor == 1
    assert k.lr_max / k.lr_min >= 100  # both modes: 0.1-0.15 and ~1.5e-3 in the paper
    lw = relu_config.preset("paper", study="kindex-layerwise")
    assert lw.out_lr_factor == pytest.approx(1 / 50) and lw.replace(out_lr_factor=1.0) == k


@pytest.mark.parametrize("study", relu_config.STUDIES)
def test_reduced_presets_keep_the_regime(study):
    """cpu and quick keep d, loss, label, batch and the grid spacing of paper, with fewer
    steps and widths."""
    p, c, q = (relu_config.preset(n, study=study) for n in ("paper", "cpu", "quick"))
    for r in (c, q):
        assert (r.task, r.loss, r.d, r.batch, r.k, r.out_lr_factor) == \
            (p.task, p.loss, p.d, p.batch, p.k, p.out_lr_factor)
        np.testing.assert_allclose(np.diff(np.log(r.lrs())), np.diff(np.log(p.lrs()))[0], rtol=1e-12)
        assert r.steps < p.steps and len(r.widths) < len(p.widths)
    s = relu_config.preset("quick", "sp")
    assert s.param == "sp" and s.lr_min < q.lr_min or study != "relu"
    assert relu_config.ReluSweepConfig.from_json_dict(q.to_json_dict()) == q
    assert c.study == study and c.study_label() == f"{study}/cpu/mup"
