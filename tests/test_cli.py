"""fasttransfer.cli: one command tree; a flag exists only where it applies; one
preset/override convention (--preset, --set FIELD=VALUE) for every configuration."""

import json

import pytest

from fasttransfer.cli import COMMANDS, build_parser, main


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "rfrr", "--study", "kindex"],  # a relu-only flag on rfrr
        ["simulate", "rfrr", "--widths", "8,16"],
        ["simulate", "topk", "--param", "sp"],
        ["simulate", "relu", "--only", "x"],
        ["figures", "--recompute"],
        ["analyze", "x.csv", "--preset", "quick"],
        ["simulate"],  # a target is required
    ],
)
def test_a_flag_that_does_not_apply_is_an_error(argv, capsys):
    with pytest.raises(SystemExit) as err:
        build_parser().parse_args(argv)
    assert err.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1  # one line


def test_set_and_shorthands_resolve_the_relu_configuration(capsys):
    assert (
        main(
            [
                "simulate",
                "relu",
                "--preset",
                "quick",
                "--set",
                "steps=7",
                "--widths",
                "8,16",
                "--set",
                "lr_max=0.5",
                "--print-config",
            ]
        )
        == 0
    )
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["steps"], cfg["widths"], cfg["lr_max"]) == (7, [8, 16], 0.5)
    assert main(["simulate", "relu", "--set", "no_such=1", "--print-config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fasttransfer simulate relu: error: --set") and "widths" in err
    assert main(["simulate", "relu", "--set", "steps=0", "--print-config"]) == 2  # validated


def test_every_configuration_takes_the_convention(capsys):
    for argv, key, value in (
        (["simulate", "rfrr", "--set", "dps=25"], "dps", 25),
        (["coordcheck", "--set", "lr=0.1"], "lr", 0.1),
    ):
        assert main([*argv, "--print-config"]) == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)[key] == value
    assert main(["simulate", "topk", "--set", "steps=40", "--print-config"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {s: c["steps"] for s, c in out.items()} == {"relu": 40, "mlp": 40, "mlp_sgd": 40}
    assert (
        main(
            [
                "simulate",
                "topk",
                "--preset",
                "gpu",
                "--settings",
                "transformer",
                "--set",
                "steps=40",
                "--print-config",
            ]
        )
        == 0
    )
    assert {s: c["steps"] for s, c in json.loads(capsys.readouterr().out).items()} == {
        "transformer": 40
    }
    with pytest.raises(SystemExit) as err:  # argparse's one-line error
        main(["simulate", "topk", "--settings", "mlp,nope", "--print-config"])
    assert err.value.code == 2 and "non-empty subset of" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main(["simulate", "topk", "--settings", "mlp,relu,mlp", "--print-config"])
    assert err.value.code == 2 and "mlp more than once" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as err:
        build_parser().parse_args([name, "--help"])
    assert err.value.code == 0 and capsys.readouterr().out.startswith("usage: fasttransfer")
