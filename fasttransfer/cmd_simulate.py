"""``fasttransfer simulate relu|rfrr|topk``: run one simulation into the results store
under --out (OUT/<study>/<preset>/...: tidy CSV, manifest with configuration, code version
and provenance); resumable (finished cells are never recomputed), reused when stored.

Each target's runner lives in ``fasttransfer/run_<target>.py`` as ``run(args) -> int``:
it turns flags into the simulation's frozen config and calls ``simulations``.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

TARGETS = ("relu", "rfrr", "topk")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", choices=TARGETS)
    p.add_argument("--preset", choices=("quick", "cpu", "paper"), default="quick",
                   help="quick: a smoke run; cpu: the reduced regime (~10 min on 2 cores); "
                        "paper: the paper's setting (a GPU)")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="results folder (default results): the store OUT/<study>/<preset>/ "
                        "that verify and figures read")
    p.add_argument("--recompute", action="store_true",
                   help="replace a stored result of another configuration or code "
                        "(by default it is refused; one of this configuration is reused)")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration as JSON and exit")
    g = p.add_argument_group("relu options (override the preset)")
    g.add_argument("--study", choices=("relu", "kindex", "kindex-layerwise"), default="relu",
                   help="relu: the ReLU counterexample (Figure 5); kindex: the Gaussian "
                        "k-index late shift (Figure 2); kindex-layerwise: the same with the "
                        "second-layer LR divided by 50")
    g.add_argument("--widths", type=_int_list, default=None, help="e.g. 64,128,256")
    g.add_argument("--lrs", type=_positive_int, default=None,
                   help="number of log-spaced learning rates")
    g.add_argument("--seeds", type=_positive_int, default=None)
    g.add_argument("--steps", type=_positive_int, default=None)
    g.add_argument("--param", choices=("mup", "sp"), default=None)
    g.add_argument("--dtype", choices=("float32", "float64"), default=None)
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    return importlib.import_module(f"fasttransfer.run_{args.target}").run(args)
